"""MNIST-C corruptions: a deterministic generator of the released benchmark.

MNIST-C (Mu and Gilmer, 2019, "MNIST-C: A Robustness Benchmark for Computer
Vision", arXiv:1906.02337) applies 15 corruptions, each at one fixed
severity, to the MNIST test images. This module reimplements the reference
generator (`corruptions.py` in github.com/google-research/mnist-c) with
NumPy 2, SciPy and scikit-image only. It replaces ImageMagick's motion blur
with the equivalent kernel, and draws every random number from the
`numpy.random.Generator` passed by the caller.

Every corruption follows the reference in two steps. It first computes
floating-point pixel values on the [0, 255] scale, clipped to that range
(float32, or float64 for `spatter`, the dtypes of the reference
functions). `corrupt` then rounds them to the nearest integer, with
ties to even, and casts to uint8, as the reference repository's
visualization notebook does (`np.round(x).astype(np.uint8)`).

NOTE: The script that wrote the released arrays is not public. The rounding
above is the only conversion found in the reference repository, so it is
an inference. Truncation instead would lower some pixels by one level.
"""

import numpy as np

from applications.data import _mnist_c_blur
from applications.data import _mnist_c_digital
from applications.data import _mnist_c_geometric
from applications.data import _mnist_c_lines
from applications.data import _mnist_c_noise
from applications.data import _mnist_c_weather

IMAGE_SHAPE = (28, 28, 1)


def _identity(images, rng):
    del rng
    return images.astype(np.float32)


# Insertion order is the order of the released benchmark.
_CORRUPTION_FUNCTIONS = {
    "identity": _identity,
    "shot_noise": _mnist_c_noise.shot_noise,
    "impulse_noise": _mnist_c_noise.impulse_noise,
    "glass_blur": _mnist_c_blur.glass_blur,
    "motion_blur": _mnist_c_blur.motion_blur,
    "shear": _mnist_c_geometric.shear,
    "scale": _mnist_c_geometric.scale,
    "rotate": _mnist_c_geometric.rotate,
    "brightness": _mnist_c_digital.brightness,
    "translate": _mnist_c_geometric.translate,
    "stripe": _mnist_c_digital.stripe,
    "fog": _mnist_c_weather.fog,
    "spatter": _mnist_c_weather.spatter,
    "dotted_line": _mnist_c_lines.dotted_line,
    "zigzag": _mnist_c_lines.zigzag,
    "canny_edges": _mnist_c_digital.canny_edges,
}

CORRUPTIONS = tuple(_CORRUPTION_FUNCTIONS)


def corrupt(images, name, rng):
    """Apply one MNIST-C corruption to a batch of MNIST images.

    Each corruption uses the severity of the released MNIST-C set:
    shot_noise 5, impulse_noise 4, glass_blur 1, motion_blur 1, shear 2,
    scale 3, rotate 2, brightness 5, translate 3, fog 5 and spatter 4.
    Identity, stripe, dotted_line, zigzag and canny_edges have no severity.
    The random corruptions draw one independent corruption per image.
    Scale, brightness, stripe and canny_edges are deterministic and ignore
    `rng`. The module docstring describes how values are rounded to uint8.

    Args:
        images: uint8 array of shape `(N, 28, 28, 1)` with pixel values
            in 0..255. `N` may be 0. The array is not modified.
        name: corruption name, one of `CORRUPTIONS`.
        rng: `numpy.random.Generator`, the only source of randomness. The
            same generator state and images give the same output.

    Returns:
        uint8 array of shape `(N, 28, 28, 1)`.

    Raises:
        ValueError: if `images` is not a uint8 array of shape
            `(N, 28, 28, 1)`, or `name` is not in `CORRUPTIONS`.
        TypeError: if `rng` is not a `numpy.random.Generator`.

    Example:

    >>> rng = np.random.default_rng(0)
    >>> images = np.zeros((2, 28, 28, 1), dtype=np.uint8)
    >>> corrupt(images, "brightness", rng)[0, 0, 0, 0]
    np.uint8(128)
    """
    _validate_images(images)
    if not isinstance(name, str) or name not in _CORRUPTION_FUNCTIONS:
        raise ValueError(
            "Invalid value received for argument `name`. Expected one of "
            f"{', '.join(CORRUPTIONS)}. Received: name={name!r}"
        )
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            "Invalid value received for argument `rng`. Expected a "
            "numpy.random.Generator, for example "
            "numpy.random.default_rng(seed). "
            f"Received: rng={rng!r} of type {type(rng).__name__}"
        )
    if images.shape[0] == 0:
        return images.copy()
    values = _CORRUPTION_FUNCTIONS[name](images[..., 0], rng)
    # The clip changes nothing for the reference's outputs, which are
    # already in [0, 255]. It keeps the cast to uint8 well defined.
    rounded = np.round(np.clip(values, 0, 255)).astype(np.uint8)
    return rounded[..., np.newaxis]


def _validate_images(images):
    if not isinstance(images, np.ndarray):
        raise ValueError(
            "Invalid value received for argument `images`. Expected a NumPy "
            "uint8 array of shape (N, 28, 28, 1). Received: images of type "
            f"{type(images).__name__}. Convert it with numpy.asarray first."
        )
    if images.dtype != np.uint8:
        raise ValueError(
            "Invalid value received for argument `images`. Expected dtype "
            f"uint8 with values 0..255. Received: images.dtype={images.dtype}."
            " Scale float images in [0, 1] with "
            "(images * 255).round().astype('uint8')."
        )
    if images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE:
        hint = "Pass MNIST images with one channel."
        if images.shape[1:] == IMAGE_SHAPE[:2]:
            hint = "Add the channel axis with images[..., None]."
        raise ValueError(
            "Invalid value received for argument `images`. Expected shape "
            f"(N, 28, 28, 1). Received: images.shape={images.shape}. {hint}"
        )
