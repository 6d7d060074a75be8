"""Data-parallel training on all visible devices with Keras' own engines.

With `--distribute`, an experiment command builds, compiles, trains and
evaluates its models inside `data_parallel(True)`:

- JAX: `keras.distribution.DataParallel` over
  `keras.distribution.list_devices()` (the GPUs or TPUs, else the CPU
  devices). Variables are replicated and every batch is sharded along its
  first axis.
- TensorFlow: `tf.distribute.MirroredStrategy` over the visible GPUs, else
  the logical CPU devices. Variables are mirrored and every batch is split
  over the replicas.
- PyTorch: not supported, because Keras 3 has no data-parallel
  distribution for it; `data_parallel(True)` raises `ValueError`.

`--batch-size` stays the global batch, so each of N devices computes
`batch_size / N` examples per step and the gradients are combined before
the update. A run then matches a single-device run with the same batch size
up to floating-point rounding, except for the noise of `HopfieldRetrieval`
on TensorFlow, which each replica draws for its own examples. On TensorFlow,
`BatchNormalization` layers must be built with
`synchronized=setup.synchronized_batch_norm` to use the statistics of the
global batch.
"""

import contextlib
import dataclasses
import functools
import logging

import keras

SUPPORTED_BACKENDS = ("jax", "tensorflow")

logger = logging.getLogger(__name__)


def add_distribute_argument(parser):
    """Add the `--distribute` flag to an `argparse.ArgumentParser`."""
    parser.add_argument(
        "--distribute",
        action="store_true",
        help="Train data-parallel on all visible GPUs (else all CPU "
        "devices) with keras.distribution.DataParallel on JAX or "
        "tf.distribute.MirroredStrategy on TensorFlow. --batch-size is the "
        "global batch and must split evenly over the devices. Not "
        "available on the PyTorch backend.",
    )


@dataclasses.dataclass(frozen=True)
class DataParallelSetup:
    """Devices that the models of a `data_parallel` block train on.

    Attributes:
        backend: Name of the Keras backend.
        devices: Tuple of device names, empty when data parallelism is off.
    """

    backend: str
    devices: tuple = ()

    @property
    def num_replicas(self):
        """Number of model copies that share each batch (1 when off)."""
        return max(len(self.devices), 1)

    def describe(self):
        """Return a JSON-serializable record of the setup for result files.

        `distribute` is false when data parallelism is off. `num_devices`
        counts the devices that share each batch, 1 when off.
        """
        return {
            "distribute": bool(self.devices),
            "num_devices": self.num_replicas,
            "devices": list(self.devices),
        }

    @property
    def synchronized_batch_norm(self):
        """Whether `BatchNormalization` needs `synchronized=True`.

        Under `tf.distribute` each replica normalizes with the statistics
        of its own part of the batch unless the layer is synchronized, and
        Keras accepts `synchronized=True` only on TensorFlow. JAX's
        `DataParallel` computes the statistics over the global batch
        anyway, like a single device.
        """
        return self.backend == "tensorflow" and self.num_replicas > 1

    def check_batch_size(
        self,
        batch_size,
        num_examples=None,
        *,
        option="--batch-size",
        limit_options=("--train-limit", "--test-limit"),
    ):
        """Check that every batch splits evenly over the devices.

        An uneven split fails on JAX and, on TensorFlow, weights the
        examples of the smaller replica batches more than a single-device
        run would.

        Args:
            batch_size: Global batch size given to `fit`, `evaluate` or
                `predict`.
            num_examples: Optional size of the data set, to also check its
                last, smaller batch.
            option: Command-line option that sets `batch_size`, named in
                the error message.
            limit_options: Command-line options that set `num_examples`,
                named in the error message.

        Returns:
            The number of examples per device in a full batch.

        Raises:
            ValueError: If a batch does not split evenly.
        """
        replicas = self.num_replicas
        if batch_size % replicas:
            raise ValueError(
                f"Invalid value received for {option}: {batch_size} "
                f"does not split evenly over {replicas} devices. Use a "
                f"multiple of {replicas}."
            )
        last_batch = num_examples % batch_size if num_examples else 0
        if last_batch % replicas:
            limits = ", ".join(limit_options)
            raise ValueError(
                f"The last batch of {num_examples} examples in batches of "
                f"{batch_size} has {last_batch} examples, which does not "
                f"split evenly over {replicas} devices. Choose a value of "
                f"{option} or of an example limit ({limits}) that leaves a "
                f"multiple of {replicas}."
            )
        return batch_size // replicas


