"""Spatter corruption of CIFAR-10-C: water drops (severities 1-3) or mud
(severities 4-5).

The function takes uint8 images of shape (N, 32, 32, 3), a severity in
1..5 and a `numpy.random.Generator`, and returns uint8 images of the same
shape. The OpenCV steps of the reference are reproduced with the functions
of `_cifar10_c_edges` and `_cifar10_c_imgproc`.
"""

import numpy as np

from applications.data._cifar10_c_common import IMAGE_SIZE
from applications.data._cifar10_c_common import gaussian_filter_spatial
from applications.data._cifar10_c_common import to_uint8
from applications.data._cifar10_c_edges import canny
from applications.data._cifar10_c_edges import chamfer_distance
from applications.data._cifar10_c_imgproc import box_blur_float
from applications.data._cifar10_c_imgproc import box_blur_uint8
from applications.data._cifar10_c_imgproc import equalize_hist
from applications.data._cifar10_c_imgproc import filter2d_uint8

# (liquid mean, liquid standard deviation, smoothing sigma in pixels,
# threshold, fifth parameter, mud flag). The fifth parameter is the
# strength of the water for severities 1-3 and the sigma in pixels that
# softens the mud mask for severities 4-5. Liquid values are on the
# [0, 1] scale.
SPATTER_PARAMS = (
    (0.62, 0.1, 0.7, 0.7, 0.5, 0),
    (0.65, 0.1, 0.8, 0.7, 0.5, 0),
    (0.65, 0.3, 1, 0.69, 0.5, 0),
    (0.65, 0.1, 0.7, 0.69, 0.6, 1),
    (0.65, 0.1, 0.5, 0.68, 0.6, 1),
)
# Pale turquoise water and brown mud, RGB on the [0, 1] scale, float32 as
# in the reference.
WATER_COLOR = np.float32([175 / 255.0, 238 / 255.0, 238 / 255.0])
MUD_COLOR = np.float32([63 / 255.0, 42 / 255.0, 20 / 255.0])
# cv2.Canny thresholds and the largest distance kept, in pixels.
_CANNY_LOW = 50
_CANNY_HIGH = 150
_MAX_DISTANCE = np.float32(20)
# Emboss kernel that gives the drops a lit edge.
_EMBOSS_KERNEL = ((-2, -1, 0), (-1, 1, 1), (0, 1, 2))


def _wrap_to_uint8(values):
    """Cast non-negative floats to uint8 the way the reference's NumPy did.

    The reference runs `(liquid * 255).astype(np.uint8)` without clipping;
    values of 256 or more wrap around modulo 256 on x86 (C truncation to
    an integer, then the low byte). This makes that explicit, so it does
    not depend on the platform.
    """
    return values.astype(np.int64).astype(np.uint8)


def _water(x, liquid, strength):
    """Add turquoise drops with embossed edges to float32 images x."""
    liquid = _wrap_to_uint8(liquid * 255)
    edges = canny(liquid, _CANNY_LOW, _CANNY_HIGH)
    distance = np.minimum(chamfer_distance(edges), _MAX_DISTANCE)
    distance = box_blur_float(distance).astype(np.uint8)
    distance = equalize_hist(distance)
    distance = filter2d_uint8(distance, _EMBOSS_KERNEL)
    distance = box_blur_uint8(distance).astype(np.float32)
    drops = liquid * distance
    peak = drops.max(axis=(1, 2), keepdims=True)
    # NOTE: the reference divides by the peak even when it is 0 (no liquid
    # value passed the threshold), which fills the image with NaN and
    # stores it as black. Such images are returned unchanged here.
    drops = drops / np.where(peak > 0, peak, np.float32(1))
    drops = drops * np.float32(strength)
    return np.clip(x + drops[..., np.newaxis] * WATER_COLOR, 0, 1) * 255


def _mud(x, liquid, threshold, sigma):
    """Cover the thresholded liquid with opaque brown mud."""
    mask = (liquid > threshold).astype(np.float32)
    mask = gaussian_filter_spatial(mask, sigma)
    mask[mask < 0.8] = 0
    mask = mask[..., np.newaxis]
    mud = MUD_COLOR * mask
    return np.clip(x * (1 - mask) + mud, 0, 1) * 255


def spatter(images, severity, rng):
    """Splash water drops or mud over each image.

    A smoothed Gaussian noise layer, thresholded, decides where the liquid
    lies. Water (severities 1-3) brightens those places towards pale
    turquoise, with an embossed rim derived from the distance to the
    drops' Canny edges. Mud (severities 4-5) replaces them with brown.
    """
    mean, std, sigma, threshold, fifth, is_mud = SPATTER_PARAMS[severity - 1]
    count = len(images)
    x = images.astype(np.float32) / 255.0
    liquid = rng.normal(
        loc=mean, scale=std, size=(count, IMAGE_SIZE, IMAGE_SIZE)
    )
    liquid = gaussian_filter_spatial(liquid, sigma)
    liquid[liquid < threshold] = 0
    if is_mud:
        return to_uint8(_mud(x, liquid, threshold, fifth))
    return to_uint8(_water(x, liquid, fifth))
