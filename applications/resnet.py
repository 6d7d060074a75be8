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

import logging
import pathlib
import shlex
import sys
import time

import keras

from applications import cli
from applications import distribute
from applications import resnet_plots
from applications import resnet_report
from applications import runs
from applications.callbacks import corruptions
from applications.data import catalog
from applications.data import load_dataset
from applications.resnet_cli import build_parser
from applications.resnet_cli import check_arguments
from applications.resnet_cli import experiment_settings
from applications.resnet_cli import training_config
from applications.resnet_training import train_and_evaluate

logger = logging.getLogger("applications.resnet")


def load_data(args):
    """Load the clean train and test sets and the corrupted sets."""
    train, test = load_dataset(
        args.dataset,
        args.data_dir,
        train_limit=args.train_limit,
        stratified=True,
        download=args.download,
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
        download=args.download,
    )
    return train, test, sets


def write_outputs(args, command, records, run_info, wall_seconds, setup):
    """Write the results files and figures from the stored records.

    `command` is the command line recorded in `results.json` and
    `wall_seconds` the time this invocation took, without the runs that
    an earlier invocation finished. The devices of the `DataParallelSetup`
    `setup` are recorded in the environment.
    """
    output = pathlib.Path(args.output)
    table = resnet_report.robustness_table(args.dataset, records)
    corruption_table = resnet_report.per_corruption_table(records)
    statistics = resnet_report.summary_statistics(records)
    runs.write_json(
        output / "results.json",
        {
            "command": command,
            "settings": experiment_settings(args),
            "models": list(args.models),
            "seeds": list(args.seeds),
            "environment": {**runs.environment_info(), **setup.describe()},
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


def check_batch_sizes(setup, args, train, test, sets):
    """Check before training that every batch splits over the devices.

    Raises:
        ValueError: naming `--batch-size` or `--eval-batch-size` and the
            example limit to change, if a batch of the training set or of
            a test set does not split evenly over the devices of `setup`.
    """
    setup.check_batch_size(
        args.batch_size, len(train[1]), limit_options=("--train-limit",)
    )
    test_sizes = {len(labels) for _, labels in [test, *sets.values()]}
    for size in sorted(test_sizes):
        setup.check_batch_size(
            args.eval_batch_size,
            size,
            option="--eval-batch-size",
            limit_options=("--test-limit",),
        )


def run_missing(args, store, train, test, sets, setup):
    """Train and evaluate every (model, seed) run not yet in `store`.

    Call it inside the `data_parallel` block that yielded `setup`. Each
    finished run is saved at once, its model under `<output>/models/` and
    its records in the run store.
    """
    config = training_config(args, setup.synchronized_batch_norm)
    models_dir = pathlib.Path(args.output) / "models"
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
                distribute=args.distribute,
                num_devices=setup.num_replicas,
            )
            logger.info("Finished %s in %.0f s", run_name, seconds)


def main(argv=None):
    """Run the command with `argv`, by default `sys.argv[1:]`.

    Returns:
        The records of the requested runs, as written to `results.csv`.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    check_arguments(parser, args)
    cli.setup_logging()
    start = time.monotonic()
    output = pathlib.Path(args.output)
    store = runs.RunStore(output, experiment_settings(args))
    logger.info(
        "ResNet-18 on %s, Keras backend %s",
        args.dataset,
        keras.backend.backend(),
    )

    try:
        train, test, sets = load_data(args)
    except (FileNotFoundError, ValueError) as error:
        parser.error(str(error))
    # The PCA figure loads the saved model after the block, where JAX
    # predicts on one device with any batch size.
    with distribute.data_parallel(args.distribute) as setup:
        try:
            check_batch_sizes(setup, args, train, test, sets)
        except ValueError as error:
            parser.error(str(error))
        run_missing(args, store, train, test, sets, setup)

    records, stored = resnet_report.ordered_records(
        store.load_runs(), args.models, args.seeds
    )
    run_info = [
        {
            "run": run["run"],
            "seconds": run.get("seconds"),
            "backend": run.get("backend"),
            "distribute": run.get("distribute", False),
            "num_devices": run.get("num_devices", 1),
            "finished_at": run["finished_at"],
        }
        for run in stored
    ]
    command = "python -m applications.resnet " + shlex.join(argv)
    table = write_outputs(
        args, command, records, run_info, time.monotonic() - start, setup
    )
    write_pca_figure(args, output, test, sets)
    logger.info("Robustness table:\n%s", table)
    return records


if __name__ == "__main__":
    main()
