"""Train ResNet-18 with and without NIHR and test it on MNIST-C/CIFAR-10-C.

Usage:

    python -m applications.resnet --dataset mnist --output outputs/mnist

Both models train on clean images without augmentation, one run per seed,
and are evaluated on the clean test set and on every selected corrupted
set. Each finished (model, seed) run is stored in `<output>/runs/` and
skipped when the command is started again with the same output folder.
The command then writes to the output folder:

- `results.json`: settings, machine, run times, every accuracy and the
  robustness table's statistics;
- `results.csv`: one row per run and test set or summary column (the
  records of `applications.resnet_report.run_records`);
- `results.md`: the robustness table and a per-corruption table, mean ±
  std over seeds in percent;
- `per_corruption.png`: accuracy per corruption and model;
- `pca.png`: features before and after the retrieval layer of the first
  seed's NIHR model, projected on their top two principal components;
- `models/<model>_seed<seed>.keras`: the trained models.
"""

import argparse
import logging
import pathlib
import sys
import time

import keras

from applications import cli
from applications import resnet_plots
from applications import resnet_report
from applications import runs
from applications.callbacks import corruptions
from applications.data import SOURCES
from applications.data import catalog
from applications.data import load_dataset
from applications.models import resnet as resnet_models
from applications.resnet_training import MODELS
from applications.resnet_training import OPTIMIZERS
from applications.resnet_training import SCHEDULES
from applications.resnet_training import TrainingConfig
from applications.resnet_training import train_and_evaluate

logger = logging.getLogger("applications.resnet")


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
        "--num-memories",
        type=cli.positive_int,
        default=64,
        help="Memories P of each retrieval layer (default: 64).",
    )
    parser.add_argument(
        "--iterations",
        type=cli.positive_int,
        default=3,
        help="Retrieval updates T (default: 3).",
    )
    parser.add_argument(
        "--beta",
        type=float,
        default=8.0,
        help="Inverse temperature of the retrieval (default: 8.0).",
    )
    parser.add_argument(
        "--noise-stddev",
        type=float,
        default=0.1,
        help="Standard deviation of the noise injected before each "
        "retrieval update in training, in feature units (default: 0.1).",
    )
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
    return parser


def check_arguments(parser, args):
    """Fill dataset-dependent defaults and reject invalid combinations."""
    unknown = [model for model in args.models if model not in MODELS]
    if unknown:
        parser.error(
            f"--models: unknown model(s) {', '.join(unknown)}. Expected "
            f"names among {', '.join(MODELS)}."
        )
    if not args.width > 0:
        parser.error(f"--width must be > 0. Received: {args.width}")
    if args.nihr_after is None:
        args.nihr_after = [resnet_models.default_nihr_after(args.dataset)]
    bad_blocks = [
        b for b in args.nihr_after if not 1 <= b <= resnet_models.NUM_BLOCKS
    ]
    if bad_blocks:
        parser.error(
            f"--nihr-after: blocks must be in 1..{resnet_models.NUM_BLOCKS}. "
            f"Received: {args.nihr_after}"
        )
    if args.dataset == "mnist" and args.severities is not None:
        parser.error(
            "--severities applies to cifar10 only: MNIST-C has one fixed "
            "severity per corruption."
        )
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
        bad = [s for s in args.severities if s not in range(1, 6)]
        if bad:
            parser.error(
                f"--severities must be in 1..5. Received: {args.severities}"
            )
    if not args.beta > 0:
        parser.error(f"--beta must be > 0. Received: {args.beta}")
    if not args.noise_stddev >= 0:
        parser.error(
            f"--noise-stddev must be >= 0. Received: {args.noise_stddev}"
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


def training_config(args):
    """Return the `TrainingConfig` of the parsed arguments."""
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
    )


def load_data(args):
    """Load the clean train and test sets and the corrupted sets."""
    train, test = load_dataset(
        args.dataset,
        args.data_dir,
        train_limit=args.train_limit,
        stratified=True,
    )
    # The first N test images, because corrupted set i is clean image i.
    if args.test_limit is not None:
        test = (test[0][: args.test_limit], test[1][: args.test_limit])
    logger.info(
        "Loading %d corrupted sets of %d images",
        len(
            catalog.corruption_pairs(
                args.dataset, args.corruptions, args.severities
            )
        ),
        len(test[1]),
    )
    sets = corruptions.load_corruption_sets(
        args.dataset,
        args.corruptions,
        args.severities,
        limit=args.test_limit,
        data_dir=args.data_dir,
        cache_dir=args.cache_dir,
        source=args.corruption_source,
        seed=args.corruption_seed,
        frost_dir=args.frost_dir,
        clean=test,
    )
    return train, test, sets


