import keras
import numpy as np
import pytest

from keras_nihr.layers import HopfieldRetrieval
from tests import backend_utils
from tests import numpy_reference


def _layer(memories, **kwargs):
    layer = HopfieldRetrieval(initial_memories=memories, **kwargs)
    layer.build((None, memories.shape[1]))
    return layer


def _noises(seed, shape, stddev, iterations):
    # The layer's draw order: one normal tensor of the input's shape per
    # iteration from a SeedGenerator seeded with `seed`.
    generator = keras.random.SeedGenerator(seed)
    return [
        keras.ops.convert_to_numpy(
            keras.random.normal(shape, stddev=stddev, seed=generator)
        )
        for _ in range(iterations)
    ]


def test_remat_output_matches_reference_and_plain_layer():
    rng = np.random.default_rng(30)
    memories = rng.normal(size=(9, 6)).astype("float32")
    queries = rng.normal(size=(3, 2, 6)).astype("float32")
    kwargs = dict(iterations=4, beta=6.0, noise_stddev=0.2, seed=3)

    plain = _layer(memories, **kwargs)
    rematerialized = _layer(memories, remat=True, **kwargs)
    outputs, trajectory, weights = rematerialized(
        queries,
        training=True,
        return_trajectory=True,
        return_attention_weights=True,
    )
    expected_outputs, expected_trajectory, expected_weights = plain(
        queries,
        training=True,
        return_trajectory=True,
        return_attention_weights=True,
    )

    noises = _noises(3, queries.shape, 0.2, 4)
    reference, _, _ = numpy_reference.retrieve(
        queries, memories, 6.0, 4, noises=noises
    )
    outputs = keras.ops.convert_to_numpy(outputs)
    np.testing.assert_allclose(outputs, reference, atol=2e-5)
    np.testing.assert_allclose(
        outputs, keras.ops.convert_to_numpy(expected_outputs), atol=1e-6
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(trajectory),
        keras.ops.convert_to_numpy(expected_trajectory),
        atol=1e-6,
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(weights),
        keras.ops.convert_to_numpy(expected_weights),
        atol=1e-6,
    )


@pytest.mark.parametrize("noise_stddev", [0.0, 0.1])
def test_remat_gradients_match_plain_layer(noise_stddev):
    rng = np.random.default_rng(31)
    memories = rng.normal(size=(7, 5)).astype("float32")
    queries = rng.normal(size=(4, 5)).astype("float32")
    projection = rng.normal(size=(4, 5)).astype("float32")
    kwargs = dict(iterations=3, beta=4.0, noise_stddev=noise_stddev, seed=2)
    gradients = []
    for remat in (False, True):
        layer = _layer(memories, remat=remat, **kwargs)
        seed_state = [v.value for v in layer.non_trainable_variables]

        def loss_fn(x, raw_memories, layer=layer, seed_state=seed_state):
            outputs, _ = layer.stateless_call(
                [raw_memories], seed_state, x, training=True
            )
            weights = keras.ops.convert_to_tensor(projection)
            return keras.ops.sum(outputs * weights)

        gradients.append(backend_utils.gradients(loss_fn, [queries, memories]))

    (plain_queries, plain_memories), (remat_queries, remat_memories) = gradients
    assert np.max(np.abs(plain_queries)) > 1e-3
    assert np.max(np.abs(plain_memories)) > 1e-3
    np.testing.assert_allclose(remat_queries, plain_queries, atol=1e-6)
    np.testing.assert_allclose(remat_memories, plain_memories, atol=1e-6)


def test_remat_backward_does_not_advance_seed_generator():
    if keras.backend.backend() == "jax":
        pytest.skip(
            "JAX gradients trace the layer, so there is no stateful seed "
            "update for the backward pass to repeat."
        )
    rng = np.random.default_rng(32)
    memories = rng.normal(size=(6, 4)).astype("float32")
    queries = rng.normal(size=(3, 4)).astype("float32")
    states = []
    for remat in (False, True):
        layer = _layer(
            memories, iterations=3, noise_stddev=0.1, seed=5, remat=remat
        )

        def loss_fn(x, layer=layer):
            return keras.ops.sum(layer(x, training=True))

        backend_utils.gradients(loss_fn, [queries])
        states.append(
            keras.ops.convert_to_numpy(layer.seed_generator.state.value)
        )
    np.testing.assert_array_equal(states[1], states[0])


def _weights_after_one_step(remat, jit_compile):
    rng = np.random.default_rng(33)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = rng.normal(size=(64, 3)).astype("float32")
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8),
            HopfieldRetrieval(
                num_memories=10,
                iterations=3,
                beta=5.0,
                noise_stddev=0.05,
                seed=1,
                remat=remat,
            ),
            keras.layers.Dense(3),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss="mse",
        jit_compile=jit_compile,
    )
    before = [keras.ops.convert_to_numpy(w) for w in model.weights]
    model.fit(x, y, epochs=1, batch_size=64, shuffle=False, verbose=0)
    after = [keras.ops.convert_to_numpy(w) for w in model.weights]
    return before, after


def test_fit_step_with_remat_matches_fit_step_without():
    # One training step, compiled where Keras compiles by default (XLA on
    # JAX and TensorFlow); torch trains eagerly, since torch.compile takes
    # minutes on CPUs. Over many steps float32 rounding differences
    # between the compiled programs grow, so one step is compared.
    jit_compile = keras.backend.backend() != "torch"
    plain_before, plain_after = _weights_after_one_step(False, jit_compile)
    remat_before, remat_after = _weights_after_one_step(True, jit_compile)
    for plain, remat in zip(plain_before, remat_before, strict=True):
        np.testing.assert_array_equal(remat, plain)
    memories_step = np.abs(plain_after[2] - plain_before[2])
    assert np.max(memories_step) > 1e-4
    for plain, remat in zip(plain_after, remat_after, strict=True):
        np.testing.assert_allclose(remat, plain, rtol=1e-5, atol=1e-6)


def test_remat_is_in_config():
    layer = HopfieldRetrieval(num_memories=3, remat=True)
    config = layer.get_config()
    assert config["remat"] is True
    assert HopfieldRetrieval.from_config(config).remat is True
    assert HopfieldRetrieval(num_memories=3).get_config()["remat"] is False


@pytest.mark.parametrize("value", [1, "yes", None])
def test_non_bool_remat_raises(value):
    with pytest.raises(ValueError, match="`remat`") as error:
        HopfieldRetrieval(num_memories=3, remat=value)
    assert "remat=" in str(error.value)
