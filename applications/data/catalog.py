"""Names and severities of the MNIST-C and CIFAR-10-C corrupted test sets.

MNIST-C (Mu and Gilmer, 2019) releases one set per corruption, each at one
fixed severity, so its severity is None here. CIFAR-10-C (Hendrycks and
Dietterich, 2019) releases 15 benchmark corruptions and 4 extra ones, each
at severities 1 to 5.
"""

import numpy as np

from applications.data import npz_files

MNIST_C_CORRUPTIONS = (
    "identity",
    "shot_noise",
    "impulse_noise",
    "glass_blur",
    "motion_blur",
    "shear",
    "scale",
    "rotate",
    "brightness",
    "translate",
    "stripe",
    "fog",
    "spatter",
    "dotted_line",
    "zigzag",
    "canny_edges",
)
CIFAR10_C_CORRUPTIONS = (
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "frost",
    "fog",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
)
CIFAR10_C_EXTRA_CORRUPTIONS = (
    "speckle_noise",
    "gaussian_blur",
    "spatter",
    "saturate",
)
CIFAR10_C_SEVERITIES = (1, 2, 3, 4, 5)

# tfds `cifar10_corrupted` config names that differ from the corruption
# names of the released files.
_TFDS_CIFAR10_NAMES = {
    "glass_blur": "frosted_glass_blur",
    "elastic_transform": "elastic",
}


def corruption_names(dataset, *, extras=True):
    """Return the corruption names of `"mnist"` (MNIST-C) or `"cifar10"`.

    Args:
        dataset: `"mnist"` or `"cifar10"`.
        extras: for CIFAR-10-C, whether to append the 4 extra corruptions
            to the 15 benchmark ones. MNIST-C has no extras.

    Returns:
        Tuple of names in the order of the released sets. MNIST-C starts
        with `"identity"`, the uncorrupted test set.
    """
    npz_files.get_spec(dataset)
    if dataset == "mnist":
        return MNIST_C_CORRUPTIONS
    if extras:
        return CIFAR10_C_CORRUPTIONS + CIFAR10_C_EXTRA_CORRUPTIONS
    return CIFAR10_C_CORRUPTIONS


def severities(dataset):
    """Return the severities of a dataset: `(None,)` for MNIST-C, which has
    one fixed level per corruption, and `(1, 2, 3, 4, 5)` for CIFAR-10-C."""
    npz_files.get_spec(dataset)
    if dataset == "mnist":
        return (None,)
    return CIFAR10_C_SEVERITIES


def check_corruption(dataset, name, severity):
    """Check that `name` and `severity` exist for `dataset`.

    Raises:
        ValueError: naming the value and the valid ones.
    """
    names = corruption_names(dataset)
    if name not in names:
        raise ValueError(
            "Invalid value received for argument `name`. Expected one of "
            f"{names} for {dataset}. Received: name={name!r}"
        )
    if dataset == "mnist":
        if severity is not None:
            raise ValueError(
                "Invalid value received for argument `severity`. MNIST-C "
                "has one fixed severity per corruption, so pass "
                f"severity=None. Received: severity={severity!r}"
            )
        return
    if (
        isinstance(severity, bool)
        or not isinstance(severity, (int, np.integer))
        or severity not in CIFAR10_C_SEVERITIES
    ):
        raise ValueError(
            "Invalid value received for argument `severity`. Expected an "
            f"int in 1..5 for CIFAR-10-C. Received: severity={severity!r}"
        )


def corruption_pairs(dataset, names=None, levels=None):
    """List `(name, severity)` of the corrupted test sets to build.

    Args:
        dataset: `"mnist"` or `"cifar10"`.
        names: corruption names, or None for all (CIFAR-10-C extras
            included).
        levels: severities, or None for all. Must be None for MNIST-C.

    Returns:
        List of `(name, severity)` tuples, names outer, severities inner.
        Severity is None for MNIST-C.
    """
    names = corruption_names(dataset) if names is None else tuple(names)
    if levels is None:
        levels = severities(dataset)
    elif dataset == "mnist":
        raise ValueError(
            "Invalid value received for argument `levels`. MNIST-C has "
            "one fixed severity per corruption, so pass levels=None. "
            f"Received: levels={levels!r}"
        )
    pairs = [(name, level) for name in names for level in levels]
    for name, level in pairs:
        check_corruption(dataset, name, level)
    return pairs


def tfds_name(dataset, name, severity):
    """Return the tfds name with config of a corrupted set.

    For example `"mnist_corrupted/shot_noise"` or
    `"cifar10_corrupted/frosted_glass_blur_3"`. The config is always
    explicit because `cifar10_corrupted` without one loads
    `brightness_1`.
    """
    check_corruption(dataset, name, severity)
    if dataset == "mnist":
        return f"mnist_corrupted/{name}"
    config = _TFDS_CIFAR10_NAMES.get(name, name)
    return f"cifar10_corrupted/{config}_{severity}"


def set_file_name(name, severity):
    """Return the file name of a corrupted set: `fog.npz` or `fog_3.npz`."""
    if severity is None:
        return f"{name}.npz"
    return f"{name}_{severity}.npz"
