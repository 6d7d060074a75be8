import keras
import numpy as np
import pytest

from applications.models.vq import VectorQuantizer
from tests import backend_utils


def _quantizer(codebook, commitment_cost=0.25):
    layer = VectorQuantizer(
        codebook.shape[0],
        commitment_cost=commitment_cost,
        codebook_initializer=keras.initializers.Constant(codebook),
    )
    layer.build((None, codebook.shape[1]))
    return layer


def _nearest(inputs, codebook):
    flat = inputs.reshape(-1, codebook.shape[1])
    distances = ((flat[:, None, :] - codebook[None]) ** 2).sum(-1)
    return codebook[distances.argmin(-1)].reshape(inputs.shape)


@pytest.mark.parametrize("shape", [(7, 3), (2, 4, 4, 3)])
def test_output_is_nearest_code(shape):
    rng = np.random.default_rng(0)
    codebook = rng.normal(size=(9, 3)).astype("float32")
    inputs = rng.normal(size=shape).astype("float32")
    layer = _quantizer(codebook)

    outputs = keras.ops.convert_to_numpy(layer(inputs))

    np.testing.assert_allclose(outputs, _nearest(inputs, codebook), atol=1e-6)


def test_added_loss_is_codebook_plus_commitment_term():
    rng = np.random.default_rng(1)
    codebook = rng.normal(size=(4, 2)).astype("float32")
    inputs = rng.normal(size=(10, 2)).astype("float32")
    layer = _quantizer(codebook, commitment_cost=0.5)

    layer(inputs)

    squared_error = np.mean((inputs - _nearest(inputs, codebook)) ** 2)
    assert len(layer.losses) == 1
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer.losses[0]),
        1.5 * squared_error,
        rtol=1e-5,
    )


def test_gradient_passes_straight_through():
    rng = np.random.default_rng(2)
    codebook = rng.normal(size=(5, 3)).astype("float32")
    inputs = rng.normal(size=(6, 3)).astype("float32")
    weights = rng.normal(size=(6, 3)).astype("float32")
    layer = _quantizer(codebook)

    def loss_fn(x):
        outputs, _ = layer.stateless_call([layer.codebook.value], [], x)
        return keras.ops.sum(
            keras.ops.multiply(outputs, keras.ops.convert_to_tensor(weights))
        )

    (gradient,) = backend_utils.gradients(loss_fn, [inputs])

    # d sum(w * q(x)) / dx = w under the straight-through estimator.
    np.testing.assert_allclose(gradient, weights, atol=1e-6)


def test_codebook_gets_gradient_from_codebook_term():
    codebook = np.array([[0.0, 0.0], [10.0, 10.0]], "float32")
    inputs = np.array([[1.0, 2.0]], "float32")
    layer = _quantizer(codebook, commitment_cost=0.0)

    def loss_fn(weights):
        _, _, losses = layer.stateless_call(
            [weights], [], inputs, return_losses=True
        )
        return losses[0]

    (gradient,) = backend_utils.gradients(loss_fn, [codebook])

    # mean((x - c0)^2) over 2 entries: d/dc0 = -(x - c0); c1 is unused.
    np.testing.assert_allclose(gradient, [[-1.0, -2.0], [0.0, 0.0]], atol=1e-6)


def test_config_round_trip():
    layer = VectorQuantizer(12, commitment_cost=0.1, name="vq")

    restored = VectorQuantizer.from_config(layer.get_config())

    assert restored.get_config() == layer.get_config()
    assert restored.num_codes == 12
    assert restored.commitment_cost == 0.1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_codes": 0}, "num_codes=0"),
        ({"num_codes": 2.5}, "num_codes=2.5"),
        ({"num_codes": 4, "commitment_cost": -1.0}, "commitment_cost=-1.0"),
        (
            {"num_codes": 4, "commitment_cost": float("nan")},
            "commitment_cost=nan",
        ),
    ],
)
def test_rejects_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VectorQuantizer(**kwargs)
