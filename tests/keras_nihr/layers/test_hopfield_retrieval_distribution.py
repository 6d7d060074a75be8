"""HopfieldRetrieval under data-parallel training on two CPU devices.

The multi-device checks run in a child process (see `tests.multi_device`)
that returns plain lists. The functions whose names start with `_worker`
run there.
"""

import contextlib

import keras
import numpy as np
import pytest

from keras_nihr import _distribution
from keras_nihr.layers import HopfieldRetrieval
from tests import numpy_reference
from tests.multi_device import run_with_cpu_devices

_BACKEND = keras.backend.backend()
_MODULE = __name__

SEED = 7
ITERATIONS = 3
BETA = 5.0
STDDEV = 0.3
MEMORIES = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
QUERY = np.random.default_rng(1).normal(size=(1, 4)).astype("float32")
TRAIN_X = np.random.default_rng(2).normal(size=(32, 6)).astype("float32")
TRAIN_Y = np.random.default_rng(3).normal(size=(32, 2)).astype("float32")
# 32 examples in batches of 8 for 2 epochs: 8 steps of 2 iterations each.
FIT_STEPS = 8
FIT_ITERATIONS = 2
FIT_SEED = 1


def _fit_model(noise_stddev):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8),
            HopfieldRetrieval(
                num_memories=5,
                iterations=FIT_ITERATIONS,
                beta=4.0,
                noise_stddev=noise_stddev,
                seed=FIT_SEED,
            ),
            keras.layers.Dense(2),
        ]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def _fit(model):
    history = model.fit(
        TRAIN_X, TRAIN_Y, batch_size=8, epochs=2, shuffle=False, verbose=0
    )
    return history.history["loss"]


def _mirrored_strategy():
    import tensorflow as tf

    devices = [device.name for device in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices)


def _local_values(strategy, variable):
    values = strategy.experimental_local_results(variable.value)
    return [np.asarray(value).tolist() for value in values]


def _mirrored_noise(strategy):
    import tensorflow as tf

    runs = []
    for _ in range(2):
        with strategy.scope():
            layer = HopfieldRetrieval(
                initial_memories=MEMORIES,
                iterations=ITERATIONS,
                beta=BETA,
                noise_stddev=STDDEV,
                seed=SEED,
            )
            layer.build((None, MEMORIES.shape[1]))

        def call_on_replica(x, layer=layer):
            return layer(x, training=True)

        # Without XLA, like Keras' trainer under tf.distribute: XLA
        # clusters cannot read variables mirrored on other devices.
        @tf.function
        def step(x, call_on_replica=call_on_replica):
            # A plain tensor argument reaches every replica unsplit, so
            # both replicas retrieve the same query.
            return strategy.run(call_on_replica, args=(x,))

        outputs = strategy.experimental_local_results(step(QUERY))
        runs.append(
            {
                "outputs": [np.asarray(o).tolist() for o in outputs],
                "seed_states": _local_values(
                    strategy, layer.seed_generator.state
                ),
            }
        )
    # The documented seed of draw t on replica r: the state [SEED, t]
    # folded with r.
    noises = [
        [
            tf.random.stateless_normal(
                QUERY.shape,
                stddev=STDDEV,
                seed=tf.random.fold_in([SEED, draw], replica),
            )
            .numpy()
            .tolist()
            for draw in range(ITERATIONS)
        ]
        for replica in range(strategy.num_replicas_in_sync)
    ]
    return {"runs": runs, "noises": noises}


def _mirrored_fit(strategy):
    with strategy.scope():
        model = _fit_model(noise_stddev=0.1)
    layer = model.layers[1]
    initial_memories = np.asarray(layer.memories.numpy()).tolist()
    losses = _fit(model)
    return {
        "losses": losses,
        "initial_memories": initial_memories,
        "memories": _local_values(strategy, layer.memories),
        "seed_states": _local_values(strategy, layer.seed_generator.state),
    }


def _worker_mirrored():
    # One child process for both checks saves a TensorFlow start-up. They
    # share one strategy, because a second MirroredStrategy in a process
    # can mix up the collective ops of the first.
    strategy = _mirrored_strategy()
    return {"noise": _mirrored_noise(strategy), "fit": _mirrored_fit(strategy)}


def _worker_data_parallel_fit():
    initial_weights = _fit_model(noise_stddev=0.1).get_weights()
    results = {}
    for name in ("single", "distributed"):
        scope = contextlib.nullcontext()
        if name == "distributed":
            distribution = keras.distribution.DataParallel(
                devices=keras.distribution.list_devices()
            )
            scope = distribution.scope()
        with scope:
            model = _fit_model(noise_stddev=0.1)
            model.set_weights(initial_weights)
            losses = _fit(model)
        layer = model.layers[1]
        shards = layer.memories.value.addressable_shards
        results[name] = {
            "losses": losses,
            "memories": np.asarray(layer.memories.value).tolist(),
            "memory_shards": [np.asarray(s.data).tolist() for s in shards],
            "seed_state": np.asarray(layer.seed_generator.state.value).tolist(),
        }
    return results


