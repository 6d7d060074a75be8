"""Tests for the CIFAR-10-C corruptions in applications.data.cifar10_c."""

import colorsys
import io
import math

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage
from scipy import sparse
from scipy.sparse import csgraph

from applications.data import _cifar10_c_blur as blur
from applications.data import _cifar10_c_edges as edges
from applications.data import _cifar10_c_elastic as elastic
from applications.data import _cifar10_c_frost as frost
from applications.data import _cifar10_c_imgproc as imgproc
from applications.data import _cifar10_c_motion as motion
from applications.data import _cifar10_c_spatter as spatter
from applications.data import _cifar10_c_weather as weather
from applications.data import cifar10_c
from tests.applications import synthetic_data

ALL_NAMES = cifar10_c.CORRUPTIONS + cifar10_c.EXTRA_CORRUPTIONS
# Corruptions that draw no random numbers.
DETERMINISTIC = {
    "defocus_blur",
    "zoom_blur",
    "brightness",
    "contrast",
    "pixelate",
    "jpeg_compression",
    "gaussian_blur",
    "saturate",
}
FAKE_FROST_COLOR = (200, 180, 160)


def make_images(count=8, seed=1234):
    """Smooth random colour fields with one flat rectangle each, 30..220."""
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 1, size=(count, 32, 32, 3))
    smooth = ndimage.gaussian_filter(noise, sigma=(0, 3, 3, 0))
    low = smooth.min(axis=(1, 2, 3), keepdims=True)
    high = smooth.max(axis=(1, 2, 3), keepdims=True)
    images = 30 + 190 * (smooth - low) / (high - low)
    for image in images:
        row, col = rng.integers(4, 20, size=2)
        image[row : row + 8, col : col + 10] = rng.uniform(0, 255, size=3)
    return images.astype(np.uint8)


