"""Blur corruptions of CIFAR-10-C: defocus, glass, zoom and Gaussian blur.

Each corruption function takes uint8 images of shape (N, 32, 32, 3), a
severity in 1..5 and a `numpy.random.Generator`, and returns uint8 images
of the same shape. Motion blur lives in `_cifar10_c_motion`.
"""

import numpy as np
from scipy import ndimage

from applications.data._cifar10_c_common import IMAGE_SIZE
from applications.data._cifar10_c_common import gaussian_filter_spatial
from applications.data._cifar10_c_common import to_uint8

# (disk radius, standard deviation of the anti-aliasing blur) in pixels.
DEFOCUS_BLUR_PARAMS = ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1))
# (Gaussian sigma in pixels, shuffle iterations). The maximum shift of a
# pixel is 1 at every severity.
GLASS_BLUR_PARAMS = ((0.05, 1), (0.25, 1), (0.4, 1), (0.25, 2), (0.4, 2))
# Zoom factors 1, 1.01, ... built with np.arange as the reference does. The
# float steps put 1.06 itself in the first list (7 factors) and make the
# factor 1.25 of severity 5 equal to 1.2500000000000002, which changes the
# size that scipy.ndimage.zoom rounds to.
ZOOM_BLUR_FACTORS = tuple(
    tuple(np.arange(1, stop, 0.01).tolist())
    for stop in (1.06, 1.11, 1.16, 1.21, 1.26)
)
GAUSSIAN_BLUR_SIGMAS = (0.4, 0.6, 0.7, 0.8, 1.0)


def defocus_kernel(radius, alias_sigma):
    """Build the normalised disk kernel of defocus blur, as float32.

    The reference draws a disk of the given radius on a 17x17 grid and
    normalises it to sum 1. It then smooths the disk with
    `cv2.GaussianBlur(ksize=(3, 3))`, whose taps are exp(-x^2 / (2 sigma^2))
    for x in -1, 0, 1, normalised. All radii used are at most 1.5, so the
    kernel is zero beyond 2 pixels from the centre. It is returned cropped
    to its nonzero 5x5 or 3x3 core.
    """
    offsets = np.arange(-8, 9)
    rows, cols = np.meshgrid(offsets, offsets, indexing="ij")
    disk = (rows**2 + cols**2 <= radius**2).astype(np.float32)
    disk /= disk.sum()
    taps = np.exp(-(np.arange(-1, 2) ** 2) / (2.0 * alias_sigma**2))
    taps = (taps / taps.sum()).astype(np.float32)
    kernel = ndimage.correlate1d(disk, taps, axis=0, mode="mirror")
    kernel = ndimage.correlate1d(kernel, taps, axis=1, mode="mirror")
    support = np.nonzero(kernel.any(axis=0))[0]
    low, high = support.min(), support.max() + 1
    return kernel[low:high, low:high]


def defocus_blur(images, severity, rng):
    """Convolve each channel with an anti-aliased disk (out-of-focus lens).

    The reference applies `cv2.filter2D`, whose default border is
    BORDER_REFLECT_101, the same as scipy's "mirror" mode.
    """
    radius, alias_sigma = DEFOCUS_BLUR_PARAMS[severity - 1]
    kernel = defocus_kernel(radius, alias_sigma).astype(np.float64)
    x = images / 255.0
    blurred = ndimage.correlate(
        x, kernel[np.newaxis, :, :, np.newaxis], mode="mirror"
    )
    return to_uint8(np.clip(blurred, 0, 1) * 255)


def shuffle_pixels(images, offsets):
    """Apply the local pixel shuffle of glass blur for one iteration.

    The reference walks the pixels (h, w) for h and w from 31 down to 2 and
    runs `x[h, w], x[h', w'] = x[h', w'], x[h, w]` with h' = h + dy and
    w' = w + dx, dx and dy drawn from {-1, 0}. Because `x[h', w']` is a
    NumPy view, the second assignment writes back the value just copied,
    so the statement copies pixel (h', w') onto (h, w) instead of swapping.
    The source pixel is never one that the walk has already changed, since
    it lies at or after (h, w) in that order. One iteration is therefore
    the simultaneous gather new[h, w] = old[h + dy, w + dx], which this
    function computes for the whole batch.

    Args:
        images: uint8 array of shape (N, 32, 32, 3).
        offsets: integer array of shape (N, 30, 30, 2) with values in
            {-1, 0}; `offsets[n, i, j]` is (dx, dy) for pixel (i + 2, j + 2).

    Returns:
        The shuffled uint8 array; rows and columns 0 and 1 are unchanged.
    """
    count = len(images)
    targets = np.arange(2, IMAGE_SIZE)
    source_rows = targets[np.newaxis, :, np.newaxis] + offsets[..., 1]
    source_cols = targets[np.newaxis, np.newaxis, :] + offsets[..., 0]
    batch_index = np.arange(count)[:, np.newaxis, np.newaxis]
    shuffled = images.copy()
    shuffled[:, 2:, 2:] = images[batch_index, source_rows, source_cols]
    return shuffled


