"""Train AE, VAE, VQ-VAE and NIHR autoencoders on MNIST and compare them.

Every model trains with `model.fit` on clean images and binary
cross-entropy. After the last epoch two callbacks evaluate it at each
Gaussian pixel noise level sigma, a standard deviation on the [0, 1] pixel
scale (noisy images are clipped to [0, 1]). The first measures the SSIM
between the clean test images and the reconstructions of their noisy
versions. The second fits a linear probe on latents of clean training
images and scores it on latents of noisy test images.

Example:

```
python -m applications.autoencoder --data-dir DATA --output outputs/ae \\
    --epochs 3 --seeds 0,1,2
```

Writes under `--output`: `results.json`, `results.csv`, `results.md`
(tables of mean ± std over seeds), `ssim_vs_sigma.png`,
`probe_accuracy_vs_sigma.png`, `pca_trajectory.png`, and per run
`runs/<run>.json`, `histories/<run>.csv`, `models/<run>.keras` and, for
NIHR, `trajectories/<run>.npz`. A rerun with the same `--output` skips the
(model, seed) runs already stored there.
"""

import argparse
import logging
import sys
import time

import numpy as np

from applications import autoencoder_report
from applications import cli
from applications import runs
from applications.autoencoder_runs import MODEL_KINDS
from applications.autoencoder_runs import ExperimentData
from applications.autoencoder_runs import model_specs
from applications.autoencoder_runs import train_and_evaluate
from applications.callbacks.noisy_evaluation import DEFAULT_NOISE_LEVELS
from applications.data import load_mnist
from applications.data import subset_indices

logger = logging.getLogger("applications.autoencoder")

# Seed of the class-stratified train/test/probe subsets, the same for every
# run so that seeds differ only in initialization and training noise.
DATA_SEED = 0


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

    parser.add_argument(
        "--num-memories",
        type=cli.positive_int,
        default=64,
        help="NIHR memories P (default: 64).",
    )

    parser.add_argument(
        "--beta",
        type=cli.positive_float,
        default=32.0,
        help="NIHR inverse temperature beta, in units of one over cosine "
        "similarity. Small values with many iterations can merge all "
        "latents into one state (default: 32).",
    )

    parser.add_argument(
        "--noise-stddev",
        type=cli.non_negative_float,
        default=0.05,
        help="NIHR training noise: standard deviation of the Gaussian noise "
        "added to the unit-norm latent before each retrieval step, in "
        "training only. Not the pixel noise (default: 0.05).",
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
        "num_codes": args.num_codes or args.num_memories,
        "commitment_cost": args.commitment_cost,
        "kl_weight": args.kl_weight,
        "noise_levels": list(args.pixel_noise_levels),
        "pca_size": min(args.pca_limit, test_size),
    }


def load_data(args):
    """Load the MNIST subsets and choose the probe and PCA images."""
    logger.info(
        "Loading MNIST (train limit %s, test limit %s)",
        args.train_limit or "all",
        args.test_limit or "all",
    )
    (x_train, y_train), (x_test, y_test) = load_mnist(
        args.data_dir,
        dtype="float32",
        train_limit=args.train_limit,
        test_limit=args.test_limit,
        stratified=True,
        seed=DATA_SEED,
    )
    probe_limit = min(args.probe_train_limit, len(y_train))
    probe_indices = subset_indices(
        y_train, probe_limit, stratified=True, seed=DATA_SEED
    )
    pca_indices = np.arange(min(args.pca_limit, len(y_test)))
    logger.info(
        "Using %d training images (%d for the probe) and %d test images",
        len(y_train),
        probe_limit,
        len(y_test),
    )
    return ExperimentData(
        x_train, y_train, x_test, y_test, probe_indices, pca_indices
    )


def _check_args(args):
    if len(args.filters) != 2 or min(args.filters) < 1:
        raise ValueError(
            "--filters expects two positive channel counts, e.g. 32,64. "
            f"Received: {args.filters}"
        )
    if min(args.iterations) < 1:
        raise ValueError(
            f"--iterations expects ints >= 1. Received: {args.iterations}"
        )
    if min(args.seeds) < 0:
        raise ValueError(f"--seeds expects ints >= 0. Received: {args.seeds}")
    if min(args.pixel_noise_levels) < 0:
        raise ValueError(
            "--pixel-noise-levels expects standard deviations >= 0. "
            f"Received: {args.pixel_noise_levels}"
        )


def run(args, command=None):
    """Run the experiment for parsed `args` and return the result records."""
    _check_args(args)
    specs = model_specs(args.models, args.iterations)
    data = load_data(args)
    settings = experiment_settings(args, len(data.y_train), len(data.y_test))
    store = runs.RunStore(args.output, settings)

    environment = runs.environment_info()
    logger.info(
        "Backend %s; output folder %s",
        environment["backend"],
        args.output,
    )

    total = len(specs) * len(args.seeds)
    index = 0
    for seed in args.seeds:
        for spec in specs:
            index += 1
            run_name = spec.run_name(seed)
            if store.is_finished(run_name):
                logger.info(
                    "Run %d/%d %s: already finished, skipped",
                    index,
                    total,
                    run_name,
                )
                continue
            logger.info("Run %d/%d %s", index, total, run_name)
            records, metadata = train_and_evaluate(
                spec, seed, data, settings, args.output, args.verbose
            )
            store.save(run_name, records, **metadata)
            first, last = records[0], records[-1]
            logger.info(
                "Run %s finished in %.0f s: SSIM %.3f at sigma %g, %.3f at "
                "sigma %g; probe accuracy %.3f and %.3f",
                run_name,
                metadata["fit_seconds"],
                first["ssim"],
                first["sigma"],
                last["ssim"],
                last["sigma"],
                first["probe_accuracy"],
                last["probe_accuracy"],
            )

    logger.info("Writing results, tables and figures to %s", args.output)
    records = autoencoder_report.write_results(
        args.output,
        store,
        settings,
        environment,
        command or [],
        args.pca_steps,
    )
    logger.info("Done: %d records", len(records))
    return records


def main(argv=None):
    """Parse the command line and run the experiment."""
    argv = sys.argv[1:] if argv is None else argv
    cli.setup_logging()
    args = build_parser().parse_args(argv)
    start = time.perf_counter()
    try:
        run(args, command=["python", "-m", "applications.autoencoder", *argv])
    except (ValueError, FileNotFoundError) as error:
        logger.error("%s", error)
        return 2
    logger.info("Wall time %.0f s", time.perf_counter() - start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
