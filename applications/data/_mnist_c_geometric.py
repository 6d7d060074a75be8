"""Shear, scale, rotate and translate corruptions of MNIST-C.

Each function takes uint8 images of shape (N, 28, 28) and a
`numpy.random.Generator`, and returns float32 pixel values in [0, 255]
before the final rounding in `applications.data.mnist_c.corrupt`.

The reference, `corruptions.py` in github.com/google-research/mnist-c,
builds a skimage.transform.AffineTransform and passes it to
skimage.transform.warp as the inverse map. The matrix therefore maps
output coordinates to input coordinates in skimage's (x, y) =
(column, row) order. Interpolation is bilinear, and points outside the
image read 0. `warp_batch` does the same with
scipy.ndimage.affine_transform on the whole batch at once.
"""

import math

import numpy as np
from scipy import ndimage

# Severity 2 of the reference's (0.2, 0.4, 0.6, 0.8, 1.0), in radians. The
# sign is drawn per image.
SHEAR_ANGLE = 0.4
# Severity 2 of the same list as shear, in radians. The sign is drawn per
# image.
ROTATION_ANGLE = 0.4
# Severity 3 of the reference's (1/0.9, 1/0.8, 1/0.7, 1/0.6, 1/0.5). The
# inverse map scales coordinates by this factor, so the digit shrinks to
# 0.7 of its size.
SCALE_FACTOR = 1 / 0.7
# Severity 3 of the reference's (1, 2, 3, 4, 5), in pixels. Each axis gets
# its own random sign.
TRANSLATION_PIXELS = 3

# The reference keeps the image center (13.5, 13.5) fixed.
_CENTER = 13.5


def centered_affine(linear):
    """Return the 3x3 inverse map with 2x2 part `linear` fixing the center.

    `linear` acts on (x, y) = (column, row) coordinates.
    """
    matrix = np.eye(3)
    matrix[:2, :2] = linear
    matrix[:2, 2] = _CENTER * (1 - matrix[:2, 0] - matrix[:2, 1])
    return matrix


def shear_matrix(angle):
    """Return the reference's centered inverse map for a shear `angle`.

    scikit-image before 0.21 built AffineTransform(shear=angle) as
    [[1, -sin(angle)], [0, cos(angle)]]. scikit-image 0.21 redefined
    `shear` with tan(angle), so the matrix is written out here.
    """
    return centered_affine([[1.0, -math.sin(angle)], [0.0, math.cos(angle)]])


def rotation_matrix(angle):
    """Return the reference's centered inverse map for a rotation."""
    cos, sin = math.cos(angle), math.sin(angle)
    return centered_affine([[cos, -sin], [sin, cos]])


def warp_batch(intensity, matrix):
    """Warp float images (N, 28, 28) with an inverse map in (x, y) order.

    This matches skimage.transform.warp(image, matrix, order=1,
    mode="constant", cval=0) on each image. SciPy's "grid-constant" mode,
    unlike its "constant" mode, interpolates between edge pixels and the
    zero outside, as scikit-image does. skimage's `warp` also clips its
    output to the input's value range. That clip is skipped here. It
    changes nothing for images that contain a 0 pixel, as all 70,000 MNIST
    images do, because bilinear weights are convex.
    """
    # Reorder the map to (batch, row, column) and leave the batch axis alone.
    row_column_matrix = np.eye(3)
    row_column_matrix[1, 1:] = matrix[1, 1], matrix[1, 0]
    row_column_matrix[2, 1:] = matrix[0, 1], matrix[0, 0]
    offset = (0.0, matrix[1, 2], matrix[0, 2])
    return ndimage.affine_transform(
        intensity,
        row_column_matrix,
        offset=offset,
        order=1,
        mode="grid-constant",
        cval=0.0,
    )


def _warp_groups(images, matrices, groups):
    """Warp image n with matrices[groups[n]] and scale to [0, 255]."""
    intensity = images / 255.0
    warped = np.empty_like(intensity)
    for index, matrix in enumerate(matrices):
        selected = groups == index
        if np.any(selected):
            warped[selected] = warp_batch(intensity[selected], matrix)
    return (np.clip(warped, 0, 1) * 255).astype(np.float32)


def shear(images, rng):
    """Shear by 0.4 rad about the center, in a random direction per image."""
    matrices = [shear_matrix(-SHEAR_ANGLE), shear_matrix(SHEAR_ANGLE)]
    directions = rng.integers(0, 2, size=len(images))
    return _warp_groups(images, matrices, directions)


def rotate(images, rng):
    """Rotate by 0.4 rad about the center, in a random direction."""
    matrices = [
        rotation_matrix(-ROTATION_ANGLE),
        rotation_matrix(ROTATION_ANGLE),
    ]
    directions = rng.integers(0, 2, size=len(images))
    return _warp_groups(images, matrices, directions)


def scale(images, rng):
    """Shrink the digit to 0.7 of its size about the center."""
    del rng
    matrix = centered_affine([[SCALE_FACTOR, 0.0], [0.0, SCALE_FACTOR]])
    groups = np.zeros(len(images), dtype=np.int64)
    return _warp_groups(images, [matrix], groups)


def translate(images, rng):
    """Shift by 3 pixels along each axis, with random signs per image.

    The inverse map adds (dx, dy) to output coordinates, so the content
    moves by (-dx, -dy). Pixels shifted in from outside are 0.
    """
    shifts = [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    matrices = []
    for sign_x, sign_y in shifts:
        matrix = np.eye(3)
        matrix[:2, 2] = (
            sign_x * TRANSLATION_PIXELS,
            sign_y * TRANSLATION_PIXELS,
        )
        matrices.append(matrix)
    signs = rng.integers(0, 2, size=(len(images), 2))
    return _warp_groups(images, matrices, 2 * signs[:, 0] + signs[:, 1])
