import keras
import numpy as np
import pytest

from keras_nihr import ops as nihr_ops
from keras_nihr.layers import HopfieldRetrieval
from tests import backend_utils
from tests import numpy_reference


def _to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def _layer(memories, **kwargs):
    layer = HopfieldRetrieval(initial_memories=memories, **kwargs)
    layer.build((None, memories.shape[1]))
    return layer


@pytest.mark.parametrize(
    "shape, num_memories, iterations, beta",
    [
        ((6, 4), 3, 1, 2.0),
        ((5, 8), 16, 5, 8.0),
        ((2, 3, 3, 6), 10, 4, 30.0),
        ((3, 2, 2, 5), 7, 15, 0.7),
    ],
)
def test_output_matches_numpy_reference(shape, num_memories, iterations, beta):
    rng = np.random.default_rng(0)
    memories = rng.normal(size=(num_memories, shape[-1])).astype("float32")
    queries = rng.normal(size=shape).astype("float32")
    layer = _layer(memories, iterations=iterations, beta=beta)

    outputs, trajectory, weights = layer(
        queries, return_trajectory=True, return_attention_weights=True
    )

    expected, expected_trajectory, expected_weights = numpy_reference.retrieve(
        queries, memories, beta, iterations
    )
    np.testing.assert_allclose(_to_numpy(outputs), expected, atol=2e-5)
    np.testing.assert_allclose(
        _to_numpy(trajectory), expected_trajectory, atol=2e-5
    )
    np.testing.assert_allclose(_to_numpy(weights), expected_weights, atol=2e-5)


def test_noisy_output_matches_reference_with_seeded_noise():
    rng = np.random.default_rng(1)
    memories = rng.normal(size=(12, 6)).astype("float32")
    queries = rng.normal(size=(4, 2, 6)).astype("float32")
    iterations, stddev, seed = 3, 0.2, 7
    layer = _layer(
        memories,
        iterations=iterations,
        beta=5.0,
        noise_stddev=stddev,
        seed=seed,
    )

    outputs = _to_numpy(layer(queries, training=True))

    # The layer draws one noise tensor of the input's shape per iteration
    # from a SeedGenerator seeded with `seed`; draw the same sequence here.
    generator = keras.random.SeedGenerator(seed)
    noises = [
        _to_numpy(
            keras.random.normal(queries.shape, stddev=stddev, seed=generator)
        )
        for _ in range(iterations)
    ]
    expected, _, _ = numpy_reference.retrieve(
        queries, memories, 5.0, iterations, noises=noises
    )
    np.testing.assert_allclose(outputs, expected, atol=2e-5)
    noiseless, _, _ = numpy_reference.retrieve(
        queries, memories, 5.0, iterations
    )
    assert np.max(np.abs(outputs - noiseless)) > 1e-3


def test_query_near_memory_retrieves_it_at_large_beta():
    rng = np.random.default_rng(2)
    memories = numpy_reference.normalize(rng.normal(size=(20, 16)))
    layer = _layer(memories.astype("float32"), iterations=3, beta=200.0)
    for index in (0, 7, 19):
        query = memories[index] + 0.05 * rng.normal(size=16)
        output = _to_numpy(layer(query[None].astype("float32")))[0]
        np.testing.assert_allclose(output, memories[index], atol=1e-4)


def test_tiny_beta_returns_mean_memory():
    rng = np.random.default_rng(3)
    memories = numpy_reference.normalize(rng.normal(size=(9, 5)))
    layer = _layer(memories.astype("float32"), iterations=2, beta=1e-6)
    outputs = _to_numpy(layer(rng.normal(size=(4, 5)).astype("float32")))
    mean_memory = memories.mean(axis=0)
    for output in outputs:
        np.testing.assert_allclose(output, mean_memory, atol=1e-5)


