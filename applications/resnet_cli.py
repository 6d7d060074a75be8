"""Command-line options of `python -m applications.resnet`."""

import argparse

from applications import cli
from applications import distribute
from applications.callbacks import corruptions
from applications.data import SOURCES
from applications.data import catalog
from applications.models import resnet as resnet_models
from applications.resnet_training import MODELS
from applications.resnet_training import OPTIMIZERS
from applications.resnet_training import SCHEDULES
from applications.resnet_training import TrainingConfig


def build_parser():
    """Return the argument parser of the command."""
    parser = argparse.ArgumentParser(
        prog="python -m applications.resnet",
        description="Train ResNet-18 and ResNet-18 with a Hopfield "
        "retrieval (NIHR) layer on clean MNIST or CIFAR-10 and measure "
        "their accuracy on MNIST-C or CIFAR-10-C.",
    )
    parser.add_argument(
        "--dataset",
        required=True,
        choices=("mnist", "cifar10"),
        help="mnist: train on MNIST, test on MNIST-C. cifar10: train on "
        "CIFAR-10, test on CIFAR-10-C.",
    )
    cli.add_common_arguments(
        parser,
        epochs=10,
        batch_size=128,
        seeds="0,1",
        test_limit_help="Use only the first N test images, for the clean "
        "and for every corrupted set (default: all 10000).",
    )
    distribute.add_distribute_argument(parser)
    _add_model_arguments(parser.add_argument_group("models"))
    _add_training_arguments(parser.add_argument_group("training"))
    _add_evaluation_arguments(parser.add_argument_group("evaluation"))
    return parser


def _add_model_arguments(parser):
    parser.add_argument(
        "--models",
        type=cli.name_list,
        default=list(MODELS),
        help=f"Comma-separated models among {', '.join(MODELS)} "
        "(default: both).",
    )
    parser.add_argument(
        "--width",
        type=float,
        default=1.0,
        help="Channel multiplier of ResNet-18: 1.0 is the standard 64-128-"
        "256-512 channels, 0.25 gives 16-32-64-128 (default: 1.0).",
    )
    parser.add_argument(
        "--nihr-after",
        type=cli.int_list,
        default=None,
        help="Comma-separated residual blocks (1..8) after which the NIHR "
        "model has a retrieval layer (default: 1 for mnist, 8 for cifar10).",
    )
    parser.add_argument(
        "--iterations",
        type=cli.positive_int,
        default=3,
        help="Retrieval updates T (default: 3).",
    )
    cli.add_retrieval_arguments(
        parser, beta=8.0, noise_stddev=0.1, noise_units="the block's features"
    )


def _add_training_arguments(parser):
    parser.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        default="adamw",
        help="Optimizer; sgd uses Nesterov momentum 0.9 (default: adamw).",
    )
    parser.add_argument(
        "--learning-rate",
        type=float,
        default=1e-3,
        help="Initial learning rate (default: 0.001).",
    )
    parser.add_argument(
        "--lr-schedule",
        choices=SCHEDULES,
        default="cosine",
        help="cosine decays the learning rate to 0 over training; constant "
        "keeps it (default: cosine).",
    )
    parser.add_argument(
        "--weight-decay",
        type=float,
        default=5e-4,
        help="Decoupled weight decay of adamw and sgd (default: 0.0005).",
    )


def _add_evaluation_arguments(parser):
    parser.add_argument(
        "--corruptions",
        type=cli.name_list,
        default=None,
        help="Comma-separated corruptions to test, or 'all' for every "
        "released one (CIFAR-10-C extras included). Default: all 16 "
        "MNIST-C sets, or the 15 CIFAR-10-C benchmark corruptions.",
    )
    parser.add_argument(
        "--severities",
        type=cli.int_list,
        default=None,
        help="Comma-separated CIFAR-10-C severities in 1..5 (default: all). "
        "MNIST-C has one fixed severity per corruption.",
    )
    parser.add_argument(
        "--corruption-source",
        choices=SOURCES,
        default="auto",
        help="auto: the tensorflow-datasets copy if already prepared on "
        "disk, else generated. generate: always generated. tfds: the "
        "official copy, downloaded if needed (default: auto).",
    )
    parser.add_argument(
        "--corruption-seed",
        type=int,
        default=0,
        help="Seed of the corruption generator (default: 0).",
    )
    parser.add_argument(
        "--cache-dir",
        default=None,
        help="Folder of generated corrupted sets. Default: "
        "$KERAS_NIHR_CACHE_DIR, else ~/.cache/keras_nihr.",
    )
    parser.add_argument(
        "--frost-dir",
        default=None,
        help="Folder of the CIFAR-10-C frost textures (default: "
        "<data dir>/frost).",
    )
    parser.add_argument(
        "--eval-batch-size",
        type=cli.positive_int,
        default=500,
        help="Batch size of the evaluation (default: 500).",
    )
    parser.add_argument(
        "--pca-images",
        type=cli.positive_int,
        default=1000,
        help="Test images in the PCA figure (default: 1000).",
    )


