"""`applications.distribute`: data-parallel training against one device.

The comparisons run on two CPU devices in a child process (see
`tests.multi_device`). The functions whose names start with `_worker` run
there.
"""

import argparse
import logging

import keras
import numpy as np
import pytest

from applications import distribute
from keras_nihr.layers import HopfieldRetrieval
from tests.multi_device import LogRecorder
from tests.multi_device import requires_data_parallel
from tests.multi_device import run_with_cpu_devices

_BACKEND = keras.backend.backend()

TRAIN_X = np.random.default_rng(0).normal(size=(48, 6)).astype("float32")
TRAIN_Y = np.random.default_rng(1).normal(size=(48, 3)).astype("float32")
BATCH_SIZE = 8
EPOCHS = 3
# Splitting a batch changes the order of float32 sums by about 1e-7. The
# layer computes its logits in float32 and the batch normalization of 8
# examples amplifies such differences, which reach about 1e-4 in weights
# and outputs after 18 steps on JAX. Per-replica batch statistics, the
# error these tests guard against, change the losses by more than 1e-3.
_WEIGHT_ATOL = 5e-4


class _ExamplesSeen(keras.metrics.Metric):
    """Number of examples the replicas saw, summed over replicas.

    It equals the data set size only if each replica got its own part of
    every batch, and twice that on two replicas that each got all of it.
    """

    def __init__(self):
        super().__init__(name="examples_seen")
        self.examples = self.add_variable(
            shape=(), initializer="zeros", name="examples", aggregation="sum"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        batch_size = keras.ops.shape(y_true)[0]
        self.examples.assign_add(keras.ops.cast(batch_size, "float32"))

    def result(self):
        return keras.ops.cast(self.examples, "float32")


def _build_model(noise_stddev, synchronized_batch_norm=False):
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8),
            keras.layers.BatchNormalization(
                synchronized=synchronized_batch_norm
            ),
            keras.layers.Activation("tanh"),
            HopfieldRetrieval(
                num_memories=6,
                iterations=2,
                beta=4.0,
                noise_stddev=noise_stddev,
                seed=3,
            ),
            keras.layers.Dense(3),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss="mse",
        metrics=[_ExamplesSeen()],
    )
    return model


def _train(enabled, noise_stddev, initial_weights, synchronize=True):
    """Train from `initial_weights` and return losses and final weights."""
    with distribute.data_parallel(enabled) as setup:
        setup.check_batch_size(BATCH_SIZE, len(TRAIN_X))
        synchronized = synchronize and setup.synchronized_batch_norm
        model = _build_model(noise_stddev, synchronized)
        model.set_weights(initial_weights)
        history = model.fit(
            TRAIN_X,
            TRAIN_Y,
            batch_size=BATCH_SIZE,
            epochs=EPOCHS,
            shuffle=False,
            verbose=0,
        )
        test_loss, _ = model.evaluate(
            TRAIN_X, TRAIN_Y, batch_size=BATCH_SIZE, verbose=0
        )
    # 13 examples do not split over two devices, which only works after
    # the block on JAX.
    predictions = model.predict(TRAIN_X[:13], batch_size=BATCH_SIZE, verbose=0)
    return {
        "predictions": np.asarray(predictions).tolist(),
        "num_replicas": setup.num_replicas,
        "losses": history.history["loss"],
        "examples_seen": history.history["examples_seen"],
        "test_loss": test_loss,
        "weights": [np.asarray(w).tolist() for w in model.get_weights()],
    }


def _distribution_is_active():
    if _BACKEND == "jax":
        return keras.distribution.distribution() is not None
    import tensorflow as tf

    return tf.distribute.has_strategy()


def _worker_compare_with_one_device():
    handler = LogRecorder()
    logging.getLogger(distribute.__name__).addHandler(handler)
    logging.getLogger(distribute.__name__).setLevel(logging.INFO)

    keras.utils.set_random_seed(0)
    initial_weights = _build_model(noise_stddev=0.0).get_weights()
    single = _train(False, 0.0, initial_weights)
    distributed = _train(True, 0.0, initial_weights)
    active_after_exit = _distribution_is_active()
    noisy_runs = [_train(True, 0.2, initial_weights) for _ in range(2)]
    unsynchronized = None
    if keras.backend.backend() == "tensorflow":
        unsynchronized = _train(True, 0.0, initial_weights, synchronize=False)
    return {
        "single": single,
        "distributed": distributed,
        "unsynchronized": unsynchronized,
        "noisy_runs": noisy_runs,
        "active_after_exit": active_after_exit,
        "log": handler.messages,
    }


@pytest.fixture(scope="module")
def comparison():
    return run_with_cpu_devices(__name__, "_worker_compare_with_one_device")


def test_flag_is_off_by_default():
    parser = argparse.ArgumentParser()
    distribute.add_distribute_argument(parser)
    assert parser.parse_args([]).distribute is False
    assert parser.parse_args(["--distribute"]).distribute is True


