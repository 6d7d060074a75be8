"""Build MNIST-C or CIFAR-10-C test sets and summarize them.

Example:

```
python -m applications.data --dataset mnist --data-dir DATA \\
    --output out --limit 1000
```

Writes, under `<output>/<dataset>_c/`, one `<name>.npz` (MNIST-C) or
`<name>_<severity>.npz` (CIFAR-10-C) per set with arrays `x_test` and
`y_test`, `summary.csv` with the mean absolute difference from the clean
images (pixel scale 0-255) and `examples.png`, one test image under every
corruption and severity.
"""

import argparse
import logging
import pathlib
import sys

from applications import cli
from applications.data import cache
from applications.data import catalog
from applications.data import corrupted
from applications.data import loaders
from applications.data import npz_files
from applications.data import report
from applications.data import tfds_source

logger = logging.getLogger("applications.data")


def build_parser():
    """Return the argument parser of the command."""
    parser = argparse.ArgumentParser(
        prog="python -m applications.data",
        description=(
            "Generate (or load from the cache or tensorflow-datasets) the "
            "MNIST-C or CIFAR-10-C test sets, write them to --output and "
            "summarize how far each is from the clean test images."
        ),
    )

    parser.add_argument(
        "--dataset",
        required=True,
        choices=sorted(npz_files.DATASETS),
        help="clean data set to corrupt: mnist (MNIST-C) or cifar10 "
        "(CIFAR-10-C)",
    )

    parser.add_argument(
        "--data-dir",
        help="folder with mnist.npz or the cifar10 .npz files and frost/ "
        f"(default: ${npz_files.DATA_DIR_ENV})",
    )

    parser.add_argument(
        "--output",
        required=True,
        help="folder for <dataset>_c/ with the sets (.npz), summary.csv "
        "and examples.png",
    )

    parser.add_argument(
        "--corruptions",
        type=cli.name_list,
        help="comma-separated corruption names (default: all, CIFAR-10-C "
        "extras included)",
    )

    parser.add_argument(
        "--severities",
        type=cli.positive_int_list,
        help="comma-separated CIFAR-10-C severities in 1..5 (default: all "
        "five); MNIST-C has one fixed severity and rejects this option",
    )

    parser.add_argument(
        "--limit",
        type=cli.positive_int,
        help="use the first N clean test images (default: all)",
    )

    parser.add_argument(
        "--seed",
        type=cli.non_negative_int,
        default=0,
        help="seed of the corruption generator, an int >= 0 (default: 0)",
    )

    parser.add_argument(
        "--source",
        choices=corrupted.SOURCES,
        default="auto",
        help="auto: the official tfds copy when already prepared on disk, "
        "else generate; generate: always the generator (with cache); "
        "tfds: the official copy, downloading it if needed (default: auto)",
    )

    parser.add_argument(
        "--cache-dir",
        help="folder of cached generated sets (default: "
        f"${cache.CACHE_DIR_ENV}, else ~/.cache/keras_nihr)",
    )

    parser.add_argument(
        "--frost-dir",
        help="folder with frost1.png .. frost6.jpg for CIFAR-10-C frost "
        "(default: <data-dir>/frost)",
    )

    parser.add_argument(
        "--no-download",
        dest="download",
        action="store_false",
        help="never let tensorflow-datasets download the clean test set; "
        "by default it downloads when no data directory contains it",
    )

    parser.add_argument(
        "--example-index",
        type=int,
        default=0,
        help="index of the test image shown in examples.png (default: 0)",
    )

    parser.add_argument(
        "--verbose",
        action="store_true",
        help="also log one line per generated chunk of images",
    )

    return parser


