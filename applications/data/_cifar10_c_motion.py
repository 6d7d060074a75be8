"""Motion blur of CIFAR-10-C, an ImageMagick-equivalent line kernel.

The reference calls ImageMagick's `MotionBlurImage(radius, sigma, angle)`
through Wand. This module computes the same filter with NumPy, following
ImageMagick's source (MagickCore/effect.c, ImageMagick 6.9 and 7):

- The kernel has width = 2 * ceil(radius) + 1 taps. Tap i (i = 0 .. width
  - 1) weighs exp(-i^2 / (2 sigma^2)), normalised to sum 1, so the kernel
  is one-sided: the output pixel keeps the largest weight and the trail
  fades along the direction of `angle`.
- Tap i reads the pixel at column offset ceil(i cos(angle) - 0.5) and row
  offset ceil(i sin(angle) - 0.5), angle in degrees, rows pointing down.
- Pixels outside the image repeat the nearest edge pixel (ImageMagick's
  default "edge" virtual pixel method).
- The result is rounded to the nearest integer, which is what ImageMagick
  does when it stores the blurred values and writes the 8-bit PNG that the
  reference reads back.

NOTE: ImageMagick sums 16-bit quantum values and rounds twice (to the
16-bit quantum, then to 8 bits). For 8-bit input that double rounding
equals rounding the 8-bit weighted sum once, which is what this module
does. The two can differ only through floating-point error in the last
bit.
"""

import numpy as np

from applications.data._cifar10_c_common import to_uint8

# (radius, sigma) in pixels of ImageMagick's motion blur, per severity.
MOTION_BLUR_PARAMS = ((6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5))
# Range of the uniformly drawn blur angle, in degrees.
MOTION_BLUR_ANGLE_RANGE = (-45.0, 45.0)


def motion_kernel(radius, sigma):
    """Return the one-sided Gaussian weights of ImageMagick's motion blur.

    Args:
        radius: kernel radius in pixels; the kernel has
            2 * ceil(radius) + 1 taps.
        sigma: standard deviation of the Gaussian fall-off in pixels.

    Returns:
        float64 array of tap weights that sums to 1, largest first.
    """
    width = int(2 * np.ceil(radius) + 1)
    taps = np.arange(width, dtype=np.float64)
    weights = np.exp(-(taps**2) / (2.0 * sigma**2))
    return weights / weights.sum()


def motion_offsets(width, angles):
    """Return the row and column offsets of each tap for each angle.

    Args:
        width: number of taps.
        angles: float array of shape (N,), angles in degrees.

    Returns:
        Tuple `(row_offsets, col_offsets)` of int64 arrays of shape
        (N, width).
    """
    radians = np.pi * np.asarray(angles, dtype=np.float64) / 180.0
    # ImageMagick scales both components by the width and divides by their
    # hypotenuse; doing the same keeps its rounding at half-pixel ties.
    point_x = width * np.sin(radians)[:, np.newaxis]
    point_y = width * np.cos(radians)[:, np.newaxis]
    length = np.hypot(point_x, point_y)
    taps = np.arange(width, dtype=np.float64)[np.newaxis, :]
    col_offsets = np.ceil(taps * point_y / length - 0.5).astype(np.int64)
    row_offsets = np.ceil(taps * point_x / length - 0.5).astype(np.int64)
    return row_offsets, col_offsets


def apply_motion_blur(images, radius, sigma, angles):
    """Blur each image along its own angle and round to uint8.

    Args:
        images: uint8 array of shape (N, H, W) or (N, H, W, C).
        radius: kernel radius in pixels (see `motion_kernel`).
        sigma: standard deviation of the fall-off in pixels.
        angles: float array of shape (N,), one angle in degrees per image.

    Returns:
        uint8 array of the same shape as `images`.
    """
    weights = motion_kernel(radius, sigma)
    row_offsets, col_offsets = motion_offsets(len(weights), angles)
    count, height, width = images.shape[:3]
    batch_index = np.arange(count)[:, np.newaxis, np.newaxis]
    rows = np.arange(height)[np.newaxis, :, np.newaxis]
    cols = np.arange(width)[np.newaxis, np.newaxis, :]
    blurred = np.zeros(images.shape, dtype=np.float64)
    for tap, weight in enumerate(weights):
        source_rows = np.clip(
            rows + row_offsets[:, tap, np.newaxis, np.newaxis], 0, height - 1
        )
        source_cols = np.clip(
            cols + col_offsets[:, tap, np.newaxis, np.newaxis], 0, width - 1
        )
        blurred += weight * images[batch_index, source_rows, source_cols]
    return to_uint8(np.clip(np.floor(blurred + 0.5), 0, 255))


def motion_blur(images, severity, rng):
    """Blur each image along a random direction (camera shake)."""
    radius, sigma = MOTION_BLUR_PARAMS[severity - 1]
    angles = rng.uniform(*MOTION_BLUR_ANGLE_RANGE, size=len(images))
    return apply_motion_blur(images, radius, sigma, angles)
