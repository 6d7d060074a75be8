"""Command-line options and logging shared by the experiment commands."""

import argparse
import logging


def int_list(text):
    """Parse a comma-separated list of integers, e.g. `1,5,10`."""
    try:
        values = [int(item) for item in text.split(",") if item.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"Expected comma-separated integers such as 1,5,10. "
            f"Received: {text!r}"
        ) from error
    if not values:
        raise argparse.ArgumentTypeError("Expected at least one integer.")
    return values


def name_list(text):
    """Parse a comma-separated list of names, e.g. `ae,vae`."""
    values = [item.strip() for item in text.split(",") if item.strip()]
    if not values:
        raise argparse.ArgumentTypeError("Expected at least one name.")
    return values


def positive_int(text):
    """Parse an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"Expected an integer >= 1. Got {text}"
        )
    return value


def add_common_arguments(
    parser, *, epochs, batch_size, seeds="0", test_limit_help=None
):
    """Add the options that every experiment command shares.

    Args:
        parser: The `argparse.ArgumentParser` to extend.
        epochs: Default number of training epochs.
        batch_size: Default training batch size.
        seeds: Default comma-separated seeds.
        test_limit_help: Help text of `--test-limit` for a command that
            does not take a class-stratified test sample.
    """
    if test_limit_help is None:
        test_limit_help = (
            "Use only this many test images, a class-stratified sample "
            "(default: all)."
        )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="Folder with mnist.npz and the cifar10 .npz files. Default: "
        "$KERAS_NIHR_DATA_DIR, else a tfds download.",
    )
    parser.add_argument(
        "--output",
        required=True,
        help="Output folder for results, plots and per-run files. A rerun "
        "with the same folder skips the runs already finished there.",
    )
    parser.add_argument(
        "--seeds",
        type=int_list,
        default=int_list(seeds),
        help=f"Comma-separated random seeds, one run each (default: {seeds}).",
    )
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=epochs,
        help=f"Training epochs per run (default: {epochs}).",
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=batch_size,
        help=f"Training batch size (default: {batch_size}).",
    )
    parser.add_argument(
        "--train-limit",
        type=positive_int,
        default=None,
        help="Use only this many training images, a class-stratified "
        "sample (default: all).",
    )
    parser.add_argument(
        "--test-limit",
        type=positive_int,
        default=None,
        help=test_limit_help,
    )
    parser.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=1,
        help="Keras verbosity: 0 silent, 1 progress bars, 2 a line per "
        "epoch (default: 1).",
    )


def setup_logging():
    """Log stage lines as `HH:MM:SS message` to standard error."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(message)s",
        datefmt="%H:%M:%S",
    )
