"""Dotted line and zigzag corruptions of MNIST-C.

Each function takes uint8 images of shape (N, 28, 28) and a
`numpy.random.Generator`, and returns float32 pixel values in [0, 255]
before the final rounding in `applications.data.mnist_c.corrupt`.

The reference is `corruptions.py` in github.com/google-research/mnist-c.
"""

import numpy as np

IMAGE_SIZE = 28
# A pixel at vertical distance d from a line gets intensity
# log(1 - d / 2.3) + 1, clipped to [0, 1]. It is 0 from d = 1.45 on.
LINE_FALLOFF = 2.3
# The reference's dotted line alternates 2-column gaps and 2-column dashes,
# starting with a gap at column 0.
DASH_WIDTH = 2
# Zigzag: half-period along the line and amplitude across it, in pixels,
# and the columns of its start and end points.
ZIGZAG_HALF_PERIOD = 2.0
ZIGZAG_AMPLITUDE = 2.0
ZIGZAG_FIRST_COLUMN = 2
ZIGZAG_LAST_COLUMN = 25


def line_intensity(c0, r0, c1, r1):
    """Return the line profile from (c0, r0) to (c1, r1) for each image.

    The endpoints are (column, row) pairs, each an array of shape (N,) or a
    scalar. Returns an (N, 28, 28) array in [0, 1]. Like the reference,
    the profile uses the vertical distance to the infinite line, and
    zeroes the columns left of floor(c0) and from ceil(c1) on. For the
    endpoints used here, floor(c0) and ceil(c1) always lie in 0..28. A
    line with c0 == c1 draws nothing.

    The slope uses true division, as the reference does under Python 3.
    Its notebook imports importlib.reload, which Python 2 lacks. Python 2
    would have floored the slope of integer endpoints.
    """
    c0, r0, c1, r1 = (
        np.asarray(value, dtype=np.float64).reshape(-1, 1, 1)
        for value in (c0, r0, c1, r1)
    )
    columns = np.arange(IMAGE_SIZE, dtype=np.float64)[None, None, :]
    rows = np.arange(IMAGE_SIZE, dtype=np.float64)[None, :, None]
    # A vertical line (c0 == c1) gives an infinite slope and NaN rows here,
    # which the final np.where replaces with 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (r1 - r0) / (c1 - c0)
        line_rows = slope * (columns - c0) + r0
    # The bound keeps log() finite at the largest distance.
    distance = np.clip(np.abs(rows - line_rows), 0, LINE_FALLOFF - 1e-10)
    intensity = np.clip(np.log(1 - distance / LINE_FALLOFF) + 1, 0, 1)
    outside = (columns < np.floor(c0)) | (columns >= np.ceil(c1))
    empty = c1 == c0
    return np.where(outside | empty, 0.0, intensity)


def dotted_line(images, rng):
    """Add a dashed line from column 0 to column 27 between random rows.

    Both end rows are drawn from 0..26. Dashes cover the column pairs 2-3,
    6-7, ..., 26-27, and column 27 stays empty because the line stops
    before ceil(27).
    """
    count = len(images)
    end_rows = rng.integers(0, IMAGE_SIZE - 1, size=(count, 2))
    line = line_intensity(0, end_rows[:, 0], IMAGE_SIZE - 1, end_rows[:, 1])
    gaps = (np.arange(IMAGE_SIZE) // DASH_WIDTH) % 2 == 0
    line[:, :, gaps] = 0
    dotted = np.clip(images / 255.0 + line, 0, 1) * 255
    return dotted.astype(np.float32)


def _zigzag_vertices(length):
    """Return the zigzag's vertices (columns, rows) before rotation.

    The line runs along the column axis from 0 to `length`, an array of
    shape (N,). Vertex i > 0 sits at column (2 i - 1) h and row
    (-1)^(i - 1) a, for half-period h and amplitude a. The last vertex at
    `length` reproduces the reference's row formula r / (2 (length - c)),
    with r the previous vertex row and c the last full-period column.
    """
    half_period = ZIGZAG_HALF_PERIOD
    peak_counts = (length - half_period) // (2 * half_period) + 1
    # For the column span 23 and slopes of at most 5/23 used here, `length`
    # lies in [23, 23.6], so every image gets the same 6 peaks.
    peaks = int(peak_counts[0])
    if np.any(peak_counts != peaks):
        raise AssertionError("Zigzag peak counts differ between images.")

    index = np.arange(peaks)
    peak_columns = (2 * index + 1) * half_period
    peak_rows = (-1.0) ** index * ZIGZAG_AMPLITUDE
    full_periods = 2 * half_period * (length // (2 * half_period))
    with np.errstate(divide="ignore"):
        end_row = peak_rows[-1] / (2 * (length - full_periods))
    # The reference adds no end vertex when length == full_periods.
    # Repeating the last peak then draws an empty segment instead.
    has_end = length != full_periods
    end_column = np.where(has_end, length, peak_columns[-1])
    end_row = np.where(has_end, end_row, peak_rows[-1])

    count = len(length)
    columns = np.column_stack(
        [np.zeros(count), np.tile(peak_columns, (count, 1)), end_column]
    )
    rows = np.column_stack(
        [np.zeros(count), np.tile(peak_rows, (count, 1)), end_row]
    )
    return columns, rows


def zigzag(images, rng):
    """Add a zigzag line from column 2 to column 25 at a random slope.

    The start row is drawn from 0..26, and the end row differs from it by
    -5..4 rows. The zigzag runs along the straight line between them.
    """
    count = len(images)
    start_rows = rng.integers(0, IMAGE_SIZE - 1, size=count)
    end_rows = start_rows + rng.integers(-5, 5, size=count)
    span = ZIGZAG_LAST_COLUMN - ZIGZAG_FIRST_COLUMN
    angle = np.arctan((end_rows - start_rows) / span)
    columns, rows = _zigzag_vertices(span / np.cos(angle))

    cos = np.cos(angle)[:, None]
    sin = np.sin(angle)[:, None]
    rotated_columns = columns * cos - rows * sin + ZIGZAG_FIRST_COLUMN
    rotated_rows = columns * sin + rows * cos + start_rows[:, None]

    drawn = images / 255.0
    for segment in range(columns.shape[1] - 1):
        line = line_intensity(
            rotated_columns[:, segment],
            rotated_rows[:, segment],
            rotated_columns[:, segment + 1],
            rotated_rows[:, segment + 1],
        )
        drawn = np.clip(drawn + line, 0, 1)
    return (drawn * 255).astype(np.float32)