def test_trajectory_ends_at_output_and_weights_sum_to_one():
    layer = HopfieldRetrieval(num_memories=5, iterations=4, beta=3.0)
    queries = np.random.default_rng(4).normal(size=(3, 2, 8))
    outputs, trajectory, weights = layer(
        queries.astype("float32"),
        return_trajectory=True,
        return_attention_weights=True,
    )
    assert tuple(trajectory.shape) == (3, 4, 2, 8)
    assert tuple(weights.shape) == (3, 2, 5)
    np.testing.assert_allclose(
        _to_numpy(trajectory)[:, -1], _to_numpy(outputs), atol=1e-7
    )
    np.testing.assert_allclose(_to_numpy(weights).sum(-1), 1.0, atol=1e-6)


def test_symbolic_call_shapes():
    layer = HopfieldRetrieval(num_memories=6, iterations=3)
    inputs = keras.Input((4, 4, 8))
    outputs, trajectory, weights = layer(
        inputs, return_trajectory=True, return_attention_weights=True
    )
    assert tuple(outputs.shape) == (None, 4, 4, 8)
    assert tuple(trajectory.shape) == (None, 3, 4, 4, 8)
    assert tuple(weights.shape) == (None, 4, 4, 6)
    assert weights.dtype == "float32"
    assert layer.compute_output_shape((None, 4, 4, 8)) == (None, 4, 4, 8)
    assert tuple(layer.memories.shape) == (6, 8)


def test_same_seed_gives_same_noisy_output():
    memories = np.random.default_rng(5).normal(size=(8, 4)).astype("float32")
    queries = np.random.default_rng(6).normal(size=(5, 4)).astype("float32")
    kwargs = dict(iterations=3, beta=4.0, noise_stddev=0.3)
    first = _layer(memories, seed=11, **kwargs)(queries, training=True)
    second = _layer(memories, seed=11, **kwargs)(queries, training=True)
    other = _layer(memories, seed=12, **kwargs)(queries, training=True)
    np.testing.assert_array_equal(_to_numpy(first), _to_numpy(second))
    assert not np.allclose(_to_numpy(first), _to_numpy(other))


def test_inference_is_deterministic_without_noise():
    memories = np.random.default_rng(7).normal(size=(8, 4)).astype("float32")
    queries = np.random.default_rng(8).normal(size=(5, 4)).astype("float32")
    layer = _layer(memories, iterations=3, beta=4.0, noise_stddev=0.3)
    first = _to_numpy(layer(queries))
    second = _to_numpy(layer(queries, training=False))
    np.testing.assert_array_equal(first, second)
    expected, _, _ = numpy_reference.retrieve(queries, memories, 4.0, 3)
    np.testing.assert_allclose(first, expected, atol=2e-5)


def test_noise_at_inference_makes_retrieval_stochastic():
    memories = np.random.default_rng(9).normal(size=(8, 4)).astype("float32")
    queries = np.random.default_rng(10).normal(size=(5, 4)).astype("float32")
    layer = _layer(
        memories,
        iterations=2,
        beta=4.0,
        noise_stddev=0.3,
        noise_at_inference=True,
        seed=1,
    )
    first = _to_numpy(layer(queries))
    second = _to_numpy(layer(queries))
    assert not np.allclose(first, second)


def test_integer_inputs_are_cast_to_compute_dtype():
    memories = np.random.default_rng(11).normal(size=(6, 3)).astype("float32")
    layer = _layer(memories, iterations=2, beta=2.0)
    integers = np.array([[1, 2, 3], [-4, 0, 2]], dtype="int32")
    outputs = layer(integers)
    assert keras.backend.standardize_dtype(outputs.dtype) == "float32"
    np.testing.assert_allclose(
        _to_numpy(outputs),
        _to_numpy(layer(integers.astype("float32"))),
        atol=1e-7,
    )