@pytest.fixture(scope="module")
def mirrored():
    return run_with_cpu_devices(_MODULE, "_worker_mirrored")


@pytest.fixture
def mirrored_noise(mirrored):
    return mirrored["noise"]


@pytest.fixture
def mirrored_fit(mirrored):
    return mirrored["fit"]


@pytest.fixture(scope="module")
def data_parallel_fit():
    return run_with_cpu_devices(_MODULE, "_worker_data_parallel_fit")


_tensorflow_only = pytest.mark.skipif(
    _BACKEND != "tensorflow",
    reason="tf.distribute.MirroredStrategy needs the TensorFlow backend",
)
_jax_only = pytest.mark.skipif(
    _BACKEND != "jax",
    reason="keras.distribution.DataParallel runs on the JAX backend",
)


def test_noise_equals_keras_normal_on_one_device():
    generator = keras.random.SeedGenerator(5)
    reference_generator = keras.random.SeedGenerator(5)
    for _ in range(3):
        noise = _distribution.per_replica_normal(
            (3, 4), stddev=0.3, dtype="float32", seed_generator=generator
        )
        expected = keras.random.normal(
            (3, 4), stddev=0.3, dtype="float32", seed=reference_generator
        )
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(noise),
            keras.ops.convert_to_numpy(expected),
        )
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(generator.state.value), [5, 3]
    )


def test_current_replica_is_zero_on_one_device():
    assert _distribution.current_replica() == (0, 1)


@_tensorflow_only
def test_folded_seed_compiles_with_xla(monkeypatch):
    import tensorflow as tf

    monkeypatch.setattr(
        _distribution, "current_replica", lambda: (tf.constant(1), 2)
    )

    def draw(generator):
        return _distribution.per_replica_normal(
            (3, 4), stddev=0.3, dtype="float32", seed_generator=generator
        )

    def reference():
        return tf.random.stateless_normal(
            (3, 4), stddev=0.3, seed=tf.random.fold_in([5, 0], 1)
        )

    eager = draw(keras.random.SeedGenerator(5))
    compiled = tf.function(draw, jit_compile=True)(
        keras.random.SeedGenerator(5)
    )
    # TensorFlow's stateless ops pick another random algorithm under XLA on
    # CPU, so each result is compared with the reference run the same way.
    np.testing.assert_array_equal(eager.numpy(), reference().numpy())
    np.testing.assert_array_equal(
        compiled.numpy(),
        tf.function(reference, jit_compile=True)().numpy(),
    )


@_tensorflow_only
def test_mirrored_replicas_draw_different_noise(mirrored_noise):
    first, second = mirrored_noise["runs"][0]["outputs"]
    assert np.max(np.abs(np.subtract(first, second))) > 1e-3


@_tensorflow_only
def test_mirrored_noise_follows_folded_seed(mirrored_noise):
    outputs = mirrored_noise["runs"][0]["outputs"]
    for replica, noises in enumerate(mirrored_noise["noises"]):
        expected, _, _ = numpy_reference.retrieve(
            QUERY, MEMORIES, BETA, ITERATIONS, noises=np.asarray(noises)
        )
        np.testing.assert_allclose(outputs[replica], expected, atol=2e-5)


@_tensorflow_only
def test_mirrored_noise_repeats_for_same_seed(mirrored_noise):
    first_run, second_run = mirrored_noise["runs"]
    np.testing.assert_array_equal(first_run["outputs"], second_run["outputs"])


@_tensorflow_only
def test_mirrored_seed_state_advances_on_every_replica(mirrored_noise):
    for seed_state in mirrored_noise["runs"][0]["seed_states"]:
        assert seed_state == [SEED, ITERATIONS]


@_tensorflow_only
def test_mirrored_fit_keeps_replicas_identical(mirrored_fit):
    first, second = mirrored_fit["memories"]
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, mirrored_fit["initial_memories"])
    assert np.all(np.isfinite(mirrored_fit["losses"]))
    for seed_state in mirrored_fit["seed_states"]:
        assert seed_state == [FIT_SEED, FIT_STEPS * FIT_ITERATIONS]


@_jax_only
def test_data_parallel_noise_equals_single_device(data_parallel_fit):
    single = data_parallel_fit["single"]
    distributed = data_parallel_fit["distributed"]
    np.testing.assert_allclose(
        distributed["losses"], single["losses"], rtol=1e-5
    )
    np.testing.assert_allclose(
        distributed["memories"], single["memories"], atol=1e-5
    )


@_jax_only
def test_data_parallel_memories_are_replicated(data_parallel_fit):
    shards = data_parallel_fit["distributed"]["memory_shards"]
    assert len(shards) == 2
    np.testing.assert_array_equal(shards[0], shards[1])
    np.testing.assert_array_equal(
        shards[0], data_parallel_fit["distributed"]["memories"]
    )


@_jax_only
def test_data_parallel_seed_state_advances(data_parallel_fit):
    expected = [FIT_SEED, FIT_STEPS * FIT_ITERATIONS]
    assert data_parallel_fit["single"]["seed_state"] == expected
    assert data_parallel_fit["distributed"]["seed_state"] == expected