def _check_names(parser, args):
    valid = catalog.corruption_names(args.dataset)
    unknown = [name for name in args.corruptions or [] if name not in valid]
    if unknown:
        parser.error(
            f"--corruptions: unknown for {args.dataset}: "
            f"{', '.join(unknown)}. Expected names among {', '.join(valid)}."
        )
    if args.severities is None:
        return
    if args.dataset == "mnist":
        parser.error(
            "--severities applies to cifar10 only, because MNIST-C has one "
            "fixed severity per corruption."
        )
    if max(args.severities) > 5:
        parser.error(
            f"--severities must be in 1..5. Received: {args.severities}"
        )


def run(args):
    """Build the sets, write them and the summary. Returns the rows."""
    pairs = catalog.corruption_pairs(
        args.dataset, args.corruptions, args.severities
    )
    corrupted.check_frost_textures(
        args.dataset, pairs, args.source, args.data_dir, args.frost_dir
    )
    output = pathlib.Path(args.output) / f"{args.dataset}_c"

    logger.info("Loading the clean %s test set", args.dataset)
    images, labels = loaders.read_split(
        args.dataset, "test", args.data_dir, download=args.download
    )
    keep = loaders.subset_indices(labels, args.limit)
    if keep is not None:
        images, labels = images[keep], labels[keep]
    if not 0 <= args.example_index < len(labels):
        raise ValueError(
            f"--example-index {args.example_index} is outside the "
            f"{len(labels)} test images. Expected 0..{len(labels) - 1}."
        )

    logger.info("Building %d corrupted sets in %s", len(pairs), output)
    rows = []
    examples = {}
    for name, severity in pairs:
        x, y, origin = corrupted.corrupted_set(
            args.dataset,
            name,
            severity,
            data_dir=args.data_dir,
            cache_dir=args.cache_dir,
            source=args.source,
            limit=args.limit,
            seed=args.seed,
            frost_dir=args.frost_dir,
            download=args.download,
            clean=(images, labels),
        )
        if (y != labels).any():
            raise RuntimeError(
                f"The labels of {name} severity {severity} differ from the "
                "clean test labels. Delete its cache file and rerun."
            )
        path = output / catalog.set_file_name(name, severity)
        if origin == "tfds":
            cache.save_npz_atomic(path, x_test=x, y_test=y)
        else:
            # Generated sets are in the cache already, with the same keys.
            cached_file = corrupted.cache_path(
                args.dataset,
                name,
                severity,
                seed=args.seed,
                limit=args.limit,
                cache_dir=args.cache_dir,
            )
            cache.copy_atomic(cached_file, path)
        difference = report.mean_abs_difference(x, images)
        logger.info(
            "%s severity %s (%s): mean abs difference %.3f, wrote %s",
            name,
            "-" if severity is None else severity,
            origin,
            difference,
            path,
        )
        rows.append(
            {
                "dataset": args.dataset,
                "corruption": name,
                "severity": "" if severity is None else severity,
                "origin": origin,
                "images": len(y),
                "mean_abs_diff_0_255": difference,
                "file": path.name,
            }
        )
        examples[(name, severity)] = x[args.example_index]

    report.write_summary(rows, output / "summary.csv")
    logger.info("Wrote %s", output / "summary.csv")
    print(report.format_summary(rows))
    report.plot_examples(
        output / "examples.png",
        images[args.example_index],
        examples,
        f"{args.dataset} test image {args.example_index} "
        f"(label {labels[args.example_index]})",
    )
    logger.info("Wrote %s", output / "examples.png")
    return rows


def main(argv=None):
    """Run the command. Returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_names(parser, args)
    if args.source == "tfds" and not args.download:
        parser.error(
            "--source tfds downloads the official corrupted sets when they "
            "are not prepared on disk, which --no-download forbids. Drop "
            "--no-download, or use --source auto or --source generate."
        )
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.verbose:
        logger.setLevel(logging.DEBUG)
    try:
        run(args)
    except (
        FileNotFoundError,
        ModuleNotFoundError,
        ValueError,
        tfds_source.DownloadFailedError,
    ) as error:
        logger.error("%s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
