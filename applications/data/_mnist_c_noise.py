"""Shot and impulse noise of MNIST-C.

Each function takes uint8 images of shape (N, 28, 28) and a
`numpy.random.Generator`, and returns float32 pixel values in [0, 255]
before the final rounding in `applications.data.mnist_c.corrupt`.

The reference is `corruptions.py` in github.com/google-research/mnist-c.
"""

import numpy as np

# Severity 5 of the reference's (60, 25, 12, 5, 3): the expected photon
# count of a white pixel.
SHOT_NOISE_PHOTONS = 3

# Severity 4 of the reference's (0.03, 0.06, 0.09, 0.17, 0.27): the
# fraction of pixels replaced, half by white (salt) and half by black
# (pepper), as in skimage.util.random_noise(mode="s&p").
IMPULSE_NOISE_AMOUNT = 0.17


def shot_noise(images, rng):
    """Replace each pixel value v in [0, 1] by Poisson(v * 3) / 3."""
    intensity = images / 255.0
    counts = rng.poisson(intensity * SHOT_NOISE_PHOTONS)
    noisy = np.clip(counts / SHOT_NOISE_PHOTONS, 0, 1) * 255
    return noisy.astype(np.float32)


def impulse_noise(images, rng):
    """Set 17% of the pixels, chosen independently, to black or white."""
    intensity = images / 255.0
    replaced = rng.random(intensity.shape) < IMPULSE_NOISE_AMOUNT
    salt = rng.random(intensity.shape) < 0.5
    noisy = np.where(replaced, salt.astype(np.float64), intensity)
    return (noisy * 255).astype(np.float32)