def glass_blur(images, severity, rng):
    """Blur, shuffle neighbouring pixels, and blur again (frosted glass).

    Between the two Gaussian blurs the image is cast to uint8 by
    truncation, as in the reference.
    """
    sigma, iterations = GLASS_BLUR_PARAMS[severity - 1]
    count = len(images)
    x = to_uint8(gaussian_filter_spatial(images / 255.0, sigma) * 255)
    targets = IMAGE_SIZE - 2
    offsets = rng.integers(-1, 1, size=(iterations, count, targets, targets, 2))
    for iteration_offsets in offsets:
        x = shuffle_pixels(x, iteration_offsets)
    blurred = gaussian_filter_spatial(x / 255.0, sigma)
    return to_uint8(np.clip(blurred, 0, 1) * 255)


def _linear_zoom_taps(in_size, out_size, out_indices):
    """Return first source index and weights of order-1 zoom along an axis.

    `scipy.ndimage.zoom(order=1)` maps output index k to source coordinate
    k * (in_size - 1) / (out_size - 1) and interpolates linearly between
    the two nearest samples. A sample past the end reads 0 ("constant"
    mode) and always gets a zero weight.
    """
    scale = (in_size - 1) / (out_size - 1) if out_size > 1 else 1.0
    coordinates = out_indices * scale
    first = np.floor(coordinates).astype(np.int64)
    fraction = coordinates - first
    weight0 = 1.0 - fraction
    # scipy sets the last weight to 1 minus the others, not to `fraction`.
    return first, weight0, 1.0 - weight0


def _zoom_sizes(size, factor):
    """Return the crop size and zoomed size of `clipped_zoom`.

    The output size is rounded with Python's `round`, as scipy does.
    """
    crop_size = int(np.ceil(size / factor))
    return crop_size, int(round(crop_size * factor))


def clipped_zoom(batch, factor):
    """Zoom the centre of each image by `factor` and crop to the same size.

    This reproduces the reference's helper, which crops the central
    ceil(32 / factor) pixels and enlarges them with
    `scipy.ndimage.zoom(order=1)` before trimming to 32x32. The bilinear
    sum is evaluated in float64 in scipy's order (corner by corner, row
    weight first) and cast back to the input dtype, so the result matches
    scipy's zoom of each image.

    Args:
        batch: float array of shape (N, 32, 32, C).
        factor: zoom factor >= 1.

    Returns:
        Array of the same shape and dtype as `batch`.
    """
    size = batch.shape[1]
    crop_size, zoomed_size = _zoom_sizes(size, factor)
    if crop_size == size and zoomed_size == size:
        # The source coordinate of every pixel is the pixel itself.
        return batch.copy()
    top = (size - crop_size) // 2
    crop = batch[:, top : top + crop_size, top : top + crop_size]
    trim = (zoomed_size - size) // 2
    out_indices = np.arange(trim, trim + size, dtype=np.float64)
    first, weight0, weight1 = _linear_zoom_taps(
        crop_size, zoomed_size, out_indices
    )
    # The second tap of the last output pixel lies past the crop, where
    # scipy reads 0 ("constant" mode). Its weight is exactly 0 there, so
    # clamping the index gives the same sum.
    second = np.minimum(first + 1, crop_size - 1)
    crop = crop.astype(np.float64)
    row_w0 = weight0[np.newaxis, :, np.newaxis, np.newaxis]
    row_w1 = weight1[np.newaxis, :, np.newaxis, np.newaxis]
    col_w0 = weight0[np.newaxis, np.newaxis, :, np.newaxis]
    col_w1 = weight1[np.newaxis, np.newaxis, :, np.newaxis]
    rows0 = np.take(crop, first, axis=1) * row_w0
    rows1 = np.take(crop, second, axis=1) * row_w1
    result = np.take(rows0, first, axis=2) * col_w0
    result += np.take(rows0, second, axis=2) * col_w1
    result += np.take(rows1, first, axis=2) * col_w0
    result += np.take(rows1, second, axis=2) * col_w1
    return result.astype(batch.dtype)


def zoom_blur(images, severity, rng):
    """Average the image with zoomed-in copies of itself (radial blur).

    The arithmetic is float32, as in the reference.
    """
    factors = ZOOM_BLUR_FACTORS[severity - 1]
    x = (images / 255.0).astype(np.float32)
    total = np.zeros_like(x)
    # Neighbouring factors often give the same crop and output sizes and
    # hence the same zoomed image. Each is computed once but added once per
    # factor, in the reference's order, to keep its float32 rounding.
    previous_sizes = None
    for factor in factors:
        sizes = _zoom_sizes(IMAGE_SIZE, factor)
        if sizes != previous_sizes:
            zoomed = clipped_zoom(x, factor)
            previous_sizes = sizes
        total += zoomed
    x = (x + total) / (len(factors) + 1)
    return to_uint8(np.clip(x, 0, 1) * 255)


def gaussian_blur(images, severity, rng):
    """Blur each channel with a Gaussian (`skimage.filters.gaussian`)."""
    sigma = GAUSSIAN_BLUR_SIGMAS[severity - 1]
    blurred = gaussian_filter_spatial(images / 255.0, sigma)
    return to_uint8(np.clip(blurred, 0, 1) * 255)
