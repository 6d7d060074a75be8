"""CIFAR-10-C corruptions (Hendrycks and Dietterich, 2019).

A deterministic, vectorised re-implementation of the generator that made
CIFAR-10-C, `ImageNet-C/create_c/make_cifar_c.py` in hendrycks/robustness
("Benchmarking Neural Network Robustness to Common Corruptions and
Perturbations", ICLR 2019). It keeps the reference's parameters and
arithmetic (scaling to [0, 1], clipping, float32 where the reference uses
float32, truncation to uint8) and differs from it in these ways:

- All randomness comes from the `rng` argument. The reference uses NumPy's
  global generator without a seed.
- ImageMagick (motion blur, snow) and OpenCV (defocus, frost, snow, spatter,
  elastic transform) are replaced by NumPy, SciPy, scikit-image and Pillow
  code that follows their source. Each module states what remains
  different.
- Whole batches are processed at once instead of one image at a time.
- A spatter image with no liquid above the threshold is returned unchanged
  instead of as the black image that the reference's division by zero
  produces.

Example:

>>> import numpy as np
>>> from applications.data import cifar10_c
>>> images = np.zeros((4, 32, 32, 3), dtype=np.uint8)
>>> rng = np.random.default_rng(0)
>>> cifar10_c.corrupt(images, "gaussian_noise", 3, rng).shape
(4, 32, 32, 3)
"""

import numbers

import numpy as np

from applications.data import catalog
from applications.data._cifar10_c_blur import defocus_blur
from applications.data._cifar10_c_blur import gaussian_blur
from applications.data._cifar10_c_blur import glass_blur
from applications.data._cifar10_c_blur import zoom_blur
from applications.data._cifar10_c_digital import brightness
from applications.data._cifar10_c_digital import contrast
from applications.data._cifar10_c_digital import jpeg_compression
from applications.data._cifar10_c_digital import pixelate
from applications.data._cifar10_c_digital import saturate
from applications.data._cifar10_c_elastic import elastic_transform
from applications.data._cifar10_c_frost import frost
from applications.data._cifar10_c_motion import motion_blur
from applications.data._cifar10_c_noise import gaussian_noise
from applications.data._cifar10_c_noise import impulse_noise
from applications.data._cifar10_c_noise import shot_noise
from applications.data._cifar10_c_noise import speckle_noise
from applications.data._cifar10_c_spatter import spatter
from applications.data._cifar10_c_weather import fog
from applications.data._cifar10_c_weather import snow

# The 15 benchmark corruptions in the order of the paper, then the 4
# held-out ones released with the benchmark.
CORRUPTIONS = catalog.CIFAR10_C_CORRUPTIONS
EXTRA_CORRUPTIONS = catalog.CIFAR10_C_EXTRA_CORRUPTIONS
SEVERITIES = (1, 2, 3, 4, 5)

_FUNCTIONS = {
    "gaussian_noise": gaussian_noise,
    "shot_noise": shot_noise,
    "impulse_noise": impulse_noise,
    "defocus_blur": defocus_blur,
    "glass_blur": glass_blur,
    "motion_blur": motion_blur,
    "zoom_blur": zoom_blur,
    "snow": snow,
    "fog": fog,
    "brightness": brightness,
    "contrast": contrast,
    "elastic_transform": elastic_transform,
    "pixelate": pixelate,
    "jpeg_compression": jpeg_compression,
    "speckle_noise": speckle_noise,
    "gaussian_blur": gaussian_blur,
    "spatter": spatter,
    "saturate": saturate,
}
_IMAGE_SHAPE = (32, 32, 3)


