"""Frost corruption of CIFAR-10-C: blend a crop of a frost photograph.

The six texture files come with the reference generator (hendrycks/
robustness, `ImageNet-C/create_c/`). They are read once per folder and
kept in memory, already scaled by 0.2.
"""

import functools
import os
import pathlib

import numpy as np
from PIL import Image

from applications.data._cifar10_c_common import IMAGE_SIZE
from applications.data._cifar10_c_common import to_uint8

FROST_FILES = (
    "frost1.png",
    "frost2.png",
    "frost3.png",
    "frost4.jpg",
    "frost5.jpg",
    "frost6.jpg",
)
# The reference draws the texture with np.random.randint(5), so only the
# first five files are ever blended; frost6.jpg is required but unused.
USED_FROST_FILES = FROST_FILES[:5]
# (weight of the image, weight of the frost texture), per severity.
FROST_PARAMS = ((1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45))
# The reference shrinks each texture with cv2.resize(fx=0.2, fy=0.2) and
# bilinear interpolation. Output pixel i then maps to source coordinate
# (i + 0.5) * 5 - 0.5 = 5 * i + 2, an integer, so bilinear interpolation
# reduces to taking every fifth pixel starting at index 2.
_SCALE = 0.2
_STRIDE = 5
_OFFSET = 2


def _shrink(texture):
    """Scale an (H, W, 3) texture by 0.2 the way cv2.resize does."""
    height, width = texture.shape[:2]
    # cv2.resize rounds the output size to the nearest integer.
    new_height = int(np.rint(height * _SCALE))
    new_width = int(np.rint(width * _SCALE))
    rows = np.minimum(_OFFSET + _STRIDE * np.arange(new_height), height - 1)
    cols = np.minimum(_OFFSET + _STRIDE * np.arange(new_width), width - 1)
    return texture[rows][:, cols]


@functools.lru_cache(maxsize=4)
def _load_textures(folder, file_stamps):
    """Read and shrink the used textures of `folder`.

    `file_stamps` (size and modification time of each file) is part of the
    cache key, so replacing a file in the folder reloads it.
    """
    del file_stamps
    textures = []
    for name in USED_FROST_FILES:
        path = pathlib.Path(folder) / name
        with Image.open(path) as image:
            # cv2.imread(IMREAD_COLOR) drops an alpha channel the same way.
            texture = np.asarray(image.convert("RGB"))
        texture = _shrink(texture)
        if min(texture.shape[:2]) <= IMAGE_SIZE:
            raise ValueError(
                f"Frost texture {path} is too small: after scaling by "
                f"{_SCALE} it is {texture.shape[1]}x{texture.shape[0]} "
                f"pixels, but a random {IMAGE_SIZE}x{IMAGE_SIZE} crop needs "
                f"more than {IMAGE_SIZE} pixels on each side. Use the "
                "original textures of hendrycks/robustness."
            )
        textures.append(texture)
    return tuple(textures)


def load_frost_textures(frost_dir):
    """Return the five used frost textures of `frost_dir`, scaled by 0.2.

    Args:
        frost_dir: folder with frost1.png, frost2.png, frost3.png,
            frost4.jpg, frost5.jpg and frost6.jpg, or None.

    Returns:
        Tuple of five uint8 arrays of shape (H, W, 3), in RGB order.

    Raises:
        FileNotFoundError: if `frost_dir` is None or misses any of the six
            files; the message names the folder and the missing files.
    """
    if frost_dir is None:
        raise FileNotFoundError(
            "The frost corruption needs the folder of its texture files, but "
            "frost_dir=None. Pass frost_dir=<folder with "
            f"{', '.join(FROST_FILES)}>."
        )
    folder = pathlib.Path(os.fspath(frost_dir)).resolve()
    missing = [name for name in FROST_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"Frost texture files not found in frost_dir={folder}: missing "
            f"{', '.join(missing)}. The folder must hold "
            f"{', '.join(FROST_FILES)} from hendrycks/robustness."
        )
    stamps = []
    for name in USED_FROST_FILES:
        status = (folder / name).stat()
        stamps.append((status.st_size, status.st_mtime_ns))
    return _load_textures(str(folder), tuple(stamps))


def frost(images, severity, rng, frost_dir=None):
    """Blend a random 32x32 crop of a frost texture into each image.

    The result is image_weight * x + frost_weight * crop on the 0..255
    scale, clipped and truncated to uint8.
    """
    image_weight, frost_weight = FROST_PARAMS[severity - 1]
    textures = load_frost_textures(frost_dir)
    count = len(images)
    if count == 0:
        return images.copy()
    heights = np.array([texture.shape[0] for texture in textures])
    widths = np.array([texture.shape[1] for texture in textures])
    choices = rng.integers(len(textures), size=count)
    # Upper bounds are exclusive, as for np.random.randint in the reference.
    top = rng.integers(0, heights[choices] - IMAGE_SIZE)
    left = rng.integers(0, widths[choices] - IMAGE_SIZE)
    crops = np.stack(
        [
            textures[choice][row : row + IMAGE_SIZE, col : col + IMAGE_SIZE]
            for choice, row, col in zip(choices, top, left, strict=True)
        ]
    )
    blended = image_weight * images.astype(np.float64) + frost_weight * crops
    return to_uint8(np.clip(blended, 0, 255))
