"""Clean MNIST and CIFAR-10 with subsetting and dtype conversion.

Sources, tried in order:

1. `.npz` files in a data directory: the `data_dir` argument, else the
   `KERAS_NIHR_DATA_DIR` environment variable.
2. A tensorflow-datasets copy (`mnist`, `cifar10`) already prepared in the
   tfds data directory (`TFDS_DATA_DIR`, else `~/tensorflow_datasets`).
3. tensorflow-datasets downloads and prepares the data set from its
   download URLs, never from Google Cloud Storage. Pass `download=False`
   (`--no-download`) to stay offline.
"""

import logging

import numpy as np

from applications.data import npz_files
from applications.data import tfds_source

logger = logging.getLogger(__name__)

DTYPES = ("uint8", "float32")


def read_split(dataset, split, data_dir=None, *, download=True):
    """Read one full clean split as uint8 images and int64 labels.

    Args:
        dataset: `"mnist"` or `"cifar10"`.
        split: `"train"` or `"test"`.
        data_dir: folder with the `.npz` files. Defaults to
            `KERAS_NIHR_DATA_DIR`.
        download: whether tensorflow-datasets may download the data set
            when no local copy exists.

    Returns:
        `(images, labels)` in canonical order: uint8 (N, H, W, C), int64
        (N,).

    Raises:
        FileNotFoundError: if no source contains the split. The message names
            the directory and files looked for and how to supply them.
    """
    spec = npz_files.get_spec(dataset)
    if split not in npz_files.SPLITS:
        raise ValueError(
            "Invalid value received for argument `split`. Expected one of "
            f"{npz_files.SPLITS}. Received: split={split!r}"
        )
    directory = npz_files.resolve_data_dir(data_dir)
    if directory is not None:
        paths = npz_files.find_split_files(dataset, split, directory)
        if paths is not None:
            images, labels = npz_files.read_npz_split(dataset, split, paths)
            logger.info(
                "Loaded %s %s from %s: %d images",
                spec.title,
                split,
                ", ".join(str(p) for p in paths),
                len(labels),
            )
            return images, labels
        logger.warning(
            "No %s files (%s) in %s, so tensorflow-datasets is tried next.",
            spec.title,
            npz_files.layout_description(dataset),
            directory,
        )
    result = None
    tfds_error = None
    if download or tfds_source.is_prepared_on_disk(spec.tfds_name):
        try:
            result = tfds_source.load_split(
                spec.tfds_name,
                split,
                download=download,
                expected_first_labels=spec.first_labels[split],
            )
        except (ImportError, tfds_source.DownloadFailedError) as error:
            tfds_error = error
    if result is None:
        raise FileNotFoundError(
            _not_found_message(dataset, directory, tfds_error, download)
        ) from tfds_error
    return result


def _not_found_message(dataset, directory, tfds_error, download):
    spec = npz_files.get_spec(dataset)
    if directory is None:
        looked = (
            "No data directory was given (data_dir, --data-dir or "
            f"{npz_files.DATA_DIR_ENV})"
        )
    else:
        looked = (
            f"Looked for {npz_files.layout_description(dataset)} in {directory}"
        )
    tfds_dir = tfds_source.tfds_data_dir()
    message = (
        f"Could not find {spec.title}. {looked}, and found no prepared "
        f"tensorflow-datasets copy '{spec.tfds_name}' in {tfds_dir}. Put "
        f"{npz_files.layout_description(dataset)} (arrays x_train, "
        "y_train, x_test, y_test) in a folder and pass it as data_dir "
        f"(--data-dir) or set {npz_files.DATA_DIR_ENV}"
    )
    if download:
        message += ", or connect to the internet so that tfds can download it."
    else:
        message += (
            ", or let tensorflow-datasets download it (download=True, or "
            "omit --no-download)."
        )
    if tfds_error is not None:
        message += f" tensorflow-datasets failed: {tfds_error}"
    return message