def write_frost_folder(folder, flat=True, skip=()):
    """Write six 200x180 fake textures into `folder`.

    Flat textures have the colour FAKE_FROST_COLOR, except frost6.jpg,
    which is blue. Otherwise each pixel gets a colour from its position,
    so that crops at different places differ. The files contain PNG data
    whatever their suffix, because Pillow reads the format from the
    content, so the pixel values are exact.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rows, cols = np.mgrid[0:180, 0:200]
    gradient = np.stack([rows * 7 % 256, cols * 5 % 256, (rows + cols) % 256])
    for name in frost.FROST_FILES:
        if name in skip:
            continue
        if not flat:
            texture = np.moveaxis(gradient, 0, -1).astype(np.uint8)
        else:
            texture = np.empty((180, 200, 3), dtype=np.uint8)
            is_unused = name == "frost6.jpg"
            texture[:] = (0, 0, 255) if is_unused else FAKE_FROST_COLOR
        buffer = io.BytesIO()
        Image.fromarray(texture).save(buffer, "PNG")
        (folder / name).write_bytes(buffer.getvalue())
    return folder


@pytest.fixture(scope="module")
def fake_frost_dir(tmp_path_factory):
    """Folder of position-dependent fake textures."""
    return write_frost_folder(tmp_path_factory.mktemp("frost"), flat=False)


@pytest.fixture(scope="module")
def flat_frost_dir(tmp_path_factory):
    """Folder of flat fake textures, for results computable by hand."""
    return write_frost_folder(tmp_path_factory.mktemp("flat_frost"))


@pytest.fixture
def images():
    return make_images()


def mid_grey(count=16):
    return np.full((count, 32, 32, 3), 128, dtype=np.uint8)


def mean_abs_change(name, severity, images, frost_dir, seeds=(0, 1, 2, 3)):
    """Mean absolute difference from the clean images, over several seeds."""
    changes = []
    for seed in seeds:
        out = cifar10_c.corrupt(
            images,
            name,
            severity,
            np.random.default_rng(seed),
            frost_dir=frost_dir,
        )
        changes.append(np.abs(out.astype(np.float64) - images).mean())
    return float(np.mean(changes))


# ---------------------------------------------------------------- interface


def test_corruption_names_match_interface():
    assert cifar10_c.CORRUPTIONS == synthetic_data.CIFAR_CORRUPTIONS
    assert cifar10_c.EXTRA_CORRUPTIONS == (
        "speckle_noise",
        "gaussian_blur",
        "spatter",
        "saturate",
    )
    assert cifar10_c.SEVERITIES == (1, 2, 3, 4, 5)


@pytest.mark.parametrize("severity", cifar10_c.SEVERITIES)
@pytest.mark.parametrize("name", ALL_NAMES)
def test_corrupt_keeps_shape_and_dtype(name, severity, images, fake_frost_dir):
    clean = images.copy()
    out = cifar10_c.corrupt(
        images, name, severity, np.random.default_rng(0), fake_frost_dir
    )
    assert out.shape == images.shape
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(images, clean)  # input left untouched


@pytest.mark.parametrize("severity", cifar10_c.SEVERITIES)
@pytest.mark.parametrize("name", ALL_NAMES)
def test_corrupt_is_deterministic(name, severity, images, fake_frost_dir):
    def run(seed):
        rng = np.random.default_rng(seed)
        return cifar10_c.corrupt(images, name, severity, rng, fake_frost_dir)

    np.testing.assert_array_equal(run(7), run(7))
    if name in DETERMINISTIC:
        np.testing.assert_array_equal(run(7), run(8))
    else:
        assert not np.array_equal(run(7), run(8))


@pytest.mark.parametrize("name", ALL_NAMES)
def test_corrupt_accepts_empty_batch(name, fake_frost_dir):
    empty = np.zeros((0, 32, 32, 3), dtype=np.uint8)
    out = cifar10_c.corrupt(
        empty, name, 3, np.random.default_rng(0), fake_frost_dir
    )
    assert out.shape == (0, 32, 32, 3)
    assert out.dtype == np.uint8


# Corruptions that must map a white image to white and a black one to black:
# any wrap-around in the cast to uint8 would show up here.
WHITE_STAYS_WHITE = (
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
    "gaussian_blur",
)
BLACK_STAYS_BLACK = (
    "shot_noise",
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "fog",
    "contrast",
    "elastic_transform",
    "pixelate",
    "speckle_noise",
    "gaussian_blur",
    "saturate",
)


@pytest.mark.parametrize("severity", cifar10_c.SEVERITIES)
def test_extreme_images_do_not_wrap(severity):
    rng = np.random.default_rng(0)
    white = np.full((4, 32, 32, 3), 255, dtype=np.uint8)
    black = np.zeros((4, 32, 32, 3), dtype=np.uint8)
    for name in WHITE_STAYS_WHITE:
        out = cifar10_c.corrupt(white, name, severity, rng)
        assert out.min() == 255, name
    for name in BLACK_STAYS_BLACK:
        out = cifar10_c.corrupt(black, name, severity, rng)
        assert out.max() == 0, name


# ---------------------------------------------------------- argument checks


def test_unknown_name_lists_valid_names(images):
    with pytest.raises(ValueError, match="name='gaussian'") as error:
        cifar10_c.corrupt(images, "gaussian", 1, np.random.default_rng(0))
    for name in ALL_NAMES:
        assert name in str(error.value)


@pytest.mark.parametrize("severity", [0, 6, -1, 2.5, "3", True, None])
def test_invalid_severity_is_rejected(severity, images):
    with pytest.raises(ValueError, match="from 1 to 5") as error:
        cifar10_c.corrupt(images, "contrast", severity, np.random.default_rng())
    assert f"severity={severity!r}" in str(error.value)


def test_numpy_integer_severity_is_accepted(images):
    rng = np.random.default_rng(0)
    out = cifar10_c.corrupt(images, "contrast", np.int64(2), rng)
    expected = cifar10_c.corrupt(images, "contrast", 2, rng)
    np.testing.assert_array_equal(out, expected)


def test_float_images_are_rejected(images):
    with pytest.raises(ValueError, match="images.dtype=float32") as error:
        cifar10_c.corrupt(
            images.astype(np.float32) / 255, "fog", 1, np.random.default_rng()
        )
    assert "astype(np.uint8)" in str(error.value)


@pytest.mark.parametrize(
    "shape", [(32, 32, 3), (2, 28, 28, 1), (2, 3, 32, 32), (2, 32, 32)]
)
def test_wrong_shape_is_rejected(shape):
    bad = np.zeros(shape, dtype=np.uint8)
    with pytest.raises(ValueError, match=r"\(N, 32, 32, 3\)") as error:
        cifar10_c.corrupt(bad, "fog", 1, np.random.default_rng())
    assert f"images.shape={shape}" in str(error.value)


def test_list_images_are_rejected():
    with pytest.raises(ValueError, match="type list"):
        cifar10_c.corrupt([[0]], "fog", 1, np.random.default_rng())


@pytest.mark.parametrize("rng", [0, np.random.RandomState(0), None])
def test_legacy_or_missing_rng_is_rejected(rng, images):
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        cifar10_c.corrupt(images, "fog", 1, rng)


# ------------------------------------------------- growth with the severity


def _strictly_increasing(values):
    return all(a < b for a, b in zip(values[:-1], values[1:], strict=True))


@pytest.mark.parametrize(
    "name",
    [
        "gaussian_noise",
        "shot_noise",
        "impulse_noise",
        "defocus_blur",
        "zoom_blur",
        "snow",
        "fog",
        "brightness",
        "contrast",
        "pixelate",
        "jpeg_compression",
        "speckle_noise",
        "gaussian_blur",
    ],
)
def test_change_grows_with_severity(name, images):
    changes = [
        mean_abs_change(name, severity, images, None)
        for severity in cifar10_c.SEVERITIES
    ]
    assert _strictly_increasing(changes), changes


def test_glass_blur_second_iteration_dominates(images):
    # Parameters (sigma, iterations): (0.05, 1), (0.25, 1), (0.4, 1),
    # (0.25, 2), (0.4, 2). The pixel shuffle moves most of the values, so
    # the number of iterations sets the change. Within a group a larger
    # sigma smooths the shuffled image and can lower the change. On 2,000
    # real test images: 11.16, 11.29, 11.08, 18.12, 17.39.
    changes = [
        mean_abs_change("glass_blur", severity, images, None)
        for severity in cifar10_c.SEVERITIES
    ]
    assert max(changes[:3]) < min(changes[3:]), changes


def test_motion_blur_severities_three_and_four_coincide(images):
    # (radius, sigma) = (6, 2) and (8, 2): radius 8 adds taps 13..16, whose
    # weights exp(-i^2 / 8) are below 2e-8 of the total, so the rounded
    # images are the same for the same angles.
    three = cifar10_c.corrupt(
        images, "motion_blur", 3, np.random.default_rng(5)
    )
    four = cifar10_c.corrupt(images, "motion_blur", 4, np.random.default_rng(5))
    np.testing.assert_array_equal(three, four)
    changes = [
        mean_abs_change("motion_blur", severity, images, None)
        for severity in (1, 2, 3, 5)
    ]
    assert _strictly_increasing(changes), changes


def test_frost_change_peaks_at_severity_three(images, flat_frost_dir):
    # (image weight, frost weight): (1, 0.2), (1, 0.3), (0.9, 0.4),
    # (0.85, 0.4), (0.75, 0.45). From severity 3 on the image is also
    # darkened, which offsets part of the added frost (on 2,000 real test
    # images with the real textures: 30.4, 44.8, 49.3, 44.7, 43.1).
    changes = [
        mean_abs_change("frost", severity, images, flat_frost_dir)
        for severity in cifar10_c.SEVERITIES
    ]
    assert _strictly_increasing(changes[:3]), changes
    assert changes[3] < changes[2], changes
    assert changes[4] < changes[2], changes


def test_elastic_change_shrinks_with_severity(images):
    # The random affine shift of the control points shrinks from 2.56 to
    # 0.96 pixels while the smooth field stays below about 0.5 pixel. So
    # the change falls as the severity rises. On 2,000 real test images:
    # 21.8, 19.9, 17.9, 16.5, 13.6.
    changes = [
        mean_abs_change("elastic_transform", severity, images, None)
        for severity in cifar10_c.SEVERITIES
    ]
    assert _strictly_increasing(changes[::-1]), changes


def test_spatter_grows_within_water_and_mud(images):
    # Severities 1-3 add water, 4-5 mud; the two are not comparable (on
    # 2,000 real test images: 1.03, 2.77, 6.78, 3.09, 5.15).
    changes = [
        mean_abs_change("spatter", severity, images, None)
        for severity in cifar10_c.SEVERITIES
    ]
    assert _strictly_increasing(changes[:3]), changes
    assert changes[3] < changes[4], changes


def test_saturate_dips_at_severity_three(images):
    # (factor, offset) on the saturation: (0.3, 0) and (0.1, 0) remove
    # colour, while (1.5, 0), (2, 0.1) and (2.5, 0.2) add it. The 1.5x
    # boost changes the image least. On 2,000 real test images: 11.7,
    # 15.1, 8.1, 20.3, 29.5.
    changes = [
        mean_abs_change("saturate", severity, images, None)
        for severity in cifar10_c.SEVERITIES
    ]
    assert changes[0] < changes[1], changes
    assert _strictly_increasing(changes[2:]), changes
    assert changes[2] < changes[0], changes


# ---------------------------------------------------------------- noise


@pytest.mark.parametrize("severity", cifar10_c.SEVERITIES)
def test_gaussian_noise_statistics(severity):
    sigma = (0.04, 0.06, 0.08, 0.09, 0.10)[severity - 1]
    clean = mid_grey()
    out = cifar10_c.corrupt(
        clean, "gaussian_noise", severity, np.random.default_rng(1)
    )
    residual = (out.astype(np.float64) - 128) / 255
    # Truncation to uint8 lowers values by half a grey level on average.
    standard_error = sigma / math.sqrt(residual.size)
    assert abs(residual.mean() + 0.5 / 255) < 5 * standard_error
    expected_std = math.sqrt(sigma**2 + 1 / 12 / 255**2)
    assert residual.std() == pytest.approx(expected_std, rel=0.02)


@pytest.mark.parametrize("severity", cifar10_c.SEVERITIES)
def test_speckle_noise_statistics(severity):
    sigma = (0.06, 0.10, 0.12, 0.16, 0.20)[severity - 1]
    clean = mid_grey()
    out = cifar10_c.corrupt(
        clean, "speckle_noise", severity, np.random.default_rng(2)
    )
    residual = (out.astype(np.float64) - 128) / 255
    # x + x * n with x = 128 / 255: standard deviation x * sigma.
    scaled_sigma = 128 / 255 * sigma
    standard_error = scaled_sigma / math.sqrt(residual.size)
    assert abs(residual.mean() + 0.5 / 255) < 5 * standard_error
    expected_std = math.sqrt(scaled_sigma**2 + 1 / 12 / 255**2)
    assert residual.std() == pytest.approx(expected_std, rel=0.02)


@pytest.mark.parametrize("severity", cifar10_c.SEVERITIES)
def test_shot_noise_variance(severity):
    photons = (500, 250, 100, 75, 50)[severity - 1]
    clean = mid_grey()
    out = cifar10_c.corrupt(
        clean, "shot_noise", severity, np.random.default_rng(3)
    )
    values = out.astype(np.float64)
    # Poisson(x c) / c has variance x / c; in grey levels 255^2 x / c, plus
    # about 1/12 from truncation.
    expected_variance = 255**2 * (128 / 255) / photons + 1 / 12
    assert values.var() == pytest.approx(expected_variance, rel=0.04)
    assert values.mean() == pytest.approx(128 - 0.5, abs=0.3)


@pytest.mark.parametrize("severity", cifar10_c.SEVERITIES)
def test_impulse_noise_fraction(severity):
    amount = (0.01, 0.02, 0.03, 0.05, 0.07)[severity - 1]
    clean = mid_grey()
    out = cifar10_c.corrupt(
        clean, "impulse_noise", severity, np.random.default_rng(4)
    )
    changed = out != 128
    assert set(np.unique(out[changed]).tolist()) <= {0, 255}
    tolerance = 5 * math.sqrt(amount * (1 - amount) / out.size)
    assert abs(changed.mean() - amount) < tolerance
    salt_share = (out[changed] == 255).mean()
    assert abs(salt_share - 0.5) < 5 * math.sqrt(0.25 / changed.sum())


# ---------------------------------------------------------------- blur


def test_gaussian_blur_matches_scipy(images):
    for severity, sigma in zip(
        cifar10_c.SEVERITIES, (0.4, 0.6, 0.7, 0.8, 1), strict=True
    ):
        out = cifar10_c.corrupt(
            images, "gaussian_blur", severity, np.random.default_rng()
        )
        for image, result in zip(images, out, strict=True):
            blurred = ndimage.gaussian_filter(
                image / 255.0, sigma=(sigma, sigma, 0), mode="nearest"
            )
            expected = (np.clip(blurred, 0, 1) * 255).astype(np.uint8)
            np.testing.assert_array_equal(result, expected)


def test_defocus_kernel_by_hand():
    # Radius 0.3 keeps only the centre of the disk, so the kernel is the
    # outer product of OpenCV's 3-tap Gaussian with sigma 0.4.
    edge = math.exp(-1 / (2 * 0.4**2))
    taps = np.float32(np.array([edge, 1, edge]) / (1 + 2 * edge))
    expected = np.outer(taps.astype(np.float64), taps).astype(np.float32)
    np.testing.assert_array_equal(blur.defocus_kernel(0.3, 0.4), expected)
    # Radius 1.5 covers the 3x3 square (corner distance sqrt(2) <= 1.5);
    # sigma 0.1 leaves it a 1/9 box up to exp(-50).
    kernel = blur.defocus_kernel(1.5, 0.1)
    assert kernel.shape == (5, 5)
    np.testing.assert_allclose(kernel[1:4, 1:4], 1 / 9, rtol=1e-6)
    assert kernel.sum() == pytest.approx(1, abs=1e-6)


def test_defocus_blur_matches_hand_kernel(images):
    edge = math.exp(-1 / (2 * 0.4**2))
    taps = np.float32(np.array([edge, 1, edge]) / (1 + 2 * edge))
    kernel = np.outer(taps.astype(np.float64), taps).astype(np.float32)
    out = cifar10_c.corrupt(images, "defocus_blur", 1, np.random.default_rng())
    for image, result in zip(images, out, strict=True):
        channels = [
            ndimage.correlate(
                image[..., c] / 255.0, kernel.astype(np.float64), mode="mirror"
            )
            for c in range(3)
        ]
        expected = np.clip(np.stack(channels, axis=-1), 0, 1) * 255
        np.testing.assert_array_equal(result, expected.astype(np.uint8))


def _shuffle_sequentially(image, offsets):
    """The reference's loop: a tuple "swap" of NumPy views, pixel by pixel."""
    x = image.copy()
    for h in range(31, 1, -1):
        for w in range(31, 1, -1):
            dx, dy = offsets[h - 2, w - 2]
            h_prime, w_prime = h + dy, w + dx
            x[h, w], x[h_prime, w_prime] = x[h_prime, w_prime], x[h, w]
    return x


