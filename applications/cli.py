"""Command-line options and logging shared by the experiment commands."""

import argparse
import logging
import math


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


def float_list(text):
    """Parse a comma-separated list of finite floats, e.g. `0,0.5,1`."""
    try:
        values = [float(item) for item in text.split(",") if item.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"Expected comma-separated numbers such as 0,0.5,1. "
            f"Received: {text!r}"
        ) from error
    if not values:
        raise argparse.ArgumentTypeError("Expected at least one number.")
    if not all(math.isfinite(value) for value in values):
        raise argparse.ArgumentTypeError(
            f"Expected finite numbers. Received: {text!r}"
        )
    return values


def positive_float(text):
    """Parse a finite float > 0."""
    value = _finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(
            f"Expected a number > 0. Received: {text}"
        )
    return value


def non_negative_float(text):
    """Parse a finite float >= 0."""
    value = _finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"Expected a number >= 0. Received: {text}"
        )
    return value


def _finite_float(text):
    try:
        value = float(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"Expected a number. Received: {text!r}"
        ) from error
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(
            f"Expected a finite number. Received: {text}"
        )
    return value


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


def non_negative_int(text):
    """Parse an integer >= 0."""
    try:
        value = int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"Expected an integer >= 0. Received: {text!r}"
        ) from error
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"Expected an integer >= 0. Received: {text}"
        )
    return value


def add_common_arguments(
    parser,
    *,
    epochs,
    batch_size,
    seeds="0",
    train_limit=None,
    test_limit=None,
    test_limit_help=None,
):
    """Add the options that every experiment command shares.

    Args:
        parser: The `argparse.ArgumentParser` to extend.
        epochs: Default number of training epochs.
        batch_size: Default training batch size.
        seeds: Default comma-separated seeds.
        train_limit: Default number of training images, None for all.
        test_limit: Default number of test images, None for all.
        test_limit_help: Help text of `--test-limit` for a command that
            does not take a class-stratified test sample.
    """
    if test_limit_help is None:
        test_limit_help = (
            "Use only this many test images, a class-stratified sample "
            f"(default: {test_limit or 'all'})."
        )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="Folder with mnist.npz and the cifar10 .npz files. Default: "
        "$KERAS_NIHR_DATA_DIR, else tensorflow-datasets (downloads if "
        "needed, see --no-download).",
    )
    parser.add_argument(
        "--no-download",
        dest="download",
        action="store_false",
        help="Never let tensorflow-datasets download the clean data sets; "
        "fail with the list of places looked in instead.",
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
        default=train_limit,
        help="Use only this many training images, a class-stratified "
        f"sample (default: {train_limit or 'all'}).",
    )
    parser.add_argument(
        "--test-limit",
        type=positive_int,
        default=test_limit,
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
