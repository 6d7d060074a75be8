"""Glass blur and motion blur of MNIST-C.

Each function takes uint8 images of shape (N, 28, 28) and a
`numpy.random.Generator`, and returns float32 pixel values in [0, 255]
before the final rounding in `applications.data.mnist_c.corrupt`.

The reference is `corruptions.py` in github.com/google-research/mnist-c.
"""

import math

import numpy as np
from scipy import ndimage

# Severity 1 of the reference's glass blur: Gaussian sigma in pixels,
# maximum pixel displacement per swap, number of swap passes.
GLASS_BLUR_SIGMA = 0.7
GLASS_BLUR_MAX_DELTA = 1
GLASS_BLUR_ITERATIONS = 2

# Severity 1 of the reference's motion blur, the arguments it passes to
# ImageMagick's MotionBlurImage: kernel radius and sigma in pixels, and
# the bound of the uniformly drawn angle in degrees.
MOTION_BLUR_RADIUS = 10
MOTION_BLUR_SIGMA = 3.0
MOTION_BLUR_MAX_ANGLE = 45.0


def _blur_rows(intensity):
    """Blur each image along its row axis only, as the reference did.

    The reference called skimage.filters.gaussian(image, sigma,
    multichannel=True) on 2-D images. scikit-image then took the last
    axis for channels and set its sigma to 0, so only the vertical
    direction was blurred. The mode and truncation are skimage's defaults.
    """
    return ndimage.gaussian_filter1d(
        intensity, GLASS_BLUR_SIGMA, axis=1, mode="nearest", truncate=4.0
    )


def glass_blur(images, rng):
    """Blur vertically, shuffle pixels locally, and blur vertically again.

    The shuffle visits rows and columns from 27 down to 2 in row-major
    order, twice. At each position, with probability 1/2, it swaps the
    pixel with its neighbor at offset (dy, dx), each drawn uniformly from
    {-1, 0} like the reference's `randint(-1, 1)`. Later swaps see earlier
    ones, so the loop over positions is sequential. It runs on all images
    at once.
    """
    count, height, width = images.shape
    blurred = _blur_rows(images / 255.0)
    # The reference truncates to uint8 here, not rounds.
    shuffled = (blurred * 255).astype(np.uint8)

    flat = shuffled.reshape(-1)
    image_starts = np.arange(count) * (height * width)
    delta = GLASS_BLUR_MAX_DELTA
    rows = range(height - delta, delta, -1)
    columns = np.arange(width - delta, delta, -1)
    for _ in range(GLASS_BLUR_ITERATIONS):
        for row in rows:
            shape = (columns.size, count)
            swapped = rng.random(shape) < 0.5
            dx = rng.integers(-delta, delta, size=shape) * swapped
            dy = rng.integers(-delta, delta, size=shape) * swapped
            for k, column in enumerate(columns):
                position = image_starts + (row * width + column)
                neighbor = position + dy[k] * width + dx[k]
                position_values = flat[position]
                flat[position] = flat[neighbor]
                flat[neighbor] = position_values

    blurred = _blur_rows(shuffled / 255.0)
    return (np.clip(blurred, 0, 1) * 255).astype(np.float32)


def motion_blur_kernel(radius=MOTION_BLUR_RADIUS, sigma=MOTION_BLUR_SIGMA):
    """Return the normalized one-sided Gaussian taps of ImageMagick.

    ImageMagick's MotionBlurImage uses 2 * ceil(radius) + 1 taps, and tap
    i, for i = 0, 1, ..., has weight exp(-i^2 / (2 sigma^2)).
    """
    taps = np.arange(2 * math.ceil(radius) + 1)
    weights = np.exp(-(taps**2) / (2.0 * sigma**2))
    return weights / weights.sum()


def motion_blur(images, rng):
    """Blur each image along a line at a random angle, like ImageMagick.

    This reproduces MotionBlurImage of current ImageMagick 6 and 7 for a
    grayscale image without alpha. Output pixel (y, x) is the weighted sum
    over taps i of input pixel (y + oy_i, x + ox_i), with
    ox_i = ceil(i cos(angle) - 0.5) and oy_i = ceil(i sin(angle) - 0.5).
    The kernel is one-sided, so each pixel collects the pixels ahead of it
    along the angle. Pixels outside the image repeat the nearest edge
    pixel, ImageMagick's default virtual-pixel method. The angle is drawn
    uniformly from [-45, 45] degrees per image. The sum is rounded half up
    to 8 bits, as when ImageMagick writes the 8-bit PNG that the reference
    decoded.

    NOTE: A non-HDRI Q16 ImageMagick build rounds twice, first to 16 bits
    and then to 8 bits. Where the weighted sum lies within about 0.002 of
    a half level, its output can then differ by one gray level from the
    single rounding here. This was derived from the source, not compared
    with ImageMagick output, because ImageMagick is not a dependency.
    """
    count, height, width = images.shape
    angles = np.deg2rad(
        rng.uniform(-MOTION_BLUR_MAX_ANGLE, MOTION_BLUR_MAX_ANGLE, size=count)
    )
    values = images.astype(np.float64)
    batch = np.arange(count)[:, None, None]
    rows = np.arange(height)[None, :, None]
    columns = np.arange(width)[None, None, :]
    blurred = np.zeros(images.shape)
    for tap, weight in enumerate(motion_blur_kernel()):
        dx = np.ceil(tap * np.cos(angles) - 0.5).astype(np.int64)
        dy = np.ceil(tap * np.sin(angles) - 0.5).astype(np.int64)
        source_rows = np.clip(rows + dy[:, None, None], 0, height - 1)
        source_columns = np.clip(columns + dx[:, None, None], 0, width - 1)
        blurred += weight * values[batch, source_rows, source_columns]
    blurred = np.floor(blurred + 0.5)
    return np.clip(blurred, 0, 255).astype(np.float32)