def test_glass_shuffle_matches_sequential_loop(images):
    rng = np.random.default_rng(11)
    offsets = rng.integers(-1, 1, size=(len(images), 30, 30, 2))
    out = blur.shuffle_pixels(images, offsets)
    for image, result, image_offsets in zip(images, out, offsets, strict=True):
        np.testing.assert_array_equal(
            result, _shuffle_sequentially(image, image_offsets)
        )


def _zoom_blur_per_image(image, factors):
    """Zoom blur of one image with scipy.ndimage.zoom, in float32."""
    x = (image / 255.0).astype(np.float32)
    total = np.zeros_like(x)
    for factor in factors:
        crop = int(np.ceil(32 / factor))
        top = (32 - crop) // 2
        zoomed = ndimage.zoom(
            x[top : top + crop, top : top + crop], (factor, factor, 1), order=1
        )
        trim = (zoomed.shape[0] - 32) // 2
        total += zoomed[trim : trim + 32, trim : trim + 32]
    x = (x + total) / (len(factors) + 1)
    return (np.clip(x, 0, 1) * 255).astype(np.uint8)


@pytest.mark.parametrize("severity", cifar10_c.SEVERITIES)
def test_zoom_blur_matches_scipy_zoom(severity, images):
    stop = (1.06, 1.11, 1.16, 1.21, 1.26)[severity - 1]
    factors = np.arange(1, stop, 0.01)
    out = cifar10_c.corrupt(
        images, "zoom_blur", severity, np.random.default_rng()
    )
    for image, result in zip(images, out, strict=True):
        np.testing.assert_array_equal(
            result, _zoom_blur_per_image(image, factors)
        )


