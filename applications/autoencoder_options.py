"""Command-line options and settings of the autoencoder experiment."""

import argparse

from applications import cli
from applications import distribute
from applications.autoencoder_runs import MODEL_KINDS
from applications.callbacks.noisy_evaluation import DEFAULT_NOISE_LEVELS

# Seed of the class-stratified train/test/probe subsets, the same for every
# run so that seeds differ only in initialization and training noise.
DATA_SEED = 0

# Without a warm-up, NIHR with T >= 5 collapsed onto one or a few memories
# on MNIST (see docs/results.md); one epoch avoided that.
DEFAULT_NIHR_WARMUP_EPOCHS = 1


def build_parser():
    """Return the argument parser of the command."""
    parser = argparse.ArgumentParser(
        prog="python -m applications.autoencoder",
        description=(
            "Train autoencoders (AE, VAE, VQ-VAE, NIHR) on MNIST and "
            "measure reconstruction SSIM and linear-probe accuracy under "
            "Gaussian pixel noise."
        ),
    )
    cli.add_common_arguments(
        parser,
        epochs=5,
        batch_size=128,
        seeds="0,1,2",
        train_limit=10000,
        test_limit=1000,
    )

    parser.add_argument(
        "--models",
        type=cli.name_list,
        default=list(MODEL_KINDS),
        help="Comma-separated models from ae, vae, vqvae, nihr (default: "
        "all four).",
    )

    parser.add_argument(
        "--iterations",
        type=cli.int_list,
        default=[1, 5, 10, 15],
        help="Comma-separated NIHR retrieval steps T, one NIHR model each "
        "(default: 1,5,10,15).",
    )

    parser.add_argument(
        "--latent-dim",
        type=cli.positive_int,
        default=16,
        help="Size D of the latent vector of every model (default: 16).",
    )

    parser.add_argument(
        "--filters",
        type=cli.int_list,
        default=[32, 64],
        help="Channels of the 14x14 and 7x7 feature maps of the encoder, "
        "reversed in the decoder (default: 32,64).",
    )

    cli.add_retrieval_arguments(
        parser,
        beta=16.0,
        noise_stddev=0.05,
        noise_units="the unit-norm latent (not the pixel noise)",
    )

    parser.add_argument(
        "--nihr-warmup-epochs",
        type=cli.non_negative_int,
        default=DEFAULT_NIHR_WARMUP_EPOCHS,
        help="Epochs of the --epochs budget that each NIHR model first "
        "trains with the retrieval bypassed (unit-norm latent straight to "
        "the decoder). Its memories are then set to the k-means centroids "
        "of the unit-norm latents of the training images, and the full "
        "model trains for the remaining epochs, so every model trains for "
        "--epochs epochs in total. Must be less than --epochs; 0 trains "
        "from random memories (default: "
        f"{DEFAULT_NIHR_WARMUP_EPOCHS}).",
    )

    parser.add_argument(
        "--num-codes",
        type=cli.positive_int,
        default=None,
        help="VQ-VAE codebook size K (default: --num-memories).",
    )

    parser.add_argument(
        "--commitment-cost",
        type=cli.non_negative_float,
        default=0.25,
        help="VQ-VAE commitment weight (default: 0.25).",
    )

    parser.add_argument(
        "--kl-weight",
        type=cli.non_negative_float,
        default=1.0 / (28 * 28),
        help="VAE weight of the KL term against the per-pixel mean "
        "cross-entropy (default: 1/784, the negative ELBO per pixel).",
    )

    parser.add_argument(
        "--learning-rate",
        type=cli.positive_float,
        default=1e-3,
        help="Adam learning rate (default: 0.001).",
    )

    parser.add_argument(
        "--pixel-noise-levels",
        type=cli.float_list,
        default=list(DEFAULT_NOISE_LEVELS),
        help="Comma-separated Gaussian pixel noise standard deviations "
        "sigma on the [0, 1] pixel scale, for SSIM and the probe "
        "(default: 0,0.1,...,1).",
    )

    parser.add_argument(
        "--probe-train-limit",
        type=cli.positive_int,
        default=5000,
        help="Clean training images the linear probe is fitted on, a "
        "class-stratified sample of the training images (default: 5000, "
        "or all when fewer).",
    )

    parser.add_argument(
        "--eval-batch-size",
        type=cli.positive_int,
        default=256,
        help="Batch size of model.predict in the evaluation, the NIHR "
        "k-means warm-up and the PCA trajectories (default: 256).",
    )

    parser.add_argument(
        "--pca-steps",
        type=cli.int_list,
        default=[1, 5, 10, 15],
        help="Retrieval steps shown in the PCA figure, taken from the NIHR "
        "model with the largest T (default: 1,5,10,15).",
    )

    parser.add_argument(
        "--pca-limit",
        type=cli.positive_int,
        default=1000,
        help="Test images in the PCA figure (default: 1000, or all test "
        "images when fewer).",
    )

    distribute.add_distribute_argument(parser)
    return parser


def experiment_settings(args, train_size, test_size):
    """Return the settings that make runs comparable, for the RunStore."""
    return {
        "dataset": "mnist",
        "train_size": train_size,
        "test_size": test_size,
        "probe_train_size": min(args.probe_train_limit, train_size),
        "data_seed": DATA_SEED,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "loss": "binary_crossentropy",
        "latent_dim": args.latent_dim,
        "filters": list(args.filters),
        "num_memories": args.num_memories,
        "beta": args.beta,
        "noise_stddev": args.noise_stddev,
        "nihr_warmup_epochs": args.nihr_warmup_epochs,
        "num_codes": args.num_codes or args.num_memories,
        "commitment_cost": args.commitment_cost,
        "kl_weight": args.kl_weight,
        "noise_levels": list(args.pixel_noise_levels),
        "pca_size": min(args.pca_limit, test_size),
    }


def check_args(args):
    """Raise ValueError for option values that argparse cannot check."""
    distribute.check_backend(args.distribute)
    if len(args.filters) != 2 or min(args.filters) < 1:
        raise ValueError(
            "--filters expects two positive channel counts, e.g. 32,64. "
            f"Received: {args.filters}"
        )
    if min(args.iterations) < 1:
        raise ValueError(
            f"--iterations expects ints >= 1. Received: {args.iterations}"
        )
    if "nihr" in args.models and args.nihr_warmup_epochs >= args.epochs:
        raise ValueError(
            "--nihr-warmup-epochs must be less than --epochs, because NIHR "
            "needs at least one epoch with the retrieval after the warm-up. "
            f"Received: --nihr-warmup-epochs {args.nihr_warmup_epochs} with "
            f"--epochs {args.epochs}. Lower it (0 disables the warm-up) or "
            "raise --epochs."
        )
    if min(args.seeds) < 0:
        raise ValueError(f"--seeds expects ints >= 0. Received: {args.seeds}")
    if min(args.pixel_noise_levels) < 0:
        raise ValueError(
            "--pixel-noise-levels expects standard deviations >= 0. "
            f"Received: {args.pixel_noise_levels}"
        )
