import keras
import numpy as np
import pytest

from keras_nihr import ops as nihr_ops
from tests import numpy_reference


def _unit_rows(rng, num_memories, dim):
    return numpy_reference.normalize(rng.normal(size=(num_memories, dim)))


@pytest.mark.parametrize("shape", [(5, 8), (2, 3, 4, 6)])
def test_l2_normalize_matches_reference(shape):
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    expected = numpy_reference.normalize(x)
    result = keras.ops.convert_to_numpy(nihr_ops.l2_normalize(x))
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-6)


def test_l2_normalize_short_vector_divides_by_epsilon():
    x = np.array([[3e-8, 4e-8]], dtype="float32")
    result = keras.ops.convert_to_numpy(nihr_ops.l2_normalize(x, 1e-6))
    np.testing.assert_allclose(result, x / 1e-6, rtol=1e-5)


def test_l2_normalize_zero_and_huge_vectors_stay_finite():
    x = np.array([[0.0, 0.0, 0.0], [3e38, -3e38, 1e38]], dtype="float32")
    result = keras.ops.convert_to_numpy(nihr_ops.l2_normalize(x))
    assert np.all(np.isfinite(result))
    np.testing.assert_array_equal(result[0], np.zeros(3))
    expected = np.array([3.0, -3.0, 1.0]) / np.sqrt(19.0)
    np.testing.assert_allclose(result[1], expected, rtol=1e-6)


@pytest.mark.parametrize("beta", [0.5, 8.0, 300.0])
def test_retrieval_step_matches_reference(beta):
    rng = np.random.default_rng(1)
    memories = _unit_rows(rng, 7, 5).astype("float32")
    queries = rng.normal(size=(4, 3, 5)).astype("float32")
    noise = (0.3 * rng.normal(size=queries.shape)).astype("float32")
    expected, _, expected_weights = numpy_reference.retrieve(
        queries, memories, beta, iterations=1, noises=[noise]
    )

    result, weights = nihr_ops.retrieval_step(
        queries, keras.ops.convert_to_tensor(memories), beta, noise=noise
    )

    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(result), expected, rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(weights),
        expected_weights,
        rtol=1e-4,
        atol=1e-6,
    )


def test_stable_softmax_survives_huge_logits():
    logits = np.array([[1e4, 1e4 - 1.0, -1e4]], dtype="float32")
    result = keras.ops.convert_to_numpy(nihr_ops.stable_softmax(logits))
    expected = numpy_reference.softmax(logits.astype("float64"))
    assert np.all(np.isfinite(result))
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("beta", [0.1, 4.0, 1e3])
def test_energy_matches_reference(beta):
    rng = np.random.default_rng(2)
    memories = _unit_rows(rng, 9, 6).astype("float32")
    queries = rng.normal(size=(3, 2, 6)).astype("float32")
    expected = numpy_reference.energy(queries, memories, beta)
    result = keras.ops.convert_to_numpy(
        nihr_ops.energy(queries, memories, beta)
    )
    assert result.shape == (3, 2)
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("beta", [0.5, 3.0, 20.0, 200.0])
def test_energy_of_normalized_iterates_never_increases(beta):
    rng = np.random.default_rng(3)
    memories = keras.ops.convert_to_tensor(
        _unit_rows(rng, 12, 8).astype("float32")
    )
    states = rng.normal(size=(64, 8)).astype("float32")
    energies = []
    for _ in range(25):
        directions = nihr_ops.l2_normalize(states)
        energies.append(
            keras.ops.convert_to_numpy(
                nihr_ops.energy(directions, memories, beta)
            )
        )
        states, _ = nihr_ops.retrieval_step(states, memories, beta)
    steps = np.diff(np.stack(energies), axis=0)
    # float32 rounding of energies of order one is about 1e-7 relative.
    assert np.max(steps) <= 1e-5
    # The dynamics must actually move for the check to mean something.
    assert np.min(steps) < -1e-3


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_is_promoted_to_float32(dtype):
    x = keras.ops.convert_to_tensor(
        np.array([[3.0, 4.0], [0.5, -1.0]]), dtype=dtype
    )
    normalized = nihr_ops.l2_normalize(x)
    weights = nihr_ops.stable_softmax(x)
    assert keras.backend.standardize_dtype(normalized.dtype) == "float32"
    assert keras.backend.standardize_dtype(weights.dtype) == "float32"
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(normalized)[0], [0.6, 0.8], rtol=1e-6
    )


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_attend_with_memory_keys_matches_reference(dtype):
    rng = np.random.default_rng(4)
    memories = _unit_rows(rng, 6, 4)
    directions = numpy_reference.normalize(rng.normal(size=(5, 4)))
    beta = 7.0
    memories_tensor = keras.ops.convert_to_tensor(memories, dtype=dtype)
    keys, logit_scale = nihr_ops.memory_keys(memories_tensor, beta)
    result, weights = nihr_ops.attend(
        keras.ops.convert_to_tensor(directions, dtype=dtype),
        keys,
        memories_tensor,
        logit_scale,
    )

    # float16 keeps the memories unscaled because beta * memories could
    # exceed its range; the other dtypes fold beta into the keys.
    assert logit_scale == (beta if dtype == "float16" else 1.0)
    assert tuple(keys.shape) == (4, 6)
    assert keras.backend.standardize_dtype(result.dtype) == dtype
    assert keras.backend.standardize_dtype(weights.dtype) == "float32"
    expected_weights = numpy_reference.softmax(beta * directions @ memories.T)
    tolerance = 1e-5 if dtype == "float32" else 5e-2
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(weights), expected_weights, atol=tolerance
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(keras.ops.cast(result, "float32")),
        expected_weights @ memories,
        atol=tolerance,
    )


@pytest.mark.parametrize("scale", [1.0, 1e-9, 1e9])
def test_bounded_l2_normalize_matches_reference(scale):
    rng = np.random.default_rng(5)
    x = (scale * rng.normal(size=(4, 3, 7))).astype("float32")
    x[0, 0] = 0.0
    result = keras.ops.convert_to_numpy(nihr_ops._l2_normalize_bounded(x, 1e-6))
    np.testing.assert_allclose(
        result, numpy_reference.normalize(x), rtol=1e-5, atol=1e-6
    )