@pytest.mark.parametrize("factor", [1.75, 2.25, 1.25])
def test_clipped_zoom_matches_scipy_for_snow(factor):
    layer = np.random.default_rng(6).normal(size=(4, 32, 32, 1))
    out = blur.clipped_zoom(layer, factor)
    crop = int(np.ceil(32 / factor))
    top = (32 - crop) // 2
    for plane, result in zip(layer, out, strict=True):
        zoomed = ndimage.zoom(
            plane[top : top + crop, top : top + crop],
            (factor, factor, 1),
            order=1,
        )
        trim = (zoomed.shape[0] - 32) // 2
        np.testing.assert_array_equal(
            result, zoomed[trim : trim + 32, trim : trim + 32]
        )


def _motion_weights(radius, sigma):
    width = 2 * math.ceil(radius) + 1
    weights = [math.exp(-(i**2) / (2 * sigma**2)) for i in range(width)]
    return [w / sum(weights) for w in weights]


@pytest.mark.parametrize("radius, sigma", [(6, 1), (9, 2.5)])
def test_motion_blur_impulse_at_zero_degrees(radius, sigma):
    # At 0 degrees tap i reads the pixel i columns to the right, so a bright
    # dot at column 20 spreads to columns 20 - i with weight w_i.
    image = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    image[0, 10, 20] = 255
    out = motion.apply_motion_blur(image, radius, sigma, np.array([0.0]))
    expected = np.zeros((32, 32, 3), dtype=np.uint8)
    for i, weight in enumerate(_motion_weights(radius, sigma)):
        expected[10, 20 - i] = math.floor(255 * weight + 0.5)
    np.testing.assert_array_equal(out[0], expected)


