"""NumPy versions of the OpenCV operations that the CIFAR-10-C reference
calls for elastic transform and spatter: affine warp, box blur, filter2D
and histogram equalisation.

They follow OpenCV 3.4 / 4.x (modules/imgproc: imgwarp.cpp, box_filter,
filter2D, histogram.cpp), integer arithmetic and rounding included, on
batches of shape (N, H, W) or (N, H, W, C). Canny edges and the distance
transform are in `_cifar10_c_edges`.
OpenCV's default border, BORDER_REFLECT_101 (d c b | a b c d | c b a), is
NumPy's pad mode "reflect".
"""

import numpy as np

# cv2.warpAffine works in fixed point: the matrix with 10 fractional bits,
# the source coordinate quantised to 1/32 pixel.
_AFFINE_SCALE = 1024
_INTER_TAB_SIZE = 32


def reflect101(index, size):
    """Map indices into 0..size-1 with BORDER_REFLECT_101."""
    period = 2 * size - 2
    index = np.abs(index) % period
    return np.where(index >= size, period - index, index)


def affine_from_points(source, target):
    """Solve for the 2x3 affine matrices that map 3 points onto 3 points.

    Args:
        source: float array of shape (3, 2), points as (x, y).
        target: float array of shape (N, 3, 2).

    Returns:
        float64 array of shape (N, 2, 3), like cv2.getAffineTransform.
    """
    design = np.column_stack([source.astype(np.float64), np.ones(3)])
    transposed = np.linalg.solve(design, target.astype(np.float64))
    return np.swapaxes(transposed, 1, 2)


def warp_affine(images, matrices):
    """Warp float32 images like cv2.warpAffine(INTER_LINEAR, REFLECT_101).

    Like OpenCV, this inverts each matrix, maps every output pixel to a
    source coordinate rounded to 1/32 pixel, and interpolates bilinearly
    with float32 weights from a 32x32 table.

    Args:
        images: float32 array of shape (N, H, W, C).
        matrices: array of shape (N, 2, 3) mapping source (x, y) to
            output (x, y), x being the column.

    Returns:
        float32 array of the same shape as `images`.
    """
    count, height, width = images.shape[:3]
    m = matrices.astype(np.float64)
    det = m[:, 0, 0] * m[:, 1, 1] - m[:, 0, 1] * m[:, 1, 0]
    inv_det = np.divide(1.0, det, out=np.zeros_like(det), where=det != 0)
    a11 = m[:, 1, 1] * inv_det
    a12 = m[:, 0, 1] * -inv_det
    a21 = m[:, 1, 0] * -inv_det
    a22 = m[:, 0, 0] * inv_det
    b1 = -a11 * m[:, 0, 2] - a12 * m[:, 1, 2]
    b2 = -a21 * m[:, 0, 2] - a22 * m[:, 1, 2]

    cols = np.arange(width, dtype=np.float64)[np.newaxis, :]
    rows = np.arange(height, dtype=np.float64)[np.newaxis, :]
    half_step = _AFFINE_SCALE // _INTER_TAB_SIZE // 2
    x_col = np.rint(a11[:, None] * cols * _AFFINE_SCALE).astype(np.int64)
    y_col = np.rint(a21[:, None] * cols * _AFFINE_SCALE).astype(np.int64)
    x_row = np.rint((a12[:, None] * rows + b1[:, None]) * _AFFINE_SCALE)
    y_row = np.rint((a22[:, None] * rows + b2[:, None]) * _AFFINE_SCALE)
    x_row = x_row.astype(np.int64) + half_step
    y_row = y_row.astype(np.int64) + half_step
    # Source coordinates in 1/32 pixel, shape (N, H, W).
    x_fixed = (x_row[:, :, None] + x_col[:, None, :]) >> 5
    y_fixed = (y_row[:, :, None] + y_col[:, None, :]) >> 5

    x0 = x_fixed >> 5
    y0 = y_fixed >> 5
    step = np.float32(1.0 / _INTER_TAB_SIZE)
    fx = (x_fixed & (_INTER_TAB_SIZE - 1)).astype(np.float32) * step
    fy = (y_fixed & (_INTER_TAB_SIZE - 1)).astype(np.float32) * step
    wx = (np.float32(1) - fx, fx)
    wy = (np.float32(1) - fy, fy)

    batch_index = np.arange(count)[:, None, None]
    result = np.zeros(images.shape, dtype=np.float32)
    for dy in (0, 1):
        source_rows = reflect101(y0 + dy, height)
        for dx in (0, 1):
            source_cols = reflect101(x0 + dx, width)
            weight = (wy[dy] * wx[dx])[..., np.newaxis]
            result += images[batch_index, source_rows, source_cols] * weight
    return result


def _box_sum(images):
    """Sum each 3x3 neighbourhood with BORDER_REFLECT_101."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)), "reflect")
    rows = padded[:, :-2] + padded[:, 1:-1] + padded[:, 2:]
    return rows[:, :, :-2] + rows[:, :, 1:-1] + rows[:, :, 2:]


def box_blur_float(images):
    """cv2.blur(images, (3, 3)) for float32: float64 sums, times 1/9."""
    return (_box_sum(images.astype(np.float64)) * (1.0 / 9)).astype(np.float32)


def box_blur_uint8(images):
    """cv2.blur(images, (3, 3)) for uint8: the mean rounded to nearest."""
    total = _box_sum(images.astype(np.int64))
    return ((total + 4) // 9).astype(np.uint8)


def filter2d_uint8(images, kernel):
    """cv2.filter2D(images, CV_8U, kernel) for a 3x3 integer kernel.

    OpenCV's filter2D correlates (it does not flip the kernel) and
    saturates the integer result to 0..255.
    """
    height, width = images.shape[1:]
    padded = np.pad(
        images.astype(np.int64), ((0, 0), (1, 1), (1, 1)), "reflect"
    )
    total = np.zeros(images.shape, dtype=np.int64)
    for i in range(3):
        for j in range(3):
            total += kernel[i][j] * padded[:, i : i + height, j : j + width]
    return np.clip(total, 0, 255).astype(np.uint8)


def equalize_hist(images):
    """cv2.equalizeHist for each uint8 image of shape (N, H, W).

    The lowest grey level present maps to 0 and level i to the number of
    pixels in (lowest, i] times 255 / (total - count of lowest), computed
    in float32 and rounded half to even. A constant image is unchanged.
    """
    count = len(images)
    flat = images.reshape(count, -1).astype(np.int64)
    total = flat.shape[1]
    shifted = flat + 256 * np.arange(count)[:, np.newaxis]
    hist = np.bincount(shifted.ravel(), minlength=256 * count)
    hist = hist.reshape(count, 256)
    lowest = np.argmax(hist > 0, axis=1)
    lowest_count = hist[np.arange(count), lowest]
    constant = lowest_count == total
    rest = np.where(constant, 1, total - lowest_count).astype(np.float32)
    scale = np.float32(255) / rest
    above = np.cumsum(hist, axis=1) - lowest_count[:, np.newaxis]
    lut = np.rint(above.astype(np.float32) * scale[:, np.newaxis])
    lut = np.clip(lut, 0, 255).astype(np.uint8)
    lut[constant] = np.arange(256, dtype=np.uint8)
    return np.take_along_axis(lut, flat, axis=1).reshape(images.shape)