def check_arguments(parser, args):
    """Fill dataset-dependent defaults and reject invalid combinations.

    Exits through `parser.error` with a message that names the option.
    """
    _check_model_arguments(parser, args)
    _check_training_arguments(parser, args)
    _check_corruption_arguments(parser, args)
    if args.corruption_source == "tfds" and not args.download:
        parser.error(
            "--corruption-source tfds downloads the official corrupted sets "
            "when they are not prepared on disk, which --no-download "
            "forbids. Drop --no-download, or use --corruption-source auto "
            "or generate."
        )
    try:
        distribute.check_backend(args.distribute)
    except ValueError as error:
        parser.error(str(error))


def _check_model_arguments(parser, args):
    unknown = [model for model in args.models if model not in MODELS]
    if unknown:
        parser.error(
            f"--models: unknown model(s) {', '.join(unknown)}. Expected "
            f"names among {', '.join(MODELS)}."
        )
    if not 0 < args.width < float("inf"):
        parser.error(
            f"--width must be a finite number > 0. Received: {args.width}"
        )

    if args.nihr_after is None:
        args.nihr_after = [resnet_models.default_nihr_after(args.dataset)]
    num_blocks = resnet_models.NUM_BLOCKS
    if not all(1 <= block <= num_blocks for block in args.nihr_after):
        parser.error(
            f"--nihr-after: blocks must be in 1..{num_blocks}. Received: "
            f"{args.nihr_after}"
        )


def _check_training_arguments(parser, args):
    if not 0 < args.learning_rate < float("inf"):
        parser.error(
            "--learning-rate must be a finite number > 0. Received: "
            f"{args.learning_rate}"
        )
    if not 0 <= args.weight_decay < float("inf"):
        parser.error(
            "--weight-decay must be a finite number >= 0. Received: "
            f"{args.weight_decay}"
        )


def _check_corruption_arguments(parser, args):
    if args.corruptions is None:
        args.corruptions = list(corruptions.default_corruptions(args.dataset))
    elif args.corruptions == ["all"]:
        args.corruptions = list(catalog.corruption_names(args.dataset))
    valid = catalog.corruption_names(args.dataset)
    unknown = [name for name in args.corruptions if name not in valid]
    if unknown:
        parser.error(
            f"--corruptions: unknown for {args.dataset}: "
            f"{', '.join(unknown)}. Expected names among {', '.join(valid)}."
        )

    if args.severities is not None:
        if args.dataset == "mnist":
            parser.error(
                "--severities applies to cifar10 only, because MNIST-C has "
                "one fixed severity per corruption."
            )
        if not all(level in range(1, 6) for level in args.severities):
            parser.error(
                f"--severities must be in 1..5. Received: {args.severities}"
            )

    if args.corruption_seed < 0:
        parser.error(
            f"--corruption-seed must be >= 0. Received: {args.corruption_seed}"
        )


def experiment_settings(args):
    """Return the settings that make stored runs comparable."""
    return {
        "dataset": args.dataset,
        "width": args.width,
        "nihr_after": list(args.nihr_after),
        "num_memories": args.num_memories,
        "iterations": args.iterations,
        "beta": args.beta,
        "noise_stddev": args.noise_stddev,
        "optimizer": args.optimizer,
        "learning_rate": args.learning_rate,
        "lr_schedule": args.lr_schedule,
        "weight_decay": args.weight_decay,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "train_limit": args.train_limit,
        "test_limit": args.test_limit,
        "corruptions": list(args.corruptions),
        "severities": args.severities,
        "corruption_source": args.corruption_source,
        "corruption_seed": args.corruption_seed,
    }


def training_config(args, synchronized_batch_norm=False):
    """Return the `TrainingConfig` of the parsed arguments.

    `synchronized_batch_norm` comes from the `DataParallelSetup` that the
    models train in, not from an option.
    """
    return TrainingConfig(
        width=args.width,
        nihr_after=tuple(args.nihr_after),
        num_memories=args.num_memories,
        iterations=args.iterations,
        beta=args.beta,
        noise_stddev=args.noise_stddev,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        schedule=args.lr_schedule,
        weight_decay=args.weight_decay,
        epochs=args.epochs,
        batch_size=args.batch_size,
        eval_batch_size=args.eval_batch_size,
        synchronized_batch_norm=synchronized_batch_norm,
    )