def test_motion_blur_impulse_at_ninety_degrees():
    # At 90 degrees tap i reads the pixel i rows below. The grey dot is on
    # row 5, so its trail covers rows 5 down to 0 and stops at the border.
    image = np.zeros((1, 32, 32), dtype=np.uint8)
    image[0, 5, 7] = 200
    out = motion.apply_motion_blur(image, 6, 1.5, np.array([90.0]))
    expected = np.zeros((32, 32), dtype=np.uint8)
    for i, weight in enumerate(_motion_weights(6, 1.5)[:6]):
        expected[5 - i, 7] = math.floor(200 * weight + 0.5)
    np.testing.assert_array_equal(out[0], expected)


def test_motion_offsets_at_forty_five_degrees():
    # ceil(i * cos(45) - 0.5) = round(0.7071 i): 0, 1, 1, 2, 3, 4, 4.
    rows, cols = motion.motion_offsets(7, np.array([45.0]))
    np.testing.assert_array_equal(cols[0], [0, 1, 1, 2, 3, 4, 4])
    np.testing.assert_array_equal(rows[0], [0, 1, 1, 2, 3, 4, 4])
    rows, cols = motion.motion_offsets(7, np.array([-45.0]))
    np.testing.assert_array_equal(rows[0], [0, -1, -1, -2, -3, -4, -4])


# ---------------------------------------------------------------- digital


def test_contrast_by_hand():
    image = np.empty((2, 32, 32, 3), dtype=np.uint8)
    # Image 0: each channel has two values on the two halves, with means
    # 150.5, 25.5 and 127.5. Image 1 is flat and must not change.
    image[0, :16] = (100, 10, 0)
    image[0, 16:] = (201, 41, 255)
    image[1] = 90
    rng = np.random.default_rng()
    # Factor 0.5: mean + (value - mean) / 2, truncated.
    out = cifar10_c.corrupt(image, "contrast", 2, rng)
    np.testing.assert_array_equal(out[0, 0, 0], (125, 17, 63))
    np.testing.assert_array_equal(out[0, 31, 31], (175, 33, 191))
    assert (out[1] == 90).all()
    # Factor 0.15: 150.5 -+ 7.575, 25.5 -+ 2.325, 127.5 -+ 19.125.
    out = cifar10_c.corrupt(image, "contrast", 5, rng)
    np.testing.assert_array_equal(out[0, 0, 0], (142, 23, 108))
    np.testing.assert_array_equal(out[0, 31, 31], (158, 27, 146))


BRIGHTNESS_PIXELS = [
    (10, 200, 30),
    (120, 60, 200),
    (255, 130, 3),
    (37, 37, 201),
    (0, 0, 0),
    (250, 250, 250),
    (90, 91, 92),
]


def assert_truncated_hsv_result(result, rgb):
    """Compare uint8 `result` with float RGB in [0, 1] truncated to 0..255.

    Where 255 * value is within 1e-6 of an integer n, float rounding in
    the HSV round trip decides between n - 1 and n, so both are accepted.
    """
    for actual, channel in zip(result.tolist(), rgb, strict=True):
        scaled = min(max(channel, 0), 1) * 255
        nearest = round(scaled)
        if abs(scaled - nearest) < 1e-6:
            assert actual in (nearest - 1, nearest), (actual, scaled)
        else:
            assert actual == int(scaled), (actual, scaled)


