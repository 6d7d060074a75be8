"""Helpers shared by the CIFAR-10-C corruption modules.

Every corruption works on a batch of shape (N, 32, 32, 3) and follows the
arithmetic of the reference generator (`make_cifar_c.py` in
hendrycks/robustness) image by image: scale to [0, 1], corrupt, clip,
multiply by 255 and cast to uint8.
"""

import numpy as np
from scipy import ndimage

IMAGE_SIZE = 32


def to_uint8(values):
    """Cast pixel values in [0, 255] to uint8 by truncation.

    The reference stores each corrupted image with `np.uint8(...)`, which
    drops the fractional part (199.9 becomes 199). Rounding instead would
    make every corruption half a grey level brighter on average than the
    released CIFAR-10-C arrays.
    """
    return values.astype(np.uint8)


def gaussian_filter_spatial(batch, sigma, mode="nearest", truncate=4.0):
    """Blur a batch with a Gaussian along its two spatial axes only.

    This is what `skimage.filters.gaussian` does to one image (it calls
    `scipy.ndimage.gaussian_filter` with sigma 0 on the channel axis), with
    the same defaults: `mode="nearest"` and `truncate=4.0`.

    Args:
        batch: array of shape (N, H, W) or (N, H, W, C).
        sigma: standard deviation in pixels; 0 returns a copy.
        mode: border mode of `scipy.ndimage.gaussian_filter`.
        truncate: kernel radius in standard deviations.

    Returns:
        Array of the same shape and dtype as `batch`.
    """
    sigmas = [0.0] * batch.ndim
    sigmas[1] = sigma
    sigmas[2] = sigma
    return ndimage.gaussian_filter(batch, sigmas, mode=mode, truncate=truncate)
