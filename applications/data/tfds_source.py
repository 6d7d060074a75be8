"""Reading data sets through tensorflow-datasets (tfds) without GCS access.

tfds is imported only inside these functions, so importing the data module
stays free of TensorFlow. Every call disables tfds' Google Cloud Storage
helpers and passes `try_gcs=False`, so tfds reads only the local tfds data
directory or, when a download is requested, the data set's own download
URLs.

tfds writes the records of a split in an order shuffled by a hash of each
example's key. The builders used here (`mnist`, `cifar10`,
`mnist_corrupted`, `cifar10_corrupted`, tfds 4.9) key example i by the
integer i, and tfds 4.9 sorts records by the MD5 digest of the split name
followed by the decimal key (`tensorflow_datasets/core/hashing.py`). Reading
the shards one after another and undoing that sort restores the canonical
order of the released files. A check of the first labels against the
published ones guards against a tfds version that orders records
differently.
"""

import hashlib
import importlib
import logging
import os
import pathlib

import numpy as np

logger = logging.getLogger(__name__)


def tfds_data_dir():
    """Return the tfds data directory: `TFDS_DATA_DIR`, else the tfds default.

    The default, `~/tensorflow_datasets`, is the one tfds 4.9 uses.
    """
    value = os.environ.get("TFDS_DATA_DIR")
    if value:
        return pathlib.Path(value).expanduser()
    return pathlib.Path("~/tensorflow_datasets").expanduser()


def is_prepared_on_disk(name, data_dir=None):
    """Check cheaply whether a tfds data set looks prepared on local disk.

    This only looks for `<data_dir>/<builder>[/<config>]/<version>/
    dataset_info.json`, so it needs no tfds import. `load_split` makes the
    final check through tfds.

    Args:
        name: tfds name, `"builder"` or `"builder/config"`.
        data_dir: tfds data directory. Defaults to `tfds_data_dir()`.

    Returns:
        True when a prepared version folder exists.
    """
    root = pathlib.Path(data_dir) if data_dir else tfds_data_dir()
    folder = root.joinpath(*name.split("/"))
    if not folder.is_dir():
        return False
    return any(folder.glob("*/dataset_info.json"))


def import_tfds():
    """Import tensorflow_datasets with its GCS helpers disabled.

    tfds 4.9.10 ships with them disabled. Releases from 2020 enabled them
    on every system but Windows, and there a builder for a data set that is
    not prepared yet lists `gs://tfds-data/dataset_info/` for metadata, even
    with `try_gcs=False`. Setting the module flag stops that in both.

    Returns:
        The `tensorflow_datasets` module.

    Raises:
        ImportError: if tensorflow-datasets is not installed.
    """
    tfds = importlib.import_module("tensorflow_datasets")
    gcs_utils = importlib.import_module(
        "tensorflow_datasets.core.utils.gcs_utils"
    )
    gcs_utils._is_gcs_disabled = True
    return tfds


def canonical_order(num_examples, split):
    """Return the example index of each record of a tfds split.

    Args:
        num_examples: number of records in the whole split.
        split: split name, used by tfds as the hash salt.

    Returns:
        int64 array `order` such that record j contains example `order[j]`.
    """
    salted = hashlib.md5(split.encode("utf-8"))

    def record_hash(index):
        digest = salted.copy()
        digest.update(str(index).encode("utf-8"))
        return int(digest.hexdigest(), 16)

    return np.array(
        sorted(range(num_examples), key=record_hash), dtype=np.int64
    )


class DownloadFailedError(RuntimeError):
    """tensorflow-datasets could not download or prepare a data set."""


def load_split(
    name, split, *, download, data_dir=None, expected_first_labels=None
):
    """Load a whole tfds split as NumPy arrays in canonical order.

    Args:
        name: tfds name, e.g. `"mnist"` or `"cifar10_corrupted/fog_3"`.
            Pass the config explicitly: `cifar10_corrupted` without one
            silently loads `brightness_1`.
        split: `"train"` or `"test"`.
        download: whether tfds may download and prepare the data set
            when it is not prepared yet. GCS is never used.
        data_dir: tfds data directory. Defaults to `tfds_data_dir()`.
        expected_first_labels: published first labels of the split in
            canonical order. When given, the restored order is checked
            against them.

    Returns:
        `(images, labels)`: uint8 images (N, H, W, C) and int64 labels,
        or None when `download` is False and the set is not prepared.

    Raises:
        RuntimeError: if the restored order does not match
            `expected_first_labels`.
    """
    tfds = import_tfds()
    root = pathlib.Path(data_dir) if data_dir else tfds_data_dir()
    builder = tfds.builder(name, data_dir=os.fspath(root), try_gcs=False)
    if not builder.is_prepared():
        if not download:
            return None
        logger.info("Downloading and preparing tfds %s in %s", name, root)
        try:
            builder.download_and_prepare(
                download_config=tfds.download.DownloadConfig(
                    try_download_gcs=False
                )
            )
        except Exception as error:
            # tfds raises many types for a failed download (connection,
            # HTTP, checksum errors); all mean the same to the caller.
            raise DownloadFailedError(
                f"Downloading and preparing tfds {name} in {root} failed "
                f"with {type(error).__name__}: {error}"
            ) from error
    # A cycle length of 1 reads the shards one after another, in order.
    dataset = builder.as_dataset(
        split=split,
        batch_size=-1,
        as_supervised=True,
        shuffle_files=False,
        read_config=tfds.ReadConfig(interleave_cycle_length=1),
    )
    records_x, records_y = tfds.as_numpy(dataset)
    order = canonical_order(len(records_y), split)
    images = np.empty_like(records_x)
    labels = np.empty(len(records_y), dtype=np.int64)
    images[order] = records_x
    labels[order] = records_y
    if expected_first_labels is not None:
        expected = np.asarray(expected_first_labels, dtype=np.int64)
        found = labels[: len(expected)]
        if not np.array_equal(found, expected):
            raise RuntimeError(
                f"tfds {name} split {split}: the restored record order does "
                f"not match the published first labels {expected.tolist()} "
                f"(found {found.tolist()}). This tfds version orders records "
                "differently. Use the .npz files through a data directory "
                'or source="generate" instead.'
            )
    logger.info("Loaded tfds %s %s: %d images", name, split, len(labels))
    return images, labels