@pytest.mark.parametrize("severity", cifar10_c.SEVERITIES)
def test_brightness_matches_colorsys(severity):
    shift = (0.05, 0.1, 0.15, 0.2, 0.3)[severity - 1]
    image = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    image[0, 0, : len(BRIGHTNESS_PIXELS)] = BRIGHTNESS_PIXELS
    rng = np.random.default_rng()
    out = cifar10_c.corrupt(image, "brightness", severity, rng)
    for index, pixel in enumerate(BRIGHTNESS_PIXELS):
        hue, saturation, value = colorsys.rgb_to_hsv(*(c / 255 for c in pixel))
        rgb = colorsys.hsv_to_rgb(hue, saturation, min(value + shift, 1))
        assert_truncated_hsv_result(out[0, 0, index], rgb)


@pytest.mark.parametrize("severity", cifar10_c.SEVERITIES)
def test_saturate_matches_colorsys(severity):
    factor, offset = ((0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2))[
        severity - 1
    ]
    image = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    image[0, 0, : len(BRIGHTNESS_PIXELS)] = BRIGHTNESS_PIXELS
    out = cifar10_c.corrupt(
        image, "saturate", severity, np.random.default_rng()
    )
    for index, pixel in enumerate(BRIGHTNESS_PIXELS):
        hue, saturation, value = colorsys.rgb_to_hsv(*(c / 255 for c in pixel))
        saturation = min(max(saturation * factor + offset, 0), 1)
        rgb = colorsys.hsv_to_rgb(hue, saturation, value)
        assert_truncated_hsv_result(out[0, 0, index], rgb)


@pytest.mark.parametrize("severity", cifar10_c.SEVERITIES)
def test_jpeg_matches_pillow(severity, images):
    quality = (80, 65, 58, 50, 40)[severity - 1]
    out = cifar10_c.corrupt(
        images, "jpeg_compression", severity, np.random.default_rng()
    )
    for image, result in zip(images, out, strict=True):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
        expected = np.asarray(Image.open(io.BytesIO(buffer.getvalue())))
        np.testing.assert_array_equal(result, expected)
    assert not np.array_equal(out, images)


@pytest.mark.parametrize("severity", cifar10_c.SEVERITIES)
def test_pixelate_matches_pillow_box_resize(severity, images):
    side = (30, 28, 27, 24, 20)[severity - 1]  # int(32 * scale)
    out = cifar10_c.corrupt(
        images, "pixelate", severity, np.random.default_rng()
    )
    box = Image.Resampling.BOX
    for image, result in zip(images, out, strict=True):
        small = Image.fromarray(image).resize((side, side), box)
        expected = np.asarray(small.resize((32, 32), box))
        np.testing.assert_array_equal(result, expected)


# ---------------------------------------------------------------- weather


def test_plasma_fractal_spans_unit_interval():
    maps = weather.plasma_fractal(5, np.random.default_rng(0), 32, 2)
    assert maps.shape == (5, 32, 32)
    np.testing.assert_array_equal(maps.min(axis=(1, 2)), 0)
    np.testing.assert_array_equal(maps.max(axis=(1, 2)), 1)
    assert np.isfinite(maps).all()


def test_fog_keeps_brightest_value_bounded(images):
    # (x + s * haze) * max / (max + s) never exceeds the image maximum.
    for severity in cifar10_c.SEVERITIES:
        out = cifar10_c.corrupt(
            images, "fog", severity, np.random.default_rng(0)
        )
        assert (out.max(axis=(1, 2, 3)) <= images.max(axis=(1, 2, 3))).all()


# ---------------------------------------------------------------- frost


@pytest.mark.parametrize("severity", cifar10_c.SEVERITIES)
def test_frost_with_flat_texture_by_hand(severity, images, flat_frost_dir):
    image_weight, frost_weight = frost.FROST_PARAMS[severity - 1]
    out = cifar10_c.corrupt(
        images, "frost", severity, np.random.default_rng(0), flat_frost_dir
    )
    # frost6.jpg is blue in the fake folder; it is never drawn.
    blend = image_weight * images.astype(np.float64)
    blend = blend + frost_weight * np.array(FAKE_FROST_COLOR)
    expected = np.floor(np.clip(blend, 0, 255)).astype(np.uint8)
    np.testing.assert_array_equal(out, expected)


def test_frost_textures_are_loaded_once(tmp_path, images):
    folder = write_frost_folder(tmp_path / "textures")
    frost._load_textures.cache_clear()
    for _ in range(3):
        cifar10_c.corrupt(images, "frost", 2, np.random.default_rng(), folder)
    info = frost._load_textures.cache_info()
    assert info.misses == 1
    assert info.hits == 2


def test_frost_missing_files_are_named(tmp_path, images):
    folder = write_frost_folder(tmp_path / "partial", skip=("frost3.png",))
    with pytest.raises(FileNotFoundError) as error:
        cifar10_c.corrupt(images, "frost", 1, np.random.default_rng(), folder)
    message = str(error.value)
    assert str(folder.resolve()) in message
    assert "missing frost3.png." in message


def test_frost_without_folder_is_rejected(images):
    with pytest.raises(FileNotFoundError, match="frost_dir=None"):
        cifar10_c.corrupt(images, "frost", 1, np.random.default_rng())


