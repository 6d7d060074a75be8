import csv

import keras
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from applications.callbacks import noisy_evaluation
from applications.callbacks.reconstruction import ReconstructionSSIM
from applications.callbacks.reconstruction import mean_ssim


def _images(num_images=6, seed=0):
    # Smooth blobs, so SSIM has structure to compare.
    rng = np.random.default_rng(seed)
    grid = np.linspace(-1, 1, 28)
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    images = []
    for _ in range(num_images):
        cy, cx = rng.uniform(-0.5, 0.5, size=2)
        images.append(np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 0.1))
    return np.asarray(images, "float32")[..., None]


def _identity_model():
    """A trainable model that starts as the identity map of images."""
    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Conv2D(
        1, 1, kernel_initializer="ones", bias_initializer="zeros"
    )(inputs)
    model = keras.Model(inputs, outputs)
    # A zero learning rate keeps the identity through `fit`.
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    return model


def _evaluate_once(callback, model):
    callback.set_model(model)
    callback.set_params({"epochs": 1})
    logs = {}
    callback.on_epoch_end(0, logs)
    return logs


def _skimage_ssim(reference, image):
    return structural_similarity(
        reference[..., 0],
        image[..., 0],
        data_range=1.0,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
    )


def test_perfect_reconstruction_scores_one():
    images = _images()
    callback = ReconstructionSSIM(images, noise_levels=[0.0])

    logs = _evaluate_once(callback, _identity_model())

    assert logs["ssim_sigma_0.00"] == pytest.approx(1.0, abs=1e-6)


def test_noisy_reconstruction_matches_skimage_and_is_lower():
    images = _images()
    callback = ReconstructionSSIM(images, noise_levels=[0.0, 0.3], seed=4)

    logs = _evaluate_once(callback, _identity_model())

    # The identity model returns the noisy images themselves.
    noisy = noisy_evaluation.add_pixel_noise(images, 0.3, seed=4)
    expected = np.mean(
        [_skimage_ssim(a, b) for a, b in zip(images, noisy, strict=True)]
    )
    assert logs["ssim_sigma_0.30"] == pytest.approx(expected, rel=1e-5)
    assert logs["ssim_sigma_0.30"] < 0.9


def test_ssim_falls_as_pixel_noise_grows():
    callback = ReconstructionSSIM(_images(), noise_levels=[0.1, 0.5, 1.0])

    logs = _evaluate_once(callback, _identity_model())

    assert logs["ssim_sigma_0.10"] > logs["ssim_sigma_0.50"]
    assert logs["ssim_sigma_0.50"] > logs["ssim_sigma_1.00"]


def test_mean_ssim_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        mean_ssim(np.zeros((2, 28, 28, 1)), np.zeros((3, 28, 28, 1)))


def test_values_reach_history_and_csv_logger(tmp_path):
    images = _images(4)
    callback = ReconstructionSSIM(images, noise_levels=[0.0, 0.5], frequency=2)
    path = tmp_path / "history.csv"

    history = _identity_model().fit(
        images,
        images,
        epochs=4,
        batch_size=4,
        callbacks=[callback, keras.callbacks.CSVLogger(str(path))],
        verbose=0,
    )

    values = history.history["ssim_sigma_0.00"]
    assert len(values) == 4
    # Evaluated after epochs 2 and 4 only; NaN marks the others.
    assert np.isnan(values[0])
    assert np.isnan(values[2])
    assert values[1] == pytest.approx(1.0, abs=1e-6)
    assert values[3] == pytest.approx(1.0, abs=1e-6)
    with open(path) as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 4
    assert float(rows[3]["ssim_sigma_0.50"]) == pytest.approx(
        history.history["ssim_sigma_0.50"][3]
    )


def test_default_evaluates_after_last_epoch_only():
    calls = []

    class CountingSSIM(ReconstructionSSIM):
        def evaluate(self):
            calls.append(True)
            return super().evaluate()

    images = _images(4)
    history = _identity_model().fit(
        images,
        images,
        epochs=3,
        callbacks=[CountingSSIM(images, noise_levels=[0.0])],
        verbose=0,
    )

    assert len(calls) == 1
    assert not np.isnan(history.history["ssim_sigma_0.00"][-1])


def test_verbose_controls_printing(capsys):
    images = _images(2)

    _evaluate_once(
        ReconstructionSSIM(images, noise_levels=[0.0], verbose=0),
        _identity_model(),
    )
    silent = capsys.readouterr().out
    _evaluate_once(
        ReconstructionSSIM(images, noise_levels=[0.0], verbose=1),
        _identity_model(),
    )
    printed = capsys.readouterr().out

    assert silent == ""
    assert "ssim" in printed


def test_pixel_noise_is_seeded_clipped_and_scaled():
    images = np.full((50, 28, 28, 1), 0.5, "float32")

    first = noisy_evaluation.add_pixel_noise(images, 0.1, seed=3)
    second = noisy_evaluation.add_pixel_noise(images, 0.1, seed=3)
    other = noisy_evaluation.add_pixel_noise(images, 0.1, seed=4)
    strong = noisy_evaluation.add_pixel_noise(images, 2.0, seed=3)

    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)
    # At 0.5 with sigma 0.1, clipping at 0 and 1 is five sigmas away.
    assert np.std(first - images) == pytest.approx(0.1, rel=0.02)
    assert strong.min() == 0.0
    assert strong.max() == 1.0


def test_metric_keys_use_two_decimals():
    callback = ReconstructionSSIM(_images(1), noise_levels=[0, 0.05, 1])

    assert callback.keys() == [
        "ssim_sigma_0.00",
        "ssim_sigma_0.05",
        "ssim_sigma_1.00",
    ]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"noise_levels": [-0.1]}, "noise_levels"),
        ({"noise_levels": []}, "noise_levels"),
        ({"noise_levels": [0.1, 0.101]}, "differ at two decimals"),
        ({"frequency": 0}, "frequency=0"),
        ({"seed": -1}, "seed=-1"),
        ({"verbose": 3}, "verbose=3"),
    ],
)
def test_rejects_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ReconstructionSSIM(_images(1), **kwargs)


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((2, 28, 28, 1), "uint8"), "dtype=uint8"),
        (np.full((2, 28, 28, 1), 2.0, "float32"), r"\[0, 1\]"),
        (np.zeros((28, 28, 1), "float32"), "shape"),
    ],
)
def test_rejects_invalid_images(images, message):
    with pytest.raises(ValueError, match=message):
        ReconstructionSSIM(images)
