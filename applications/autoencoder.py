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

import logging
import sys
import time

import numpy as np

from applications import autoencoder_report
from applications import cli
from applications import distribute
from applications import runs
from applications.autoencoder_options import DATA_SEED
from applications.autoencoder_options import build_parser
from applications.autoencoder_options import check_args
from applications.autoencoder_options import experiment_settings
from applications.autoencoder_runs import ExperimentData
from applications.autoencoder_runs import model_specs
from applications.autoencoder_runs import train_and_evaluate
from applications.data import load_mnist
from applications.data import subset_indices

logger = logging.getLogger("applications.autoencoder")


def load_data(args):
    """Load the MNIST subsets and choose the probe and PCA images."""
    logger.info(
        "Loading MNIST (train limit %s, test limit %s)",
        args.train_limit or "all",
        args.test_limit or "all",
    )
    (x_train, y_train), (x_test, y_test) = load_mnist(
        args.data_dir,
        download=args.download,
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


def check_batch_sizes(setup, args, data, warmup):
    """Check before training that every batch splits over the devices.

    Covers the training set and every set passed to `model.predict`: the
    test images, the probe's training images, the PCA images and, with the
    NIHR warm-up, the training images that k-means encodes.

    Raises:
        ValueError: naming `--batch-size` or `--eval-batch-size` and the
            example limit to change, if a batch does not split evenly over
            the devices of `setup`.
    """
    setup.check_batch_size(
        args.batch_size, len(data.y_train), limit_options=("--train-limit",)
    )
    predict_sets = [
        (len(data.y_test), "--test-limit"),
        (len(data.probe_indices), "--probe-train-limit"),
        (len(data.pca_indices), "--pca-limit"),
    ]
    if warmup:
        predict_sets.append((len(data.y_train), "--train-limit"))
    for size, limit_option in predict_sets:
        setup.check_batch_size(
            args.eval_batch_size,
            size,
            option="--eval-batch-size",
            limit_options=(limit_option,),
        )


def run(args, command=None):
    """Run the experiment for parsed `args` and return the result records."""
    check_args(args)
    specs = model_specs(args.models, args.iterations)
    data = load_data(args)
    settings = experiment_settings(args, len(data.y_train), len(data.y_test))
    warmup = any(spec.kind == "nihr" for spec in specs) and (
        args.nihr_warmup_epochs > 0
    )
    if warmup and len(data.y_train) < args.num_memories:
        raise ValueError(
            f"The NIHR warm-up places {args.num_memories} memories with "
            f"k-means on the training latents, but only {len(data.y_train)} "
            "training images are loaded. Raise --train-limit, lower "
            "--num-memories or pass --nihr-warmup-epochs 0."
        )
    store = runs.RunStore(args.output, settings)

    environment = runs.environment_info()
    logger.info(
        "Backend %s; output folder %s",
        environment["backend"],
        args.output,
    )

    with distribute.data_parallel(args.distribute) as setup:
        check_batch_sizes(setup, args, data, warmup)
        environment.update(setup.describe())
        run_missing(args, specs, store, data, settings, setup)

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


def run_missing(args, specs, store, data, settings, setup):
    """Train and evaluate every (model, seed) run not yet in `store`.

    Call it inside the `data_parallel` block that yielded `setup`.
    """
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
                spec,
                seed,
                data,
                settings,
                args.output,
                args.verbose,
                eval_batch_size=args.eval_batch_size,
            )
            store.save(
                run_name,
                records,
                distribute=args.distribute,
                num_devices=setup.num_replicas,
                **metadata,
            )
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