def test_frost_rejects_too_small_texture(tmp_path, images):
    folder = write_frost_folder(tmp_path / "small")
    tiny = Image.fromarray(np.zeros((100, 100, 3), dtype=np.uint8))
    tiny.save(folder / "frost2.png")
    with pytest.raises(ValueError, match="frost2.png is too small"):
        cifar10_c.corrupt(images, "frost", 1, np.random.default_rng(), folder)


@pytest.mark.real_data
def test_frost_with_real_textures(real_data_dir):
    frost_dir = real_data_dir / "frost"
    if not frost_dir.is_dir():
        pytest.skip(f"{frost_dir} does not exist")
    textures = frost.load_frost_textures(frost_dir)
    # Sizes 900x600, 560x315, 560x315, 527x350 and 660x495 scaled by 0.2
    # and rounded, as (rows, columns).
    shapes = [texture.shape[:2] for texture in textures]
    assert shapes == [(120, 180), (63, 112), (63, 112), (70, 105), (99, 132)]
    clean = make_images(count=16)
    out = cifar10_c.corrupt(
        clean, "frost", 1, np.random.default_rng(3), frost_dir
    )
    again = cifar10_c.corrupt(
        clean, "frost", 1, np.random.default_rng(3), frost_dir
    )
    np.testing.assert_array_equal(out, again)
    # Severity 1 adds 0.2 * texture to the unchanged image: at most 51.
    difference = out.astype(np.int64) - clean
    assert difference.min() >= 0
    assert difference.max() <= 51
    assert difference.mean() > 5


@pytest.mark.real_data
def test_all_corruptions_on_real_images(real_data_dir):
    path = real_data_dir / "cifar10_test.npz"
    if not path.is_file():
        pytest.skip(f"{path} does not exist")
    with np.load(path) as data:
        clean = data["x_test"][:64]
    for name in ALL_NAMES:
        for severity in (1, 5):
            out = cifar10_c.corrupt(
                clean,
                name,
                severity,
                np.random.default_rng(0),
                real_data_dir / "frost",
            )
            assert out.shape == clean.shape, name
            assert out.dtype == np.uint8, name
            assert not np.array_equal(out, clean), name


# ------------------------------------------------- elastic transform


def test_warp_affine_identity_is_exact(images):
    x = images.astype(np.float32) / 255
    identity = np.tile(np.array([[1.0, 0, 0], [0, 1, 0]]), (len(x), 1, 1))
    np.testing.assert_array_equal(imgproc.warp_affine(x, identity), x)


def test_warp_affine_shift_reflects_border(images):
    # Moving content one column right reads column j - 1; column 0 reads
    # column -1, which BORDER_REFLECT_101 maps to column 1.
    x = images.astype(np.float32) / 255
    shift = np.tile(np.array([[1.0, 0, 1], [0, 1, 0]]), (len(x), 1, 1))
    out = imgproc.warp_affine(x, shift)
    np.testing.assert_array_equal(out[:, :, 1:], x[:, :, :-1])
    np.testing.assert_array_equal(out[:, :, 0], x[:, :, 1])


def test_affine_from_points_maps_points(images):
    source = np.float32([[26, 26], [26, 6], [6, 6]])
    target = source + np.random.default_rng(0).uniform(-2, 2, (3, 3, 2))
    matrices = imgproc.affine_from_points(source, target)
    homogeneous = np.column_stack([source, np.ones(3)])
    mapped = np.einsum("nij,kj->nki", matrices, homogeneous)
    np.testing.assert_allclose(mapped, target, atol=1e-9)


def test_displace_matches_per_image_map_coordinates(images):
    x = images.astype(np.float32) / 255
    rng = np.random.default_rng(9)
    dx = rng.normal(scale=1.5, size=(len(x), 32, 32)).astype(np.float32)
    dy = rng.normal(scale=1.5, size=(len(x), 32, 32)).astype(np.float32)
    out = elastic.displace(x, dx, dy)
    grid_x, grid_y, grid_c = np.meshgrid(
        np.arange(32), np.arange(32), np.arange(3)
    )
    for image, result, image_dx, image_dy in zip(x, out, dx, dy, strict=True):
        coordinates = (
            (grid_y + image_dy[..., None]).reshape(-1),
            (grid_x + image_dx[..., None]).reshape(-1),
            grid_c.reshape(-1),
        )
        expected = ndimage.map_coordinates(
            image, coordinates, order=1, mode="reflect"
        ).reshape(32, 32, 3)
        np.testing.assert_array_equal(result, expected)


# ---------------------------------------------------------------- spatter


def test_canny_finds_step_edge_once():
    # A 0 -> 200 step between columns 15 and 16 gives magnitude 800 on both
    # columns; the "greater than left, at least right" rule keeps column 15.
    image = np.zeros((1, 32, 32), dtype=np.uint8)
    image[:, :, 16:] = 200
    found = edges.canny(image, 50, 150)
    expected = np.zeros((1, 32, 32), dtype=bool)
    expected[:, :, 15] = True
    np.testing.assert_array_equal(found, expected)


def test_canny_drops_weak_step():
    # A step of 30 gives magnitude 120: above 50 but nowhere above 150.
    image = np.zeros((1, 32, 32), dtype=np.uint8)
    image[:, 16:, :] = 30
    assert not edges.canny(image, 50, 150).any()


