"""Digital corruptions of CIFAR-10-C: brightness, contrast, saturation,
pixelation and JPEG compression.

Each function takes uint8 images of shape (N, 32, 32, 3), a severity in
1..5 and a `numpy.random.Generator` (unused: these corruptions are
deterministic), and returns uint8 images of the same shape.
"""

import io

import numpy as np
from PIL import Image
from skimage import color

from applications.data._cifar10_c_common import IMAGE_SIZE
from applications.data._cifar10_c_common import to_uint8

# Amount added to the HSV value channel ([0, 1] scale), per severity.
BRIGHTNESS_SHIFTS = (0.05, 0.1, 0.15, 0.2, 0.3)
# Factor applied to each channel's distance from its mean, per severity.
CONTRAST_FACTORS = (0.75, 0.5, 0.4, 0.3, 0.15)
# (factor, offset) applied to the HSV saturation channel, per severity.
SATURATE_PARAMS = ((0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2))
# Relative side of the downsampled image, per severity.
PIXELATE_SCALES = (0.95, 0.9, 0.85, 0.75, 0.65)
# Pillow JPEG quality (1..95), per severity.
JPEG_QUALITIES = (80, 65, 58, 50, 40)


def brightness(images, severity, rng):
    """Add a constant to the HSV value channel (clipped to [0, 1])."""
    shift = BRIGHTNESS_SHIFTS[severity - 1]
    hsv = color.rgb2hsv(images / 255.0)
    hsv[..., 2] = np.clip(hsv[..., 2] + shift, 0, 1)
    return to_uint8(np.clip(color.hsv2rgb(hsv), 0, 1) * 255)


def contrast(images, severity, rng):
    """Scale each channel's deviation from its per-image mean."""
    factor = CONTRAST_FACTORS[severity - 1]
    x = images / 255.0
    means = x.mean(axis=(1, 2), keepdims=True)
    return to_uint8(np.clip((x - means) * factor + means, 0, 1) * 255)


def saturate(images, severity, rng):
    """Scale and shift the HSV saturation channel (clipped to [0, 1]).

    Severities 1 and 2 remove colour (factors 0.3 and 0.1), severities 3
    to 5 exaggerate it, so the change is not monotone in the severity.
    """
    factor, offset = SATURATE_PARAMS[severity - 1]
    hsv = color.rgb2hsv(images / 255.0)
    hsv[..., 1] = np.clip(hsv[..., 1] * factor + offset, 0, 1)
    return to_uint8(np.clip(color.hsv2rgb(hsv), 0, 1) * 255)


def pixelate(images, severity, rng):
    """Shrink and re-enlarge each image with Pillow's box filter.

    The intermediate side is int(32 * scale): 30, 28, 27, 24 and 20
    pixels for severities 1 to 5.
    """
    side = int(IMAGE_SIZE * PIXELATE_SCALES[severity - 1])
    box = Image.Resampling.BOX
    result = np.empty_like(images)
    for index, image in enumerate(images):
        small = Image.fromarray(image).resize((side, side), box)
        result[index] = np.asarray(small.resize((IMAGE_SIZE, IMAGE_SIZE), box))
    return result


def jpeg_compression(images, severity, rng):
    """Encode and decode each image as JPEG with Pillow's defaults.

    Pillow's defaults are 4:2:0 chroma subsampling and no optimisation, as
    in the reference's `image.save(buffer, "JPEG", quality=q)`.
    """
    quality = JPEG_QUALITIES[severity - 1]
    result = np.empty_like(images)
    for index, image in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "JPEG", quality=quality)
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            result[index] = np.asarray(decoded.convert("RGB"))
    return result