def test_disabled_scope_uses_one_device():
    with distribute.data_parallel(False) as setup:
        assert setup.num_replicas == 1
        assert setup.devices == ()
        assert setup.backend == _BACKEND
        if _BACKEND in distribute.SUPPORTED_BACKENDS:
            assert not _distribution_is_active()


def test_synchronized_batch_norm_only_for_tf_replicas():
    devices = ("cpu:0", "cpu:1")
    tensorflow_setup = distribute.DataParallelSetup("tensorflow", devices)
    assert tensorflow_setup.synchronized_batch_norm is True
    jax_setup = distribute.DataParallelSetup("jax", devices)
    assert jax_setup.synchronized_batch_norm is False
    one_device = distribute.DataParallelSetup("tensorflow", devices[:1])
    assert one_device.synchronized_batch_norm is False


def test_check_batch_size_returns_per_device_size():
    setup = distribute.DataParallelSetup("jax", ("cpu:0", "cpu:1"))
    assert setup.num_replicas == 2
    assert setup.check_batch_size(8) == 4
    assert setup.check_batch_size(8, num_examples=36) == 4
    assert setup.check_batch_size(8, num_examples=32) == 4


def test_check_batch_size_rejects_uneven_batch():
    setup = distribute.DataParallelSetup("jax", ("cpu:0", "cpu:1"))
    with pytest.raises(ValueError, match="--batch-size: 7 does not split"):
        setup.check_batch_size(7)


def test_check_batch_size_rejects_uneven_last_batch():
    setup = distribute.DataParallelSetup("jax", ("cpu:0", "cpu:1"))
    with pytest.raises(ValueError, match="has 1 examples") as error:
        setup.check_batch_size(8, num_examples=33)
    assert "--train-limit" in str(error.value)


def test_check_batch_size_accepts_anything_on_one_device():
    setup = distribute.DataParallelSetup("jax")
    assert setup.check_batch_size(7, num_examples=33) == 7


@pytest.mark.skipif(
    _BACKEND in distribute.SUPPORTED_BACKENDS,
    reason="this backend supports --distribute",
)
def test_unsupported_backend_raises():
    with pytest.raises(ValueError, match=f"'{_BACKEND}' backend") as error:
        with distribute.data_parallel(True):
            pass
    assert "KERAS_BACKEND=jax" in str(error.value)
    assert "KERAS_BACKEND=tensorflow" in str(error.value)


@requires_data_parallel
def test_distributed_run_uses_two_devices(comparison):
    assert comparison["single"]["num_replicas"] == 1
    assert comparison["distributed"]["num_replicas"] == 2
    assert any("on 2 devices" in line for line in comparison["log"])


@requires_data_parallel
def test_distributed_batches_are_split(comparison):
    for run in ("single", "distributed"):
        examples_seen = comparison[run]["examples_seen"]
        np.testing.assert_array_equal(examples_seen, [len(TRAIN_X)] * EPOCHS)


@requires_data_parallel
def test_distributed_losses_equal_one_device(comparison):
    single = comparison["single"]
    distributed = comparison["distributed"]
    assert len(distributed["losses"]) == EPOCHS
    np.testing.assert_allclose(
        distributed["losses"], single["losses"], rtol=1e-5
    )
    np.testing.assert_allclose(
        distributed["test_loss"], single["test_loss"], rtol=1e-5
    )
    # Training must have moved the loss, or equal losses prove nothing.
    assert distributed["losses"][-1] < 0.9 * distributed["losses"][0]


@requires_data_parallel
def test_distributed_weights_equal_one_device(comparison):
    single = comparison["single"]["weights"]
    distributed = comparison["distributed"]["weights"]
    assert len(distributed) == len(single)
    for expected, actual in zip(single, distributed, strict=True):
        np.testing.assert_allclose(actual, expected, atol=_WEIGHT_ATOL)


@pytest.mark.skipif(
    _BACKEND != "tensorflow",
    reason="only tf.distribute normalizes with per-replica statistics",
)
def test_unsynchronized_batch_norm_differs(comparison):
    single = comparison["single"]["losses"]
    unsynchronized = comparison["unsynchronized"]["losses"]
    assert np.max(np.abs(np.subtract(unsynchronized, single))) > 1e-3


@requires_data_parallel
def test_predict_after_block_takes_any_batch(comparison):
    single = comparison["single"]["predictions"]
    distributed = comparison["distributed"]["predictions"]
    assert np.shape(distributed) == (13, 3)
    np.testing.assert_allclose(distributed, single, atol=_WEIGHT_ATOL)


@requires_data_parallel
def test_distribution_is_restored_on_exit(comparison):
    assert comparison["active_after_exit"] is False


@requires_data_parallel
def test_noisy_distributed_runs_repeat(comparison):
    first, second = comparison["noisy_runs"]
    np.testing.assert_array_equal(first["losses"], second["losses"])
    for first_weight, second_weight in zip(
        first["weights"], second["weights"], strict=True
    ):
        np.testing.assert_array_equal(first_weight, second_weight)
    noiseless = comparison["distributed"]["losses"]
    assert not np.allclose(first["losses"], noiseless)
