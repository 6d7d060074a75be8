"""Run test code in a child process that has several CPU devices.

JAX and TensorFlow fix their device list when the backend initializes,
long before a test runs. Multi-device checks therefore run in a fresh
Python process. There JAX gets `--xla_force_host_platform_device_count`
in `XLA_FLAGS`, and TensorFlow splits its CPU into logical devices
before it creates any. The child uses the parent's Keras backend.
"""

import importlib
import json
import logging
import os
import pathlib
import subprocess
import sys

import keras
import pytest

from applications import distribute

_DEVICE_COUNT_VARIABLE = "KERAS_NIHR_TEST_CPU_DEVICES"
_REPOSITORY_ROOT = pathlib.Path(__file__).resolve().parents[1]

# Skips a test on backends that `applications.distribute` does not support.
requires_data_parallel = pytest.mark.skipif(
    keras.backend.backend() not in distribute.SUPPORTED_BACKENDS,
    reason=f"--distribute is not available on {keras.backend.backend()}",
)


class LogRecorder(logging.Handler):
    """Keep the messages of log records, for checks in a child process."""

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def run_with_cpu_devices(module, function, num_devices=2, timeout=300):
    """Call `module.function()` in a child process with `num_devices` CPUs.

    Args:
        module: Dotted name of the module that defines `function`.
        function: Name of a function without arguments that returns a
            JSON-serializable value, e.g. lists of losses.
        num_devices: Number of CPU devices in the child process.
        timeout: Seconds before the child is killed and the test fails.

    Returns:
        The decoded return value of `function`.
    """
    import keras

    env = dict(os.environ)
    env["KERAS_BACKEND"] = keras.backend.backend()
    env[_DEVICE_COUNT_VARIABLE] = str(num_devices)
    flag = f"--xla_force_host_platform_device_count={num_devices}"
    env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {flag}".strip()
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    paths = [str(_REPOSITORY_ROOT), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
    command = [sys.executable, "-m", "tests.multi_device", module, function]
    process = subprocess.run(
        command,
        env=env,
        cwd=_REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if process.returncode != 0:
        raise AssertionError(
            f"Child process `{' '.join(command)}` failed with exit code "
            f"{process.returncode}. Its standard error ends with:\n"
            f"{process.stderr[-4000:]}"
        )
    # The result is the last line because Keras may print before it.
    return json.loads(process.stdout.strip().splitlines()[-1])


def _configure_tensorflow_devices(num_devices):
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices
    )


def _main(module, function):
    # Keras is not imported yet: TensorFlow accepts logical devices only
    # before its runtime starts.
    num_devices = int(os.environ[_DEVICE_COUNT_VARIABLE])
    if os.environ["KERAS_BACKEND"] == "tensorflow":
        _configure_tensorflow_devices(num_devices)
    result = getattr(importlib.import_module(module), function)()
    print(json.dumps(result))


if __name__ == "__main__":
    _main(*sys.argv[1:])
