"""Elastic transform of CIFAR-10-C: random affine warp plus smooth
displacement field.

The function takes uint8 images of shape (N, 32, 32, 3), a severity in
1..5 and a `numpy.random.Generator`, and returns uint8 images of the same
shape.
"""

import numpy as np
from scipy import ndimage

from applications.data._cifar10_c_common import IMAGE_SIZE
from applications.data._cifar10_c_common import gaussian_filter_spatial
from applications.data._cifar10_c_common import to_uint8
from applications.data._cifar10_c_imgproc import affine_from_points
from applications.data._cifar10_c_imgproc import warp_affine

# (displacement scale alpha, smoothing sigma, maximum shift of the affine
# control points), all in pixels: the reference's fractions of the image
# size times 32.
ELASTIC_PARAMS = (
    (IMAGE_SIZE * 0, IMAGE_SIZE * 0, IMAGE_SIZE * 0.08),
    (IMAGE_SIZE * 0.05, IMAGE_SIZE * 0.2, IMAGE_SIZE * 0.07),
    (IMAGE_SIZE * 0.08, IMAGE_SIZE * 0.06, IMAGE_SIZE * 0.06),
    (IMAGE_SIZE * 0.1, IMAGE_SIZE * 0.04, IMAGE_SIZE * 0.05),
    (IMAGE_SIZE * 0.1, IMAGE_SIZE * 0.03, IMAGE_SIZE * 0.03),
)
# Control points (x, y) of the affine warp: the centre (16, 16) plus or
# minus a third of the image size (10), as float32.
_CONTROL_POINTS = np.float32([[26, 26], [26, 6], [6, 6]])


def _displacement(count, alpha, sigma, rng):
    """Draw smooth displacements of shape (N, 32, 32) in pixels, float32.

    Uniform noise in [-1, 1] is smoothed with `skimage.filters.gaussian`'s
    arithmetic (mode "reflect", kernel cut at 3 sigma) and scaled by alpha.
    """
    noise = rng.uniform(-1, 1, size=(count, IMAGE_SIZE, IMAGE_SIZE))
    smooth = gaussian_filter_spatial(noise, sigma, mode="reflect", truncate=3)
    return (smooth * alpha).astype(np.float32)


def displace(images, dx, dy):
    """Resample float32 images at (row + dy, column + dx), bilinearly.

    This computes, for the whole batch in one call, what the reference
    computes per image with `scipy.ndimage.map_coordinates(image,
    (row + dy, column + dx, channel), order=1, mode="reflect")`. Each
    channel of each image becomes one plane of a 3-D array, resampled
    at (plane, row + dy, column + dx). Because the plane coordinate is an
    integer, the sums and their order are those of the per-image call.

    Args:
        images: float32 array of shape (N, H, W, C).
        dx: column displacements of shape (N, H, W), in pixels.
        dy: row displacements of shape (N, H, W), in pixels.

    Returns:
        float32 array of shape (N, H, W, C).
    """
    count, height, width, channels = images.shape
    planes = np.moveaxis(images, 3, 1).reshape(-1, height, width)
    rows = np.arange(height, dtype=np.float64)[None, :, None] + dy
    cols = np.arange(width, dtype=np.float64)[None, None, :] + dx
    rows = np.repeat(rows, channels, axis=0)
    cols = np.repeat(cols, channels, axis=0)
    plane_index = np.broadcast_to(
        np.arange(len(planes), dtype=np.float64)[:, None, None], rows.shape
    )
    warped = ndimage.map_coordinates(
        planes, [plane_index, rows, cols], order=1, mode="reflect"
    )
    return np.moveaxis(warped.reshape(count, channels, height, width), 1, 3)


def elastic_transform(images, severity, rng):
    """Warp each image with a random affine map and a smooth random field.

    The three control points move by up to `affine` pixels each and
    cv2.warpAffine's arithmetic (see `warp_affine`) resamples the image.
    Then every pixel is displaced by (dx, dy) and resampled with
    `scipy.ndimage.map_coordinates(order=1, mode="reflect")`, the call the
    reference makes.

    NOTE: Before SciPy 1.6, map_coordinates applied the "reflect" rule
    only to the sample coordinate and "mirror" to the neighbouring samples
    it interpolates between. The released arrays were made with such an
    older SciPy; this uses the current rule, so pixels displaced past the
    border can differ slightly.
    """
    alpha, sigma, affine = ELASTIC_PARAMS[severity - 1]
    count = len(images)
    x = images.astype(np.float32) / 255.0

    shifts = rng.uniform(-affine, affine, size=(count, 3, 2))
    targets = _CONTROL_POINTS + shifts.astype(np.float32)
    x = warp_affine(x, affine_from_points(_CONTROL_POINTS, targets))

    dx = _displacement(count, alpha, sigma, rng)
    dy = _displacement(count, alpha, sigma, rng)
    warped = displace(x, dx, dy)
    return to_uint8(np.clip(warped, 0, 1) * 255)