def _check_arguments(images, name, severity, rng):
    valid_names = CORRUPTIONS + EXTRA_CORRUPTIONS
    if name not in valid_names:
        raise ValueError(
            "Invalid value received for argument `name`. Expected one of "
            f"{', '.join(valid_names)}. Received: name={name!r}"
        )
    if (
        isinstance(severity, bool)
        or not isinstance(severity, numbers.Integral)
        or severity not in SEVERITIES
    ):
        raise ValueError(
            "Invalid value received for argument `severity`. Expected an "
            f"integer from 1 to 5. Received: severity={severity!r}"
        )
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            "Invalid value received for argument `rng`. Expected a "
            "numpy.random.Generator, for example "
            f"numpy.random.default_rng(seed). Received: rng={rng!r}"
        )
    if not isinstance(images, np.ndarray):
        raise ValueError(
            "Invalid value received for argument `images`. Expected a NumPy "
            "array of dtype uint8 and shape (N, 32, 32, 3). Received: "
            f"images of type {type(images).__name__}"
        )
    if images.dtype != np.uint8:
        raise ValueError(
            "Invalid value received for argument `images`. Expected dtype "
            "uint8 with values 0..255. Convert float images in [0, 1] with "
            "(images * 255).round().astype(np.uint8). Received: "
            f"images.dtype={images.dtype}"
        )
    if images.ndim != 4 or images.shape[1:] != _IMAGE_SHAPE:
        raise ValueError(
            "Invalid value received for argument `images`. Expected shape "
            "(N, 32, 32, 3), channels last; add a batch axis for a single "
            f"image. Received: images.shape={images.shape}"
        )


def corrupt(images, name, severity, rng, frost_dir=None):
    """Apply one CIFAR-10-C corruption at one severity to a batch.

    For most corruptions the change grows with the severity. The
    reference's parameters make these exceptions. The numbers are the mean
    absolute change in grey levels at severities 1 to 5, measured on the
    first 2,000 CIFAR-10 test images with `numpy.random.default_rng(0)`.

    - glass_blur shuffles pixels once at severities 1-3 and twice at 4-5,
      and the order within each group can flip (11.2, 11.3, 11.1, 18.1,
      17.4).
    - motion_blur gives the same image at severities 3 and 4 for the same
      random angle, because radius 8 only adds taps of weight below 2e-8.
    - frost changes the image most at severity 3, because from there on
      the image is also darkened (30.4, 44.8, 49.3, 44.7, 43.1).
    - elastic_transform changes the image less as the severity rises,
      because its random affine shift shrinks (21.8, 19.9, 17.9, 16.5,
      13.6).
    - spatter is water at severities 1-3 and mud at 4-5 (1.0, 2.8, 6.8,
      3.1, 5.2).
    - saturate removes colour at severities 1-2 and exaggerates it at 3-5
      (11.7, 15.1, 8.1, 20.3, 29.5).

    Args:
        images: uint8 array of shape (N, 32, 32, 3), RGB, values 0..255.
        name: one of `CORRUPTIONS` or `EXTRA_CORRUPTIONS`.
        severity: integer from 1 (mildest) to 5 (strongest).
        rng: `numpy.random.Generator`, the only source of randomness. The
            same generator state and images give the same result.
        frost_dir: folder with frost1.png, frost2.png, frost3.png,
            frost4.jpg, frost5.jpg and frost6.jpg (the textures of the
            reference generator). Only "frost" reads it, and it keeps the
            textures in memory per folder.

    Returns:
        uint8 array of shape (N, 32, 32, 3).

    Raises:
        ValueError: for an unknown `name`, a `severity` outside 1..5, or
            `images` of the wrong type, dtype or shape.
        TypeError: if `rng` is not a `numpy.random.Generator`.
        FileNotFoundError: for "frost" when `frost_dir` is None or misses
            any of the six texture files.
    """
    _check_arguments(images, name, severity, rng)
    severity = int(severity)
    if name == "frost":
        # Check the folder even for an empty batch, so a wrong path fails
        # at once.
        return frost(images, severity, rng, frost_dir=frost_dir)
    if len(images) == 0:
        return images.copy()
    return _FUNCTIONS[name](images, severity, rng)