@pytest.mark.parametrize("beta", [1.0, 1e4])
def test_zero_and_huge_inputs_give_finite_outputs(beta):
    rng = np.random.default_rng(12)
    memories = rng.normal(size=(10, 4)).astype("float32")
    layer = _layer(memories, iterations=3, beta=beta)
    queries = np.array(
        [[0.0, 0.0, 0.0, 0.0], [3e38, -1e38, 2e38, 0.0], [1e-30, 0, 0, 0]],
        dtype="float32",
    )
    outputs = _to_numpy(layer(queries))
    assert np.all(np.isfinite(outputs))
    expected, _, _ = numpy_reference.retrieve(queries, memories, beta, 3)
    np.testing.assert_allclose(outputs, expected, atol=2e-5)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_stays_finite(policy):
    rng = np.random.default_rng(13)
    memories = rng.normal(size=(16, 8)).astype("float32")
    queries = (100.0 * rng.normal(size=(6, 8))).astype("float32")
    queries[0] = 0.0
    layer = HopfieldRetrieval(
        initial_memories=memories,
        iterations=4,
        beta=1e4,
        noise_stddev=0.05,
        seed=0,
        dtype=policy,
    )
    outputs, weights = layer(
        queries, training=True, return_attention_weights=True
    )
    compute_dtype = policy.split("_")[1]
    assert keras.backend.standardize_dtype(outputs.dtype) == compute_dtype
    assert keras.backend.standardize_dtype(weights.dtype) == "float32"
    assert keras.backend.standardize_dtype(layer.memories.dtype) == "float32"
    outputs = _to_numpy(keras.ops.cast(outputs, "float32"))
    assert np.all(np.isfinite(outputs))
    assert np.all(np.isfinite(_to_numpy(weights)))
    # With beta = 1e4 every output is (almost) a single unit memory.
    np.testing.assert_allclose(np.linalg.norm(outputs, axis=-1), 1.0, atol=2e-2)


def test_masking_passes_through():
    layer = HopfieldRetrieval(num_memories=4)
    inputs = np.ones((2, 3, 5), dtype="float32")
    mask = np.array([[True, True, False], [True, False, False]])
    np.testing.assert_array_equal(
        _to_numpy(layer.compute_mask(inputs, mask)), mask
    )
    model = keras.Sequential(
        [
            keras.Input((3, 5)),
            keras.layers.Masking(mask_value=0.0),
            HopfieldRetrieval(num_memories=4, iterations=2),
            keras.layers.LSTM(2),
        ]
    )
    data = np.random.default_rng(14).normal(size=(2, 3, 5)).astype("float32")
    padded = data.copy()
    padded[:, 2] = 0.0
    # The masked last step must not change the LSTM's final state.
    np.testing.assert_allclose(
        _to_numpy(model(padded)),
        _to_numpy(model(padded[:, :2])),
        atol=1e-6,
    )


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(15)
    memories = rng.normal(size=(6, 4)).astype("float32")
    queries = rng.normal(size=(3, 4)).astype("float32")
    projection = rng.normal(size=(3, 4)).astype("float32")
    beta, iterations = 3.0, 2
    layer = _layer(memories, iterations=iterations, beta=beta)

    def loss_fn(x, raw_memories):
        outputs, _ = layer.stateless_call([raw_memories], [], x)
        return keras.ops.sum(outputs * keras.ops.convert_to_tensor(projection))

    grad_queries, grad_memories = backend_utils.gradients(
        loss_fn, [queries, memories]
    )

    def reference_loss(x, raw_memories):
        outputs, _, _ = numpy_reference.retrieve(
            x, raw_memories, beta, iterations
        )
        return np.sum(outputs * projection)

    for array, grad, index in (
        (queries, grad_queries, 0),
        (memories, grad_memories, 1),
    ):
        assert np.all(np.isfinite(grad))
        assert np.max(np.abs(grad)) > 1e-3
        numeric = np.zeros(array.shape)
        step = 1e-5
        for position in np.ndindex(array.shape):
            args = [queries.astype("float64"), memories.astype("float64")]
            args[index][position] += step
            plus = reference_loss(*args)
            args[index][position] -= 2 * step
            minus = reference_loss(*args)
            numeric[position] = (plus - minus) / (2 * step)
        np.testing.assert_allclose(grad, numeric, rtol=2e-3, atol=2e-4)


def test_gradients_are_finite_for_zero_and_noisy_inputs():
    rng = np.random.default_rng(16)
    memories = rng.normal(size=(8, 5)).astype("float32")
    queries = rng.normal(size=(4, 5)).astype("float32")
    queries[0] = 0.0
    layer = _layer(memories, iterations=3, beta=50.0, noise_stddev=0.1)
    seed_state = [v.value for v in layer.non_trainable_variables]

    def loss_fn(x, raw_memories):
        outputs, _ = layer.stateless_call(
            [raw_memories], seed_state, x, training=True
        )
        return keras.ops.sum(keras.ops.square(outputs - 0.1))

    grads = backend_utils.gradients(loss_fn, [queries, memories])
    for grad in grads:
        assert np.all(np.isfinite(grad))
        assert np.max(np.abs(grad)) > 0