def write_outputs(args, output, records, run_info, wall_seconds):
    """Write the results files and figures from the stored records."""
    table = resnet_report.robustness_table(args.dataset, records)
    corruption_table = resnet_report.per_corruption_table(records)
    statistics = resnet_report.summary_statistics(records)
    runs.write_json(
        output / "results.json",
        {
            "command": " ".join(sys.argv),
            "settings": experiment_settings(args),
            "models": list(args.models),
            "seeds": list(args.seeds),
            "environment": runs.environment_info(),
            "wall_seconds": wall_seconds,
            "runs": run_info,
            "summary": [
                {"model": model, "column": column, **values}
                for (model, column), values in statistics.items()
            ],
            "records": records,
        },
    )
    runs.write_csv(output / "results.csv", records)
    seeds = ", ".join(str(seed) for seed in args.seeds)
    markdown = (
        f"Accuracy (%), mean ± std over seeds {seeds}.\n\n"
        f"{table}\nPer test set, averaged over the evaluated "
        f"severities:\n\n{corruption_table}"
    )
    (output / "results.md").write_text(markdown)
    resnet_plots.plot_per_corruption(
        resnet_report.per_corruption_statistics(records),
        output / "per_corruption.png",
        f"{resnet_report.DATASET_TITLES[args.dataset]}: accuracy per test set",
    )
    logger.info("Wrote results to %s", output)
    return table


def write_pca_figure(args, output, test, sets):
    """Draw the PCA figure of the first seed's NIHR model, if trained."""
    path = output / "models" / f"resnet_nihr_seed{args.seeds[0]}.keras"
    if "resnet_nihr" not in args.models or not path.exists():
        return
    model = keras.saving.load_model(path)
    layer_name = f"nihr_after_block{args.nihr_after[0]}"
    rows = [("clean", test[0], test[1])]
    noisy = [key for key in sets if key[0].endswith("noise")]
    if noisy:
        name = noisy[0][0]
        severity = max(
            (key[1] for key in noisy if key[0] == name),
            key=lambda level: level or 0,
        )
        images, labels = sets[(name, severity)]
        rows.append((corruptions.set_key(name, severity), images, labels))
    panels = []
    for title, images, labels in rows:
        count = min(args.pca_images, len(labels))
        before, after = resnet_plots.retrieval_features(
            model, layer_name, images[:count], args.eval_batch_size
        )
        panels.append((title, before, after, labels[:count]))
    resnet_plots.plot_feature_pca(
        panels,
        output / "pca.png",
        f"ResNet+NIHR features around {layer_name} (seed {args.seeds[0]}, "
        "spatial mean per image)",
    )


def main(argv=None):
    """Run the command; `argv` defaults to `sys.argv[1:]`."""
    parser = build_parser()
    args = parser.parse_args(argv)
    check_arguments(parser, args)
    cli.setup_logging()
    start = time.monotonic()
    output = pathlib.Path(args.output)
    store = runs.RunStore(output, experiment_settings(args))
    config = training_config(args)
    logger.info(
        "ResNet-18 on %s, Keras backend %s",
        args.dataset,
        keras.backend.backend(),
    )
    train, test, sets = load_data(args)
    for model_key in args.models:
        for seed in args.seeds:
            run_name = f"{model_key}_seed{seed}"
            if store.is_finished(run_name):
                logger.info("Skipping %s: already finished", run_name)
                continue
            logger.info("Training %s", run_name)
            model, set_records, curves, seconds = train_and_evaluate(
                model_key, config, seed, train, test, sets, verbose=args.verbose
            )
            models_dir = output / "models"
            models_dir.mkdir(parents=True, exist_ok=True)
            model.save(models_dir / f"{run_name}.keras")
            records = resnet_report.run_records(
                args.dataset, model_key, seed, set_records
            )
            store.save(
                run_name,
                records,
                seconds=seconds,
                history=curves,
                backend=keras.backend.backend(),
            )
            logger.info("Finished %s in %.0f s", run_name, seconds)
    records, stored = resnet_report.ordered_records(
        store.load_runs(), args.models, args.seeds
    )
    run_info = [
        {
            "run": run["run"],
            "seconds": run.get("seconds"),
            "backend": run.get("backend"),
            "finished_at": run["finished_at"],
        }
        for run in stored
    ]
    table = write_outputs(
        args, output, records, run_info, time.monotonic() - start
    )
    write_pca_figure(args, output, test, sets)
    logger.info("Robustness table:\n%s", table)
    return records


if __name__ == "__main__":
    main()
