"""Finding and reading the clean data sets stored as `.npz` files.

A data directory contains `mnist.npz` and either `cifar10.npz` or the split
CIFAR-10 layout `cifar10_train_part1.npz` + `cifar10_train_part2.npz` +
`cifar10_test.npz`. Each file stores uint8 images under `x_<split>` and
integer labels under `y_<split>`, in the canonical order of the original
releases.
"""

import dataclasses
import os
import pathlib

import numpy as np

DATA_DIR_ENV = "KERAS_NIHR_DATA_DIR"
SPLITS = ("train", "test")
NUM_CLASSES = 10


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Facts about one clean data set.

    Attributes:
        title: name for messages.
        image_shape: shape of one image, channel axis last.
        tfds_name: tensorflow-datasets builder name.
        layouts: file layouts tried in order. Each maps a split to the
            files whose arrays are concatenated along axis 0.
        first_labels: published first ten labels of each split.
    """

    title: str
    image_shape: tuple
    tfds_name: str
    layouts: tuple
    first_labels: dict


DATASETS = {
    "mnist": DatasetSpec(
        title="MNIST",
        image_shape=(28, 28, 1),
        tfds_name="mnist",
        layouts=({"train": ("mnist.npz",), "test": ("mnist.npz",)},),
        first_labels={
            "train": (5, 0, 4, 1, 9, 2, 1, 3, 1, 4),
            "test": (7, 2, 1, 0, 4, 1, 4, 9, 5, 9),
        },
    ),
    "cifar10": DatasetSpec(
        title="CIFAR-10",
        image_shape=(32, 32, 3),
        tfds_name="cifar10",
        layouts=(
            {"train": ("cifar10.npz",), "test": ("cifar10.npz",)},
            {
                "train": (
                    "cifar10_train_part1.npz",
                    "cifar10_train_part2.npz",
                ),
                "test": ("cifar10_test.npz",),
            },
        ),
        first_labels={
            "train": (6, 9, 9, 4, 1, 1, 2, 7, 8, 3),
            "test": (3, 8, 8, 0, 6, 6, 1, 6, 3, 1),
        },
    ),
}


def get_spec(dataset):
    """Return the `DatasetSpec` of `"mnist"` or `"cifar10"`."""
    if dataset not in DATASETS:
        raise ValueError(
            "Invalid value received for argument `dataset`. Expected one "
            f"of {sorted(DATASETS)}. Received: dataset={dataset!r}"
        )
    return DATASETS[dataset]


def resolve_data_dir(data_dir=None):
    """Return the data directory: `data_dir`, else `KERAS_NIHR_DATA_DIR`.

    Args:
        data_dir: path or None.

    Returns:
        `pathlib.Path`, or None when neither is set.

    Raises:
        FileNotFoundError: if the chosen path is not a directory.
    """
    origin = "data_dir"
    if data_dir is None:
        data_dir = os.environ.get(DATA_DIR_ENV) or None
        origin = DATA_DIR_ENV
    if data_dir is None:
        return None
    path = pathlib.Path(data_dir).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"The data directory {path} (from {origin}) does not exist or "
            "is not a directory. Pass the folder that contains mnist.npz and "
            "the cifar10 .npz files, or unset it."
        )
    return path


def layout_description(dataset):
    """Return the file names a data directory may hold, for messages."""
    spec = get_spec(dataset)
    options = []
    for layout in spec.layouts:
        names = []
        for split in SPLITS:
            for name in layout[split]:
                if name not in names:
                    names.append(name)
        options.append(" + ".join(names))
    return " or ".join(options)


def find_split_files(dataset, split, data_dir):
    """Return the files that hold one split in `data_dir`, or None.

    Raises:
        FileNotFoundError: if a layout is only partly present, for example
            `cifar10_train_part1.npz` without `cifar10_train_part2.npz`.
    """
    spec = get_spec(dataset)
    for layout in spec.layouts:
        paths = [data_dir / name for name in layout[split]]
        present = [path.is_file() for path in paths]
        if all(present):
            return paths
        if any(present):
            missing = [
                p.name for p, ok in zip(paths, present, strict=True) if not ok
            ]
            raise FileNotFoundError(
                f"{spec.title} {split} split in {data_dir} is incomplete: "
                f"missing {', '.join(missing)}. Expected "
                f"{' + '.join(layout[split])}."
            )
    return None


def read_npz_split(dataset, split, paths):
    """Read and check one split from `.npz` files.

    Returns:
        `(images, labels)`: uint8 (N, H, W, C) images, int64 labels.

    Raises:
        ValueError: for a missing array, a wrong dtype or shape, or labels
            outside 0..9.
    """
    spec = get_spec(dataset)
    x_key = f"x_{split}"
    y_key = f"y_{split}"
    images = []
    labels = []
    for path in paths:
        with np.load(path) as archive:
            missing = [k for k in (x_key, y_key) if k not in archive.files]
            if missing:
                raise ValueError(
                    f"{path} has no array {', '.join(missing)} (it contains "
                    f"{sorted(archive.files)}). {spec.title} files store "
                    "x_train, y_train, x_test and y_test."
                )
            x = archive[x_key]
            y = archive[y_key]
        images.append(_check_images(x, spec, f"{path}[{x_key}]"))
        labels.append(_check_labels(y, len(x), f"{path}[{y_key}]"))
    return np.concatenate(images), np.concatenate(labels)


def _check_images(x, spec, where):
    if x.dtype != np.uint8:
        raise ValueError(
            f"{where} has dtype {x.dtype}. Expected uint8 pixel values 0..255."
        )
    # MNIST files commonly omit the channel axis of grayscale images.
    if x.shape[1:] == spec.image_shape[:2] and spec.image_shape[2] == 1:
        x = x[..., np.newaxis]
    if x.ndim != 4 or x.shape[1:] != spec.image_shape:
        raise ValueError(
            f"{where} has shape {x.shape}. Expected (N,) + "
            f"{spec.image_shape} for {spec.title}."
        )
    return x


def _check_labels(y, num_images, where):
    if y.ndim != 1 or len(y) != num_images:
        raise ValueError(
            f"{where} has shape {y.shape}. Expected ({num_images},), one "
            "label per image."
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"{where} has dtype {y.dtype}. Expected integer labels 0..9."
        )
    if len(y) and (y.min() < 0 or y.max() >= NUM_CLASSES):
        raise ValueError(
            f"{where} has labels from {y.min()} to {y.max()}. Expected "
            f"0..{NUM_CLASSES - 1}."
        )
    return y.astype(np.int64)