def _fit_loss_decreases(jit_compile):
    rng = np.random.default_rng(17)
    x = rng.normal(size=(256, 6)).astype("float32")
    # Targets that a contractive retrieval can represent: four clusters.
    centers = rng.normal(size=(4, 3)).astype("float32")
    y = centers[np.argmax(x[:, :4], axis=1)]
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(16),
            HopfieldRetrieval(
                num_memories=8,
                iterations=3,
                beta=8.0,
                noise_stddev=0.05,
                seed=0,
            ),
            keras.layers.Dense(3),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.02),
        loss="mse",
        jit_compile=jit_compile,
    )
    memories_before = _to_numpy(model.layers[1].memories)
    initial_loss = model.evaluate(x, y, verbose=0)
    history = model.fit(x, y, epochs=15, batch_size=64, verbose=0)
    assert history.history["loss"][-1] < 0.5 * initial_loss
    assert np.all(np.isfinite(history.history["loss"]))
    assert not np.allclose(memories_before, _to_numpy(model.layers[1].memories))


def test_fit_lowers_loss():
    _fit_loss_decreases(jit_compile=False)


def test_fit_lowers_loss_with_jit_compile():
    if keras.backend.backend() == "torch":
        pytest.skip(
            "Keras compiles torch models with torch.compile, which took "
            "about two minutes for this test on 2 CPU cores and hit "
            "dynamo's recompilation limit; eager torch is tested above."
        )
    _fit_loss_decreases(jit_compile=True)


def test_frozen_memories_do_not_change_in_fit():
    memories = np.random.default_rng(18).normal(size=(5, 4)).astype("float32")
    layer = HopfieldRetrieval(
        initial_memories=memories, iterations=2, trainable=False
    )
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), layer])
    model.compile(optimizer="adam", loss="mse")
    assert len(layer.trainable_weights) == 0
    x = np.ones((8, 3), dtype="float32")
    model.fit(x, np.zeros((8, 4), "float32"), epochs=2, verbose=0)
    np.testing.assert_array_equal(_to_numpy(layer.memories), memories)


def test_regularizer_and_constraint_apply_to_memories():
    layer = HopfieldRetrieval(
        num_memories=3,
        memory_regularizer=keras.regularizers.L2(0.5),
        memory_constraint=keras.constraints.MaxNorm(0.1, axis=1),
    )
    layer.build((None, 4))
    values = _to_numpy(layer.memories)
    expected_penalty = 0.5 * np.sum(values**2)
    layer(np.ones((2, 4), dtype="float32"))
    assert len(layer.losses) == 1
    np.testing.assert_allclose(
        _to_numpy(layer.losses[0]), expected_penalty, rtol=1e-5
    )
    constrained = _to_numpy(layer.memory_constraint(layer.memories))
    assert np.all(np.linalg.norm(constrained, axis=1) <= 0.1 + 1e-6)


def test_initial_memories_set_the_weight():
    memories = np.arange(12, dtype="float32").reshape(3, 4) + 1.0
    layer = HopfieldRetrieval(initial_memories=memories)
    layer.build((None, 4))
    assert layer.num_memories == 3
    np.testing.assert_array_equal(_to_numpy(layer.memories), memories)
    np.testing.assert_allclose(
        _to_numpy(layer.normalized_memories()),
        numpy_reference.normalize(memories),
        rtol=1e-6,
    )