def check_backend(enabled):
    """Check that the Keras backend supports `data_parallel(enabled)`.

    Commands call it while they check their options, so that
    `--distribute` on PyTorch fails before any data is loaded.

    Args:
        enabled: Bool, the value of `--distribute`.

    Raises:
        ValueError: If `enabled` is true on a backend other than JAX or
            TensorFlow.
    """
    backend = keras.backend.backend()
    if enabled and backend not in SUPPORTED_BACKENDS:
        raise ValueError(
            f"--distribute is not supported on the {backend!r} backend, "
            "because Keras 3 runs model.fit data-parallel only on JAX "
            "(keras.distribution.DataParallel) and TensorFlow "
            "(tf.distribute.MirroredStrategy). Set KERAS_BACKEND=jax or "
            "KERAS_BACKEND=tensorflow, or run without --distribute on one "
            "device."
        )


@contextlib.contextmanager
def data_parallel(enabled):
    """Build, compile and run models inside on all visible devices.

    Create the models inside the block, not just their weights: on
    TensorFlow a model keeps the strategy that was active when it was
    created, and layers create seed state in their constructors. On JAX
    the distribution must also be active during `fit`, so keep training,
    and the callbacks that evaluate during it, inside the block. There,
    `predict` and `evaluate` also need batches that split evenly over the
    devices. After the block, JAX models predict on one device with any
    batch size. The previous distribution is restored on exit.

    Layers that draw noise with `keras.random` and a `SeedGenerator` draw
    the same noise on every TensorFlow replica. `HopfieldRetrieval` avoids
    that by folding the replica index into its seed.

    Args:
        enabled: Bool. `False` runs on the backend's default single device
            and yields a setup with one replica.

    Yields:
        A `DataParallelSetup` naming the devices.

    Raises:
        ValueError: If `enabled` is true on a backend other than JAX or
            TensorFlow.
    """
    backend = keras.backend.backend()
    if not enabled:
        yield DataParallelSetup(backend)
        return
    check_backend(enabled)
    if backend == "jax":
        devices = tuple(keras.distribution.list_devices())
        distribution = keras.distribution.DataParallel(devices=list(devices))
        scope = distribution.scope()
    else:
        import tensorflow as tf

        logical_devices = tf.config.list_logical_devices("GPU")
        if not logical_devices:
            logical_devices = tf.config.list_logical_devices("CPU")
        devices = tuple(device.name for device in logical_devices)
        scope = _mirrored_strategy(devices).scope()
    _log_devices(backend, devices)
    with scope:
        yield DataParallelSetup(backend, devices)


# Every MirroredStrategy numbers its collective ops from the same start
# (group key 1, instance key 100 in TensorFlow 2.21). A second strategy in
# the same process reuses the keys of the first, and training a model of
# another shape then failed with "Shape mismatch in the collective
# instance". One strategy per process and device list avoids that.
@functools.cache
def _mirrored_strategy(devices):
    import tensorflow as tf

    return tf.distribute.MirroredStrategy(devices=devices)


def _log_devices(backend, devices):
    engine = {
        "jax": "keras.distribution.DataParallel",
        "tensorflow": "tf.distribute.MirroredStrategy",
    }[backend]
    count = f"{len(devices)} device" + ("s" if len(devices) != 1 else "")
    logger.info(
        "Data-parallel training with %s on %s: %s",
        engine,
        count,
        ", ".join(devices),
    )
    if len(devices) == 1:
        logger.warning(
            "--distribute found only one device, so training runs as on a "
            "single device. Make more devices visible (e.g. "
            "CUDA_VISIBLE_DEVICES) to split the batches."
        )
