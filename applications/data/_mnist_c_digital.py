"""Brightness, stripe and Canny edge corruptions of MNIST-C.

These three are deterministic. Each function takes uint8 images of shape
(N, 28, 28) and an unused `numpy.random.Generator`, and returns float32
pixel values in [0, 255] before the final rounding in
`applications.data.mnist_c.corrupt`.

The reference is `corruptions.py` in github.com/google-research/mnist-c.
"""

import numpy as np
from skimage import feature

# Severity 5 of the reference's (0.1, 0.2, 0.3, 0.4, 0.5): the amount added
# to the HSV value channel, on the [0, 1] scale.
BRIGHTNESS_SHIFT = 0.5
# The reference inverts the 7 leftmost and the 7 rightmost columns.
STRIPE_WIDTH = 7


def brightness(images, rng):
    """Add 0.5 to the HSV value of each pixel and clip it to [0, 1].

    The reference converts gray to RGB, RGB to HSV, shifts the value,
    converts back to RGB and then to gray with skimage's luminance
    weights. A gray pixel has zero saturation and HSV value equal to its
    gray level, and the luminance weights sum to 1, so that chain returns
    the shifted, clipped gray level itself. At 255 scale the result is
    v + 127.5, so the final rounding (ties to even) makes every output
    below 255 even.
    """
    del rng
    shifted = np.clip(images / 255.0 + BRIGHTNESS_SHIFT, 0, 1)
    return (shifted * 255).astype(np.float32)


def stripe(images, rng):
    """Invert the 7 leftmost and the 7 rightmost columns."""
    del rng
    striped = images.astype(np.float32)
    for columns in (
        slice(None, STRIPE_WIDTH),
        slice(-STRIPE_WIDTH, None),
    ):
        striped[:, :, columns] = 255 - striped[:, :, columns]
    return striped


def canny_edges(images, rng):
    """Replace each image by its Canny edge map: 255 on edges, else 0.

    skimage.feature.canny runs with its defaults (sigma 1, hysteresis
    thresholds 0.1 and 0.2 of the gray range) on pixel values in [0, 1].
    It handles one 2-D image per call.

    NOTE: The released set was made in 2019 with an older scikit-image,
    and canny's implementation has changed since (for example in 0.15).
    The edge maps can differ in some pixels from the released ones. This
    was not measured, because the released arrays were not available.
    """
    del rng
    edges = np.stack([feature.canny(image / 255.0) for image in images])
    return edges.astype(np.float32) * 255
