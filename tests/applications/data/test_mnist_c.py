import math

import numpy as np
import pytest
from scipy import stats
from skimage import color
from skimage import feature
from skimage import filters
from skimage import transform

from applications.data import _mnist_c_blur
from applications.data import _mnist_c_lines
from applications.data import _mnist_c_weather
from applications.data import mnist_c
from tests.applications import synthetic_data

RANDOM_CORRUPTIONS = (
    "shot_noise",
    "impulse_noise",
    "glass_blur",
    "motion_blur",
    "shear",
    "rotate",
    "translate",
    "fog",
    "spatter",
    "dotted_line",
    "zigzag",
)
DETERMINISTIC_CORRUPTIONS = (
    "identity",
    "scale",
    "brightness",
    "stripe",
    "canny_edges",
)


def _synthetic_images():
    """Return 6 digit-sized test patterns of shape (6, 28, 28, 1)."""
    images = np.zeros((6, 28, 28), dtype=np.uint8)
    images[0, 5:23, 12:16] = 255
    images[1, 12:16, 5:23] = 200
    rows, columns = np.mgrid[:28, :28]
    radius = np.hypot(rows - 13.5, columns - 13.5)
    images[2][(radius > 5) & (radius < 9)] = 255
    images[3] = np.clip((rows + columns) * 4, 0, 255)
    images[4][((rows // 4) + (columns // 4)) % 2 == 1] = 180
    images[5, 10:18, 8:20] = 128
    images[5, 3, 24] = 255
    return images[..., np.newaxis]


def _batch(copies=3):
    return np.concatenate([_synthetic_images()] * copies)


def _constant_images(value, count=64):
    return np.full((count, 28, 28, 1), value, dtype=np.uint8)


def _to_uint8(values):
    """Round like the reference notebook: np.round, then uint8."""
    return np.round(np.asarray(values, dtype=np.float32)).astype(np.uint8)


def _corrupt(images, name, seed=0):
    return mnist_c.corrupt(images, name, np.random.default_rng(seed))


# Interface and input checks.


def test_corruptions_names_and_order():
    assert mnist_c.CORRUPTIONS == synthetic_data.MNIST_CORRUPTIONS


@pytest.mark.parametrize("name", mnist_c.CORRUPTIONS)
def test_corrupt_keeps_shape_and_dtype(name):
    images = _batch()
    original = images.copy()
    corrupted = _corrupt(images, name)
    assert corrupted.shape == images.shape
    assert corrupted.dtype == np.uint8
    np.testing.assert_array_equal(images, original)


@pytest.mark.parametrize("name", mnist_c.CORRUPTIONS)
def test_corrupt_same_seed_same_output(name):
    first = _corrupt(_batch(), name, seed=3)
    second = _corrupt(_batch(), name, seed=3)
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("name", RANDOM_CORRUPTIONS)
def test_corrupt_new_seed_changes_output(name):
    first = _corrupt(_batch(), name, seed=1)
    second = _corrupt(_batch(), name, seed=2)
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("name", DETERMINISTIC_CORRUPTIONS)
def test_deterministic_corruption_ignores_seed(name):
    first = _corrupt(_batch(), name, seed=1)
    second = _corrupt(_batch(), name, seed=2)
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(
    "name", [name for name in mnist_c.CORRUPTIONS if name != "identity"]
)
def test_corruption_changes_image(name):
    images = _batch()
    corrupted = _corrupt(images, name)
    difference = np.abs(corrupted.astype(np.int64) - images)
    assert difference.mean() > 0


def test_identity_returns_exact_copy():
    images = _batch()
    corrupted = _corrupt(images, "identity")
    np.testing.assert_array_equal(corrupted, images)
    assert corrupted is not images


def test_corrupt_empty_batch():
    images = np.zeros((0, 28, 28, 1), dtype=np.uint8)
    for name in mnist_c.CORRUPTIONS:
        assert _corrupt(images, name).shape == (0, 28, 28, 1)


def test_corrupt_rejects_float_images():
    images = _batch().astype(np.float32) / 255
    with pytest.raises(ValueError, match="images.dtype=float32"):
        _corrupt(images, "identity")


@pytest.mark.parametrize("shape", [(2, 28, 28), (2, 32, 32, 3), (28, 28, 1)])
def test_corrupt_rejects_wrong_shape(shape):
    images = np.zeros(shape, dtype=np.uint8)
    with pytest.raises(ValueError, match=r"images\.shape="):
        _corrupt(images, "identity")


def test_corrupt_suggests_channel_axis():
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"images\[\.\.\., None\]"):
        _corrupt(images, "identity")


def test_corrupt_rejects_list_input():
    with pytest.raises(ValueError, match="NumPy uint8 array"):
        _corrupt(_batch().tolist(), "identity")


def test_corrupt_rejects_unknown_name():
    with pytest.raises(ValueError) as info:
        _corrupt(_batch(), "gaussian_noise")
    message = str(info.value)
    assert "name='gaussian_noise'" in message
    for name in mnist_c.CORRUPTIONS:
        assert name in message


@pytest.mark.parametrize("name", [None, ["fog"]])
def test_corrupt_rejects_non_string_name(name):
    with pytest.raises(ValueError, match="Received: name="):
        _corrupt(_batch(), name)


@pytest.mark.parametrize("rng", [0, np.random.RandomState(0), None])
def test_corrupt_rejects_non_generator_rng(rng):
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        mnist_c.corrupt(_batch(), "shot_noise", rng)


# Noise.


@pytest.mark.parametrize("gray", [51, 170])
def test_shot_noise_levels_follow_poisson(gray):
    # Pixel v becomes min(k, 3) / 3 * 255 with k ~ Poisson(3 v / 255), so
    # the output levels are 0, 85, 170 and 255.
    corrupted = _corrupt(_constant_images(gray), "shot_noise", seed=4)
    rate = 3 * gray / 255
    expected = [stats.poisson.pmf(k, rate) for k in range(3)]
    expected.append(stats.poisson.sf(2, rate))
    for level, probability in zip((0, 85, 170, 255), expected, strict=True):
        fraction = np.mean(corrupted == level)
        assert fraction == pytest.approx(probability, abs=0.01)
    assert np.all(np.isin(corrupted, (0, 85, 170, 255)))


def test_shot_noise_mean_and_variance():
    corrupted = _corrupt(_constant_images(51), "shot_noise", seed=5)
    levels = np.array([0.0, 85.0, 170.0, 255.0])
    rate = 0.6
    probabilities = np.array(
        [stats.poisson.pmf(k, rate) for k in range(3)]
        + [stats.poisson.sf(2, rate)]
    )
    mean = np.sum(levels * probabilities)
    variance = np.sum((levels - mean) ** 2 * probabilities)
    assert corrupted.mean() == pytest.approx(mean, rel=0.02)
    assert corrupted.astype(np.float64).var() == pytest.approx(
        variance, rel=0.03
    )


def test_shot_noise_keeps_black_black():
    corrupted = _corrupt(_constant_images(0), "shot_noise")
    assert np.all(corrupted == 0)


def test_impulse_noise_fractions():
    corrupted = _corrupt(_constant_images(100), "impulse_noise", seed=6)
    # 17% of the pixels are replaced, half by 255 and half by 0.
    assert np.mean(corrupted == 255) == pytest.approx(0.085, abs=0.005)
    assert np.mean(corrupted == 0) == pytest.approx(0.085, abs=0.005)
    assert np.mean(corrupted == 100) == pytest.approx(0.83, abs=0.01)


# Blur.


def test_glass_blur_row_blur_matches_skimage():
    image = _synthetic_images()[2, ..., 0] / 255.0
    expected = filters.gaussian(image, sigma=(0.7, 0.0))
    blurred = _mnist_c_blur._blur_rows(image[np.newaxis])[0]
    np.testing.assert_allclose(blurred, expected, atol=1e-12)


def test_glass_blur_keeps_black_black():
    corrupted = _corrupt(_constant_images(0, count=4), "glass_blur")
    assert np.all(corrupted == 0)


def test_glass_blur_preserves_total_intensity():
    images = _batch()
    corrupted = _corrupt(images, "glass_blur")
    before = images.astype(np.float64).sum(axis=(1, 2, 3))
    after = corrupted.astype(np.float64).sum(axis=(1, 2, 3))
    # Swaps move pixels, and the blurs lose at most one level per pixel to
    # truncation and rounding, and mass at the image border.
    np.testing.assert_allclose(after, before, rtol=0.06)


def test_motion_blur_kernel_weights():
    weights = _mnist_c_blur.motion_blur_kernel()
    expected = [math.exp(-(i**2) / 18) for i in range(21)]
    expected = np.array(expected) / sum(expected)
    np.testing.assert_allclose(weights, expected)


def test_motion_blur_keeps_constant_image():
    # Weights sum to 1 and the border repeats edge pixels, so a constant
    # image is unchanged, including its border.
    corrupted = _corrupt(_constant_images(100, count=8), "motion_blur")
    assert np.all(corrupted == 100)


def test_motion_blur_point_response():
    images = np.zeros((32, 28, 28, 1), dtype=np.uint8)
    images[:, 14, 14, 0] = 255
    corrupted = _corrupt(images, "motion_blur", seed=7)[..., 0]
    tap_sum = sum(math.exp(-(i**2) / 18) for i in range(21))
    center = round(255 / tap_sum)
    for blurred in corrupted:
        assert blurred[14, 14] == center
        rows, columns = np.nonzero(blurred)
        # One-sided kernel: the streak runs from the point towards smaller
        # columns, within 45 degrees of the horizontal.
        assert np.all(columns <= 14)
        assert np.all(np.abs(rows - 14) <= 14 - columns + 1)
        assert columns.min() <= 8
        # At most 21 pixels receive weight, each rounded by half a level.
        assert abs(int(blurred.sum()) - 255) <= 11


# Geometric transforms.


def _warp_reference(image, matrix):
    warped = transform.warp(
        image / 255.0, transform.AffineTransform(matrix=matrix), order=1
    )
    return _to_uint8(np.clip(warped, 0, 1) * 255)


def _centered(linear):
    matrix = np.eye(3)
    matrix[:2, :2] = linear
    for row in range(2):
        matrix[row, 2] = 13.5 * (1 - linear[row][0] - linear[row][1])
    return matrix


def _assert_each_matches_one(corrupted, images, matrices):
    used = set()
    for image, result in zip(images[..., 0], corrupted[..., 0], strict=True):
        candidates = [_warp_reference(image, m) for m in matrices]
        matches = [np.array_equal(result, c) for c in candidates]
        assert any(matches)
        used.add(matches.index(True))
    assert len(used) == len(matrices)


def test_shear_matches_skimage_warp():
    # scikit-image before 0.21 built AffineTransform(shear=s) as
    # [[1, -sin s], [0, cos s]]. The reference keeps (13.5, 13.5) fixed.
    matrices = [
        _centered([[1, -math.sin(s)], [0, math.cos(s)]]) for s in (-0.4, 0.4)
    ]
    images = _batch()
    corrupted = _corrupt(images, "shear", seed=8)
    _assert_each_matches_one(corrupted, images, matrices)


def test_rotate_matches_skimage_warp():
    matrices = []
    for angle in (-0.4, 0.4):
        linear = transform.AffineTransform(rotation=angle).params[:2, :2]
        matrices.append(_centered(linear))
    images = _batch()
    corrupted = _corrupt(images, "rotate", seed=9)
    _assert_each_matches_one(corrupted, images, matrices)


def test_scale_matches_skimage_warp():
    factor = 1 / 0.7
    offset = 13.5 * (1 - factor)
    matrix = transform.AffineTransform(
        scale=factor, translation=(offset, offset)
    ).params
    images = _batch()
    corrupted = _corrupt(images, "scale")
    _assert_each_matches_one(corrupted, images, [matrix])


def test_translate_shifts_three_pixels():
    images = _batch()
    corrupted = _corrupt(images, "translate", seed=10)
    used = set()
    for image, result in zip(images[..., 0], corrupted[..., 0], strict=True):
        matches = []
        for dx in (-3, 3):
            for dy in (-3, 3):
                # Output (y, x) reads input (y + dy, x + dx), zero outside.
                padded = np.pad(image, 3)
                shifted = padded[3 + dy : 31 + dy, 3 + dx : 31 + dx]
                matches.append(np.array_equal(result, shifted))
        assert sum(matches) >= 1
        used.add(matches.index(True))
    assert len(used) > 1


# Digital corruptions.


def test_brightness_matches_skimage_hsv():
    levels = np.arange(256)
    image = np.resize(levels, (28, 28)).astype(np.uint8)
    rgb = color.gray2rgb(image / 255.0)
    hsv = color.rgb2hsv(rgb)
    hsv[..., 2] = np.clip(hsv[..., 2] + 0.5, 0, 1)
    gray = color.rgb2gray(color.hsv2rgb(hsv))
    expected = _to_uint8(np.clip(gray, 0, 1) * 255)
    corrupted = _corrupt(image[np.newaxis, ..., np.newaxis], "brightness")
    np.testing.assert_array_equal(corrupted[0, ..., 0], expected)


@pytest.mark.parametrize(
    "gray, expected",
    [
        (0, 128),
        (1, 128),
        (2, 130),
        (3, 130),
        (127, 254),
        (128, 255),
        (255, 255),
    ],
)
def test_brightness_hand_values(gray, expected):
    # v + 127.5 rounds half to even, so outputs below 255 are even.
    corrupted = _corrupt(_constant_images(gray, count=1), "brightness")
    assert np.all(corrupted == expected)


def test_stripe_inverts_outer_columns():
    images = _batch()
    corrupted = _corrupt(images, "stripe")[..., 0]
    plain = images[..., 0].astype(np.int64)
    np.testing.assert_array_equal(corrupted[:, :, :7], 255 - plain[:, :, :7])
    np.testing.assert_array_equal(corrupted[:, :, 7:21], plain[:, :, 7:21])
    np.testing.assert_array_equal(corrupted[:, :, 21:], 255 - plain[:, :, 21:])


def test_canny_edges_match_skimage():
    images = _batch(copies=1)
    corrupted = _corrupt(images, "canny_edges")
    for image, result in zip(images[..., 0], corrupted[..., 0], strict=True):
        expected = feature.canny(image / 255.0).astype(np.uint8) * 255
        np.testing.assert_array_equal(result, expected)


# Fog and spatter.


def test_plasma_fractal_range_and_shape():
    maps = _mnist_c_weather.plasma_fractal(3, 1.4, np.random.default_rng(0))
    assert maps.shape == (3, 256, 256)
    np.testing.assert_allclose(maps.min(axis=(1, 2)), 0.0)
    np.testing.assert_allclose(maps.max(axis=(1, 2)), 1.0)


def test_fog_bounds():
    images = _batch()
    corrupted = _corrupt(images, "fog").astype(np.int64)
    # Output (v + 3 p) m / (m + 3) is at most the image maximum m, and a
    # black pixel of an image with m = 1 gets at most 3 / 4 of white.
    maximum = images.max(axis=(1, 2, 3))
    assert np.all(corrupted.max(axis=(1, 2, 3)) <= maximum)
    white_max = maximum == 255
    background = corrupted[white_max][images[white_max] == 0]
    assert background.max() <= round(0.75 * 255)
    assert background.mean() > 10


def test_fog_keeps_black_image_black():
    corrupted = _corrupt(_constant_images(0, count=2), "fog")
    assert np.all(corrupted == 0)


def test_spatter_mud_levels():
    corrupted = _corrupt(_constant_images(0, count=32), "spatter", seed=11)
    # Mud pixels are 63 m with mask value m in [0.8, 1].
    muddy = corrupted[corrupted > 0]
    assert muddy.size > 0
    assert muddy.min() >= 50
    assert muddy.max() <= 63


# Lines.


def test_line_intensity_horizontal():
    line = _mnist_c_lines.line_intensity(0, 10, 27, 10)[0]
    np.testing.assert_allclose(line[10, :27], 1.0)
    # Vertical distance 1 gives log(1 - 1 / 2.3) + 1.
    np.testing.assert_allclose(line[11, :27], 1 + math.log(1 - 1 / 2.3))
    np.testing.assert_allclose(line[9, :27], 1 + math.log(1 - 1 / 2.3))
    assert np.all(line[:9] == 0)
    assert np.all(line[12:] == 0)
    # The column at ceil(27) is cut off.
    assert np.all(line[:, 27] == 0)


def test_line_intensity_diagonal_cut_to_span():
    line = _mnist_c_lines.line_intensity(4.5, 4.5, 20.0, 20.0)[0]
    assert line[10, 10] == pytest.approx(1.0)
    assert line[11, 10] == pytest.approx(1 + math.log(1 - 1 / 2.3))
    assert np.all(line[:, :4] == 0)
    assert np.all(line[:, 20:] == 0)
    assert line[4, 4] == pytest.approx(1.0)


def test_line_intensity_vertical_is_empty():
    line = _mnist_c_lines.line_intensity(5, 0, 5, 20)
    assert np.all(line == 0)


def test_dotted_line_dash_columns():
    corrupted = _corrupt(_constant_images(0, count=32), "dotted_line", seed=12)
    columns = np.arange(28)
    dashes = (columns // 2) % 2 == 1
    dashes[27] = False
    assert np.all(corrupted[:, :, ~dashes] == 0)
    for image in corrupted[..., 0]:
        lit = image[:, dashes]
        # The line passes within half a row of some pixel in each column.
        assert np.all(lit.max(axis=0) >= 192)
        assert np.all((lit > 0).sum(axis=0) <= 3)


def test_zigzag_stays_within_columns():
    corrupted = _corrupt(_constant_images(0, count=32), "zigzag", seed=13)
    assert np.all(corrupted[:, :, :2] == 0)
    assert np.all(corrupted[:, :, 26:] == 0)
    # Segments can leave the image near the top or bottom row, so only
    # the whole batch must cover every column from 2 to 25.
    assert np.all(corrupted.sum(axis=(1, 2, 3)) > 0)
    assert np.all(corrupted[:, :, 2:26].max(axis=(0, 1)) > 0)


# Real MNIST images.


@pytest.mark.real_data
def test_real_images_all_corruptions(real_data_dir):
    with np.load(real_data_dir / "mnist.npz") as data:
        images = data["x_test"][:16, ..., np.newaxis]
    for name in mnist_c.CORRUPTIONS:
        corrupted = _corrupt(images, name)
        assert corrupted.shape == images.shape
        assert corrupted.dtype == np.uint8
        if name == "identity":
            np.testing.assert_array_equal(corrupted, images)
        else:
            assert np.any(corrupted != images)
    edges = _corrupt(images, "canny_edges")
    assert np.all(np.isin(edges, (0, 255)))
    bright = _corrupt(images, "brightness")
    assert bright.min() >= 128


@pytest.mark.real_data
def test_real_images_geometric_match_skimage(real_data_dir):
    with np.load(real_data_dir / "mnist.npz") as data:
        images = data["x_test"][:16, ..., np.newaxis]
    matrices = []
    for angle in (-0.4, 0.4):
        linear = transform.AffineTransform(rotation=angle).params[:2, :2]
        matrices.append(_centered(linear))
    corrupted = _corrupt(images, "rotate", seed=14)
    _assert_each_matches_one(corrupted, images, matrices)
