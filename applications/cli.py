"""Command-line options and logging shared by the experiment commands."""

import argparse
import logging
import math


def int_list(text, minimum=None):
    """Parse a comma-separated list of integers, e.g. `1,5,10`.

    Args:
        text: The option's value.
        minimum: Optional int, the smallest value accepted.
    """
    try:
        values = [int(item) for item in text.split(",") if item.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"Expected comma-separated integers such as 1,5,10. "
            f"Received: {text!r}"
        ) from error
    if not values:
        raise argparse.ArgumentTypeError("Expected at least one integer.")
    if minimum is not None and min(values) < minimum:
        raise argparse.ArgumentTypeError(
            f"Expected integers >= {minimum}. Received: {text!r}"
        )
    return values


def positive_int_list(text):
    """Parse a comma-separated list of integers >= 1."""
    return int_list(text, minimum=1)


def non_negative_int_list(text):
    """Parse a comma-separated list of integers >= 0."""
    return int_list(text, minimum=0)


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
    return _bounded_int(text, minimum=1)


def non_negative_int(text):
    """Parse an integer >= 0."""
    return _bounded_int(text, minimum=0)


def _bounded_int(text, minimum):
    try:
        value = int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"Expected an integer >= {minimum}. Received: {text!r}"
        ) from error
    if value < minimum:
        raise argparse.ArgumentTypeError(
            f"Expected an integer >= {minimum}. Received: {text}"
        )
    return value


def add_retrieval_arguments(parser, *, beta, noise_stddev, noise_units):
    """Add `--num-memories`, `--beta` and `--noise-stddev` of the NIHR layer.

    Args:
        parser: The `argparse.ArgumentParser` to extend.
        beta: Default inverse temperature.
        noise_stddev: Default training noise standard deviation.
        noise_units: What the noise is added to, for the help text.
    """
    parser.add_argument(
        "--num-memories",
        type=positive_int,
        default=64,
        help="Memories P of each retrieval layer (default: 64).",
    )
    parser.add_argument(
        "--beta",
        type=positive_float,
        default=beta,
        help="Inverse temperature of the retrieval, in units of one over "
        "cosine similarity. Small values with many iterations can merge "
        "all states into one; large values saturate the attention and "
        f"pass little gradient back (default: {beta:g}).",
    )
    parser.add_argument(
        "--noise-stddev",
        type=non_negative_float,
        default=noise_stddev,
        help="Standard deviation of the Gaussian noise added before each "
        f"retrieval update, in training only, in units of {noise_units}. "
        f"0 disables it (default: {noise_stddev:g}).",
    )


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
    # TensorFlow's logger has its own handler, so passing its records on
    # to the root handler as well would print each warning twice.
    logging.getLogger("tensorflow").propagate = False