def test_config_round_trip():
    layer = HopfieldRetrieval(
        num_memories=7,
        iterations=4,
        beta=12.5,
        noise_stddev=0.25,
        noise_at_inference=True,
        seed=3,
        epsilon=1e-5,
        memory_initializer="glorot_uniform",
        memory_regularizer="l2",
        memory_constraint="unit_norm",
        name="nihr",
    )
    config = layer.get_config()
    restored = HopfieldRetrieval.from_config(config)
    assert restored.get_config() == config
    for key, value in {
        "num_memories": 7,
        "iterations": 4,
        "beta": 12.5,
        "noise_stddev": 0.25,
        "noise_at_inference": True,
        "seed": 3,
        "epsilon": 1e-5,
        "name": "nihr",
    }.items():
        assert config[key] == value
    assert isinstance(
        restored.memory_initializer, keras.initializers.GlorotUniform
    )


def test_config_keeps_initial_memories():
    memories = np.random.default_rng(19).normal(size=(3, 2)).astype("float32")
    layer = HopfieldRetrieval(initial_memories=memories, iterations=2)
    restored = HopfieldRetrieval.from_config(layer.get_config())
    restored.build((None, 2))
    np.testing.assert_array_equal(_to_numpy(restored.memories), memories)


def test_layer_is_registered_for_serialization():
    layer = HopfieldRetrieval(num_memories=2)
    serialized = keras.saving.serialize_keras_object(layer)
    restored = keras.saving.deserialize_keras_object(serialized)
    assert isinstance(restored, HopfieldRetrieval)
    assert keras.saving.get_registered_name(HopfieldRetrieval) == (
        "keras_nihr>HopfieldRetrieval"
    )


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        (dict(num_memories=0), "num_memories"),
        (dict(num_memories=-3), "num_memories"),
        (dict(num_memories=2.5), "num_memories"),
        (dict(num_memories=None), "num_memories"),
        (dict(num_memories=True), "num_memories"),
        (dict(num_memories=4, iterations=0), "iterations"),
        (dict(num_memories=4, iterations=1.0), "iterations"),
        (dict(num_memories=4, beta=0.0), "beta"),
        (dict(num_memories=4, beta=-1.0), "beta"),
        (dict(num_memories=4, beta=float("inf")), "beta"),
        (dict(num_memories=4, beta=float("nan")), "beta"),
        (dict(num_memories=4, beta="8"), "beta"),
        (dict(num_memories=4, noise_stddev=-0.1), "noise_stddev"),
        (dict(num_memories=4, noise_stddev=float("inf")), "noise_stddev"),
        (dict(num_memories=4, noise_stddev=float("nan")), "noise_stddev"),
        (dict(num_memories=4, epsilon=0.0), "epsilon"),
        (dict(num_memories=4, seed=1.5), "seed"),
        (dict(num_memories=4, noise_at_inference="yes"), "noise_at_inference"),
        (dict(initial_memories=np.ones((3,))), "initial_memories"),
        (dict(initial_memories=[[1.0, np.nan]]), "initial_memories"),
        (
            dict(num_memories=2, initial_memories=np.ones((3, 2))),
            "num_memories",
        ),
    ],
)
def test_invalid_arguments_raise(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`") as error:
        HopfieldRetrieval(**kwargs)
    value = kwargs.get(argument)
    if value is None or np.isscalar(value):
        assert f"{argument}=" in str(error.value)


def test_unknown_last_dimension_raises():
    layer = HopfieldRetrieval(num_memories=4)
    with pytest.raises(ValueError, match="last dimension"):
        layer.build((None, None))


def test_initial_memories_of_wrong_width_raise_at_build():
    layer = HopfieldRetrieval(initial_memories=np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"Expected shape \(3, 4\)"):
        layer.build((None, 4))


def test_rank_one_input_raises():
    layer = HopfieldRetrieval(num_memories=4)
    with pytest.raises(ValueError, match="min_ndim=2"):
        layer(np.ones((4,), dtype="float32"))


def test_layer_output_equals_functional_steps():
    rng = np.random.default_rng(20)
    memories = rng.normal(size=(6, 3)).astype("float32")
    queries = rng.normal(size=(4, 3)).astype("float32")
    layer = _layer(memories, iterations=3, beta=2.5)
    states = queries
    unit_memories = layer.normalized_memories()
    for _ in range(3):
        states, _ = nihr_ops.retrieval_step(states, unit_memories, 2.5)
    np.testing.assert_allclose(
        _to_numpy(layer(queries)), _to_numpy(states), atol=1e-6
    )
