"""Weather corruptions of CIFAR-10-C: snow and fog.

Each function takes uint8 images of shape (N, 32, 32, 3), a severity in
1..5 and a `numpy.random.Generator`, and returns uint8 images of the same
shape. Frost, which reads texture files, lives in `_cifar10_c_frost`.
"""

import numpy as np

from applications.data._cifar10_c_blur import clipped_zoom
from applications.data._cifar10_c_common import IMAGE_SIZE
from applications.data._cifar10_c_common import to_uint8
from applications.data._cifar10_c_motion import apply_motion_blur

# (flake mean, flake standard deviation, zoom factor, threshold, motion
# blur radius, motion blur sigma, weight of the original image), with
# flake values on the [0, 1] scale and blur sizes in pixels.
SNOW_PARAMS = (
    (0.1, 0.2, 1, 0.6, 8, 3, 0.95),
    (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
    (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
    (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
    (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8),
)
# Range of the uniformly drawn direction of falling snow, in degrees.
SNOW_ANGLE_RANGE = (-135.0, -45.0)
# (fog strength, decay of the fractal's random amplitude per octave).
FOG_PARAMS = ((0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75))
# ITU-R BT.601 luma weights of `cv2.cvtColor(..., COLOR_RGB2GRAY)`.
_LUMA_WEIGHTS = (np.float32(0.299), np.float32(0.587), np.float32(0.114))


def snow(images, severity, rng):
    """Add motion-blurred snowflakes and brighten the image.

    A layer of Gaussian noise is zoomed, thresholded into flakes, cast to
    uint8, streaked with ImageMagick-style motion blur along an angle
    drawn from [-135, -45] degrees, and added to the image twice (once
    rotated by 180 degrees). The image is first pulled towards
    max(x, 1.5 * luma + 0.5) to mimic the grey light of snowfall.
    """
    (
        flake_mean,
        flake_std,
        zoom,
        threshold,
        blur_radius,
        blur_sigma,
        image_weight,
    ) = SNOW_PARAMS[severity - 1]
    count = len(images)
    x = images.astype(np.float32) / 255.0
    layer = rng.normal(
        loc=flake_mean, scale=flake_std, size=(count, IMAGE_SIZE, IMAGE_SIZE)
    )
    layer = clipped_zoom(layer[..., np.newaxis], zoom)[..., 0]
    layer[layer < threshold] = 0
    layer = to_uint8(np.clip(layer, 0, 1) * 255)
    angles = rng.uniform(*SNOW_ANGLE_RANGE, size=count)
    layer = apply_motion_blur(layer, blur_radius, blur_sigma, angles) / 255.0
    layer = layer[..., np.newaxis]

    red_weight, green_weight, blue_weight = _LUMA_WEIGHTS
    luma = x[..., 0] * red_weight + x[..., 1] * green_weight
    luma = luma + x[..., 2] * blue_weight
    brightened = np.maximum(x, luma[..., np.newaxis] * 1.5 + 0.5)
    x = image_weight * x + (1 - image_weight) * brightened
    flakes = layer + np.rot90(layer, k=2, axes=(1, 2))
    return to_uint8(np.clip(x + flakes, 0, 1) * 255)


def plasma_fractal(count, rng, map_size=32, wibble_decay=3):
    """Generate heightmaps with the diamond-square algorithm.

    This follows the reference's version. The corner starts at 0, and
    every new point is the mean of its 4 neighbours (wrapping around the
    map) plus a uniform offset in [-w^2, w^2]. The amplitude w starts at
    100 and is divided by `wibble_decay` after each octave.

    Args:
        count: number of maps.
        rng: `numpy.random.Generator` for the offsets.
        map_size: side length in pixels, a power of two.
        wibble_decay: divisor of the offset amplitude per octave; larger
            values give smoother maps.

    Returns:
        float64 array of shape (count, map_size, map_size), each map
        rescaled to span [0, 1].
    """
    heights = np.empty((count, map_size, map_size), dtype=np.float64)
    heights[:, 0, 0] = 0
    step = map_size
    wibble = 100.0

    def wibbled_mean(total):
        offsets = rng.uniform(-wibble, wibble, size=total.shape)
        return total / 4 + wibble * offsets

    while step >= 2:
        half = step // 2
        # Squares: the centre of each square of corners.
        corners = heights[:, 0::step, 0::step]
        square = corners + np.roll(corners, -1, axis=1)
        square = square + np.roll(square, -1, axis=2)
        heights[:, half::step, half::step] = wibbled_mean(square)
        # Diamonds: the edge midpoints, from two centres and two corners.
        centres = heights[:, half::step, half::step]
        corners = heights[:, 0::step, 0::step]
        left = centres + np.roll(centres, 1, axis=1)
        left = left + (corners + np.roll(corners, -1, axis=2))
        heights[:, 0::step, half::step] = wibbled_mean(left)
        top = centres + np.roll(centres, 1, axis=2)
        top = top + (corners + np.roll(corners, -1, axis=1))
        heights[:, half::step, 0::step] = wibbled_mean(top)
        step //= 2
        wibble /= wibble_decay

    heights -= heights.min(axis=(1, 2), keepdims=True)
    return heights / heights.max(axis=(1, 2), keepdims=True)


def fog(images, severity, rng):
    """Add a plasma-fractal haze and rescale to keep the brightest value.

    Each image gets x + strength * fractal, multiplied by
    max(x) / (max(x) + strength), where max(x) is over all pixels and
    channels of that image.
    """
    strength, wibble_decay = FOG_PARAMS[severity - 1]
    x = images / 255.0
    max_value = x.max(axis=(1, 2, 3), keepdims=True)
    haze = plasma_fractal(len(images), rng, IMAGE_SIZE, wibble_decay)
    x = x + strength * haze[..., np.newaxis]
    return to_uint8(np.clip(x * max_value / (max_value + strength), 0, 1) * 255)