def subset_indices(labels, limit, *, stratified=False, seed=0):
    """Select the indices of a subset of a split, in ascending order.

    Args:
        labels: int labels of the whole split, shape (N,).
        limit: number of examples to keep, 1..N, or None to keep all.
        stratified: False keeps the first `limit` examples. True draws a
            random sample whose class counts are proportional to those of
            the split. Each count is rounded down, and the examples left
            over go to the classes with the largest remainders (ties to
            the lower class).
        seed: seed of the stratified draw, an int >= 0.

    Returns:
        int64 indices into `labels`, or None when `limit` is None.
    """
    check_seed(seed)
    check_limit(limit, "limit", len(labels))
    if limit is None:
        return None
    num_examples = len(labels)
    if not stratified:
        return np.arange(limit, dtype=np.int64)
    classes, counts = np.unique(labels, return_counts=True)
    exact = limit * counts / num_examples
    quotas = np.floor(exact).astype(np.int64)
    leftover = limit - int(quotas.sum())
    by_remainder = np.argsort(-(exact - quotas), kind="stable")
    quotas[by_remainder[:leftover]] += 1
    rng = np.random.default_rng(seed)
    chosen = []
    for label, quota in zip(classes, quotas, strict=True):
        members = np.flatnonzero(labels == label)
        chosen.append(rng.choice(members, size=quota, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def check_limit(limit, argument, maximum=None):
    """Raise ValueError unless `limit` is None or an int in 1..`maximum`."""
    if limit is None:
        return
    if (
        isinstance(limit, bool)
        or not isinstance(limit, (int, np.integer))
        or limit < 1
        or (maximum is not None and limit > maximum)
    ):
        allowed = ">= 1" if maximum is None else f"in 1..{maximum}"
        raise ValueError(
            f"Invalid value received for argument `{argument}`. Expected "
            f"None or an int {allowed}. Received: {argument}={limit!r}"
        )


def convert_images(images, dtype):
    """Return uint8 images unchanged or as float32 in [0, 1]."""
    dtype = check_dtype(dtype)
    if dtype == "uint8":
        return images
    return images.astype(np.float32) / np.float32(255.0)


def check_dtype(dtype):
    """Return the dtype name after checking it is one of `DTYPES`."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in DTYPES:
        raise ValueError(
            "Invalid value received for argument `dtype`. Expected one of "
            f"{DTYPES}: uint8 pixel values 0..255 or float32 in [0, 1]. "
            f"Received: dtype={dtype!r}"
        )
    return name


def check_seed(seed):
    """Raise ValueError unless `seed` is an int >= 0."""
    if (
        isinstance(seed, bool)
        or not isinstance(seed, (int, np.integer))
        or seed < 0
    ):
        raise ValueError(
            "Invalid value received for argument `seed`. Expected an int "
            f">= 0. Received: seed={seed!r}"
        )


def load_dataset(
    dataset,
    data_dir=None,
    *,
    dtype="uint8",
    train_limit=None,
    test_limit=None,
    stratified=False,
    seed=0,
    download=True,
):
    """Load the train and test splits of `"mnist"` or `"cifar10"`.

    See `load_mnist` for the arguments.
    """
    npz_files.get_spec(dataset)
    check_dtype(dtype)
    check_seed(seed)
    splits = []
    for index, (split, limit) in enumerate(
        (("train", train_limit), ("test", test_limit))
    ):
        images, labels = read_split(dataset, split, data_dir, download=download)
        check_limit(limit, f"{split}_limit", len(labels))
        # Independent streams, so the test sample does not depend on
        # train_limit.
        keep = subset_indices(
            labels,
            limit,
            stratified=stratified,
            seed=np.random.SeedSequence([seed, index]).generate_state(1)[0],
        )
        if keep is not None:
            images = images[keep]
            labels = labels[keep]
        splits.append((convert_images(images, dtype), labels))
    return tuple(splits)


def load_mnist(
    data_dir=None,
    *,
    dtype="uint8",
    train_limit=None,
    test_limit=None,
    stratified=False,
    seed=0,
    download=True,
):
    """Load MNIST: 60000 train and 10000 test images of handwritten digits.

    Args:
        data_dir: folder with `mnist.npz`. Defaults to the
            `KERAS_NIHR_DATA_DIR` environment variable. Without either,
            a prepared tensorflow-datasets copy is used.
        dtype: `"uint8"` for pixel values 0..255, `"float32"` for [0, 1].
        train_limit: keep this many training examples, or None for all.
        test_limit: keep this many test examples, or None for all.
        stratified: False keeps the first examples of each split. True
            draws a sample with class counts proportional to the split's.
        seed: seed of the stratified draw, an int >= 0.
        download: whether tensorflow-datasets may download MNIST when no
            local copy exists.

    Returns:
        `((x_train, y_train), (x_test, y_test))`. Images have shape
        (N, 28, 28, 1). Labels are int64 in 0..9. Subsets keep the
        canonical order.
    """
    return load_dataset(
        "mnist",
        data_dir,
        dtype=dtype,
        train_limit=train_limit,
        test_limit=test_limit,
        stratified=stratified,
        seed=seed,
        download=download,
    )


def load_cifar10(
    data_dir=None,
    *,
    dtype="uint8",
    train_limit=None,
    test_limit=None,
    stratified=False,
    seed=0,
    download=True,
):
    """Load CIFAR-10: 50000 train and 10000 test RGB images, 10 classes.

    `data_dir` contains `cifar10.npz` or `cifar10_train_part1.npz` +
    `cifar10_train_part2.npz` + `cifar10_test.npz`. Images have shape
    (N, 32, 32, 3). The other arguments and the return value are those of
    `load_mnist`.
    """
    return load_dataset(
        "cifar10",
        data_dir,
        dtype=dtype,
        train_limit=train_limit,
        test_limit=test_limit,
        stratified=stratified,
        seed=seed,
        download=download,
    )
