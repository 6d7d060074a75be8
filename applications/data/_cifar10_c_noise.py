"""Noise corruptions of CIFAR-10-C: Gaussian, shot, impulse and speckle.

Each function takes uint8 images of shape (N, 32, 32, 3), a severity in
1..5 and a `numpy.random.Generator`, and returns uint8 images of the same
shape. Noise levels are on the [0, 1] pixel scale.
"""

import numpy as np

from applications.data._cifar10_c_common import to_uint8

# Standard deviation of additive Gaussian noise, per severity 1..5.
GAUSSIAN_NOISE_SIGMAS = (0.04, 0.06, 0.08, 0.09, 0.10)
# Photon count c of Poisson noise Poisson(x * c) / c, per severity.
SHOT_NOISE_PHOTONS = (500, 250, 100, 75, 50)
# Fraction of values replaced by salt (1) or pepper (0), per severity.
IMPULSE_NOISE_AMOUNTS = (0.01, 0.02, 0.03, 0.05, 0.07)
# Standard deviation of multiplicative Gaussian noise, per severity.
SPECKLE_NOISE_SIGMAS = (0.06, 0.10, 0.12, 0.16, 0.20)


def gaussian_noise(images, severity, rng):
    """Add zero-mean Gaussian noise to every pixel value independently."""
    sigma = GAUSSIAN_NOISE_SIGMAS[severity - 1]
    x = images / 255.0
    noisy = x + rng.normal(scale=sigma, size=x.shape)
    return to_uint8(np.clip(noisy, 0, 1) * 255)


def shot_noise(images, severity, rng):
    """Replace each value x by Poisson(x * c) / c (photon noise).

    The variance of the result is x / c, so dark pixels are less noisy.
    """
    photons = SHOT_NOISE_PHOTONS[severity - 1]
    x = images / 255.0
    noisy = rng.poisson(x * photons) / photons
    return to_uint8(np.clip(noisy, 0, 1) * 255)


def impulse_noise(images, severity, rng):
    """Replace a fraction of values by 0 or 1 (salt-and-pepper noise).

    Each value of each channel is replaced independently with probability
    `amount`, by 1 or by 0 with equal probability. This is the rule of
    `skimage.util.random_noise(mode="s&p")`, which the reference calls,
    written out so that the draws come from `rng` alone.
    """
    amount = IMPULSE_NOISE_AMOUNTS[severity - 1]
    x = images / 255.0
    replaced = rng.random(x.shape) < amount
    salt = rng.random(x.shape) < 0.5
    noisy = np.where(replaced, np.where(salt, 1.0, 0.0), x)
    return to_uint8(np.clip(noisy, 0, 1) * 255)


def speckle_noise(images, severity, rng):
    """Multiply each value x by (1 + n) with n Gaussian (speckle noise)."""
    sigma = SPECKLE_NOISE_SIGMAS[severity - 1]
    x = images / 255.0
    noisy = x + x * rng.normal(scale=sigma, size=x.shape)
    return to_uint8(np.clip(noisy, 0, 1) * 255)
