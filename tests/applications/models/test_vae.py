import keras
import numpy as np
import pytest

from applications.models.vae import GaussianSampling


def _kl(mean, log_var):
    return np.mean(
        -0.5 * np.sum(1 + log_var - mean**2 - np.exp(log_var), axis=-1)
    )


def test_added_loss_is_weighted_kl_divergence():
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(5, 3)).astype("float32")
    log_var = rng.normal(size=(5, 3)).astype("float32")
    layer = GaussianSampling(kl_weight=0.5)

    layer([mean, log_var])

    assert len(layer.losses) == 1
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer.losses[0]),
        0.5 * _kl(mean, log_var),
        rtol=1e-5,
    )


def test_kl_is_zero_for_standard_normal():
    layer = GaussianSampling()
    zeros = np.zeros((4, 2), "float32")

    layer([zeros, zeros])

    assert float(keras.ops.convert_to_numpy(layer.losses[0])) == 0.0


def test_inference_returns_mean():
    rng = np.random.default_rng(1)
    mean = rng.normal(size=(4, 3)).astype("float32")
    log_var = np.zeros((4, 3), "float32")

    outputs = GaussianSampling()([mean, log_var], training=False)

    np.testing.assert_array_equal(keras.ops.convert_to_numpy(outputs), mean)


def test_training_samples_with_given_mean_and_variance():
    num_samples = 20000
    mean = np.full((num_samples, 2), [1.0, -3.0], "float32")
    # Variances 4 and 0.25, i.e. standard deviations 2 and 0.5.
    log_var = np.log(np.full((num_samples, 2), [4.0, 0.25], "float32"))

    samples = keras.ops.convert_to_numpy(
        GaussianSampling(seed=3)([mean, log_var], training=True)
    )

    # Standard errors are about 0.014 (mean) and 0.01 (std).
    np.testing.assert_allclose(samples.mean(0), [1.0, -3.0], atol=0.06)
    np.testing.assert_allclose(samples.std(0), [2.0, 0.5], rtol=0.03)


def test_seeded_samples_repeat():
    mean = np.zeros((3, 4), "float32")
    log_var = np.zeros((3, 4), "float32")

    first = GaussianSampling(seed=5)([mean, log_var], training=True)
    second = GaussianSampling(seed=5)([mean, log_var], training=True)

    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(first), keras.ops.convert_to_numpy(second)
    )


def test_config_round_trip():
    layer = GaussianSampling(kl_weight=0.25, seed=7, name="sampling")

    restored = GaussianSampling.from_config(layer.get_config())

    assert restored.get_config() == layer.get_config()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kl_weight": -0.1}, "kl_weight=-0.1"),
        ({"kl_weight": float("inf")}, "kl_weight=inf"),
        ({"kl_weight": True}, "kl_weight=True"),
        ({"seed": 1.5}, "seed=1.5"),
    ],
)
def test_rejects_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GaussianSampling(**kwargs)