def test_hysteresis_follows_eight_neighbours():
    candidates = np.zeros((2, 6, 6), dtype=bool)
    strong = np.zeros((2, 6, 6), dtype=bool)
    # A diagonal chain touching a strong pixel, and an isolated candidate.
    for i in range(4):
        candidates[0, i, i] = True
    strong[0, 0, 0] = True
    candidates[0, 5, 0] = True
    # A chain in image 1 that is only strong in image 0's position.
    candidates[1, 0, 0] = True
    candidates[1, 1, 1] = True
    kept = edges.hysteresis(candidates, strong)
    expected = np.zeros_like(candidates)
    for i in range(4):
        expected[0, i, i] = True
    np.testing.assert_array_equal(kept, expected)


def _chamfer_by_dijkstra(features):
    """Shortest paths over the 16 chamfer moves, from all feature pixels."""
    height, width = features.shape
    costs = {1: 65536, 2: 91750, 5: 143976}  # by squared move length
    rows, cols, weights = [], [], []
    for r in range(height):
        for c in range(width):
            for dr in range(-2, 3):
                for dc in range(-2, 3):
                    length = dr * dr + dc * dc
                    if length not in costs:
                        continue
                    rr, cc = r + dr, c + dc
                    if 0 <= rr < height and 0 <= cc < width:
                        rows.append(r * width + c)
                        cols.append(rr * width + cc)
                        weights.append(costs[length])
    graph = sparse.csr_matrix(
        (weights, (rows, cols)), shape=(height * width,) * 2
    )
    sources = np.flatnonzero(features.ravel())
    distances = csgraph.dijkstra(graph, indices=sources, min_only=True)
    return (distances / 65536).reshape(height, width)


def test_chamfer_distance_matches_dijkstra():
    rng = np.random.default_rng(12)
    features = rng.random((3, 32, 32)) < 0.01
    features[0] = False
    features[0, 16, 16] = True
    out = edges.chamfer_distance(features)
    for mask, result in zip(features, out, strict=True):
        np.testing.assert_allclose(
            result, _chamfer_by_dijkstra(mask), rtol=1e-7
        )
    # By hand around the single pixel of image 0.
    assert out[0, 16, 17] == 1
    assert out[0, 17, 17] == np.float32(91750 / 65536)
    assert out[0, 17, 18] == np.float32(143976 / 65536)
    assert out[0, 16, 19] == 3


def test_chamfer_distance_without_features_is_far():
    out = edges.chamfer_distance(np.zeros((1, 8, 8), dtype=bool))
    assert (out > 8000).all()


def test_equalize_hist_by_hand():
    images = np.zeros((3, 32, 32), dtype=np.uint8)
    # Image 0: 256 pixels of 0, 256 of 1, 512 of 2. The scale is
    # 255 / (1024 - 256); level 1 maps to round(256 * 0.33203125) = 85.
    images[0, 8:16] = 1
    images[0, 16:] = 2
    # Image 1: two levels map to 0 and 255. Image 2: flat, unchanged.
    images[1, :16] = 10
    images[1, 16:] = 20
    images[2] = 77
    out = imgproc.equalize_hist(images)
    assert set(np.unique(out[0]).tolist()) == {0, 85, 255}
    assert (out[0, 8:16] == 85).all()
    assert (out[1, :16] == 0).all()
    assert (out[1, 16:] == 255).all()
    assert (out[2] == 77).all()


def test_box_blurs_match_scipy_correlate():
    rng = np.random.default_rng(13)
    values = rng.integers(0, 256, size=(2, 32, 32)).astype(np.uint8)
    sums = ndimage.correlate(
        values.astype(np.int64),
        np.ones((1, 3, 3), dtype=np.int64),
        mode="mirror",
    )
    np.testing.assert_array_equal(
        imgproc.box_blur_uint8(values),
        np.floor(sums / 9 + 0.5).astype(np.uint8),
    )
    floats = values.astype(np.float32) / 7
    expected = ndimage.correlate(
        floats.astype(np.float64), np.ones((1, 3, 3)) / 9, mode="mirror"
    )
    np.testing.assert_allclose(
        imgproc.box_blur_float(floats), expected, rtol=1e-6
    )


def test_filter2d_matches_scipy_correlate():
    rng = np.random.default_rng(14)
    values = rng.integers(0, 256, size=(2, 32, 32)).astype(np.uint8)
    kernel = ((-2, -1, 0), (-1, 1, 1), (0, 1, 2))
    expected = ndimage.correlate(
        values.astype(np.int64), np.array(kernel)[np.newaxis], mode="mirror"
    )
    np.testing.assert_array_equal(
        imgproc.filter2d_uint8(values, kernel),
        np.clip(expected, 0, 255).astype(np.uint8),
    )


def test_water_without_liquid_leaves_image_unchanged(images):
    # The reference divides 0 by 0 here and stores a black image.
    x = images.astype(np.float32) / 255
    liquid = np.zeros(images.shape[:3])
    out = spatter._water(x, liquid, 0.5).astype(np.uint8)
    np.testing.assert_array_equal(out, images)


def test_mud_covers_liquid_with_brown(images):
    # Where the softened mask is 1, the pixel becomes the mud colour.
    x = images.astype(np.float32) / 255
    liquid = np.ones(images.shape[:3])
    out = spatter._mud(x, liquid, 0.5, 0.6).astype(np.uint8)
    assert (out == (63, 42, 20)).all()
