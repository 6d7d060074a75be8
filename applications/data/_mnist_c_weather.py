"""Fog and spatter corruptions of MNIST-C.

Each function takes uint8 images of shape (N, 28, 28) and a
`numpy.random.Generator`, and returns float pixel values in [0, 255]
before the final rounding in `applications.data.mnist_c.corrupt`.

The reference is `corruptions.py` in github.com/google-research/mnist-c.
"""

import numpy as np
from scipy import ndimage

# Severity 5 of the reference's fog: the weight of the fog layer and the
# factor by which the plasma fractal's noise amplitude shrinks per level.
FOG_STRENGTH = 3.0
FOG_DECAY = 1.4
# The reference draws a 256 x 256 plasma fractal, scales it to [0, 1]
# over the whole map, and keeps only the top-left 28 x 28 corner.
PLASMA_SIZE = 256
# Maps drawn at once: 64 float64 maps of 256 x 256 take 34 MB.
_PLASMA_CHUNK = 64

# Severity 4 of the reference's spatter: mean and standard deviation of
# the liquid layer, its blur sigma in pixels, the threshold that turns it
# into a mask, and the mask's blur sigma in pixels. The reference's sixth
# parameter, a color mode, is unused by its MNIST-C code, which fixes the
# mask floor and the mud gray level below.
SPATTER_MEAN = 0.65
SPATTER_STDDEV = 0.3
SPATTER_SIGMA = 1.0
SPATTER_THRESHOLD = 0.65
SPATTER_MASK_SIGMA = 1.5
SPATTER_MASK_MIN = 0.8
SPATTER_MUD_LEVEL = 63 / 255


def plasma_fractal(count, decay, rng, size=PLASMA_SIZE):
    """Draw `count` diamond-square height maps, each scaled to [0, 1].

    Returns an array of shape (count, size, size). The map wraps around
    at its borders. Each midpoint is the mean of its four neighbors plus
    noise. As in the reference, the noise is `wibble` times a uniform
    draw from [-wibble, wibble], so its half-width is wibble squared.
    `wibble` starts at 100 and is divided by `decay` after each level.
    """
    maps = np.empty((count, size, size))
    maps[:, 0, 0] = 0.0
    wibble = 100.0

    def noisy_mean(total):
        noise = rng.uniform(-wibble, wibble, size=total.shape)
        return total / 4 + wibble * noise

    step = size
    while step >= 2:
        half = step // 2
        # Square step: the center of each square of corners.
        corners = maps[:, ::step, ::step]
        total = corners + np.roll(corners, -1, axis=1)
        total += np.roll(total, -1, axis=2)
        maps[:, half::step, half::step] = noisy_mean(total)

        # Diamond step: the edge midpoints between two corners and two
        # centers, first on the corner rows, then on the corner columns.
        centers = maps[:, half::step, half::step]
        corners = maps[:, ::step, ::step]
        total = (centers + np.roll(centers, 1, axis=1)) + (
            corners + np.roll(corners, -1, axis=2)
        )
        maps[:, ::step, half::step] = noisy_mean(total)
        total = (centers + np.roll(centers, 1, axis=2)) + (
            corners + np.roll(corners, -1, axis=1)
        )
        maps[:, half::step, ::step] = noisy_mean(total)

        step = half
        wibble /= decay

    maps -= maps.min(axis=(1, 2), keepdims=True)
    return maps / maps.max(axis=(1, 2), keepdims=True)


def fog(images, rng):
    """Add a plasma-fractal fog layer and rescale to the image's maximum.

    Pixel v in [0, 1] becomes (v + 3 p) m / (m + 3), with p the fog layer
    and m the image's maximum, so no output exceeds the input maximum.
    """
    count, height, width = images.shape
    intensity = images / 255.0
    maximum = intensity.max(axis=(1, 2), keepdims=True)
    layer = np.empty_like(intensity)
    for start in range(0, count, _PLASMA_CHUNK):
        stop = min(start + _PLASMA_CHUNK, count)
        maps = plasma_fractal(stop - start, FOG_DECAY, rng)
        layer[start:stop] = maps[:, :height, :width]
    foggy = intensity + FOG_STRENGTH * layer
    foggy = foggy * maximum / (maximum + FOG_STRENGTH)
    return (np.clip(foggy, 0, 1) * 255).astype(np.float32)


def _blur_images(values, sigma):
    """Blur each image in 2-D like skimage.filters.gaussian's defaults."""
    return ndimage.gaussian_filter(
        values, sigma=(0, sigma, sigma), mode="nearest", truncate=4.0
    )


def spatter(images, rng):
    """Cover blotches of each image with mud of gray level 63.

    A Gaussian liquid layer is blurred and thresholded into a mask. The
    mask is blurred again and zeroed below 0.8, and each pixel becomes
    v (1 - m) + 63/255 m for mask value m. The reference returns float64
    here, unlike the other corruptions.
    """
    intensity = images.astype(np.float32) / 255.0
    liquid = rng.normal(SPATTER_MEAN, SPATTER_STDDEV, size=images.shape)
    liquid = _blur_images(liquid, SPATTER_SIGMA)
    mask = (liquid > SPATTER_THRESHOLD).astype(np.float64)
    mask = _blur_images(mask, SPATTER_MASK_SIGMA)
    mask[mask < SPATTER_MASK_MIN] = 0
    muddy = intensity * (1 - mask) + SPATTER_MUD_LEVEL * mask
    return np.clip(muddy, 0, 1) * 255
