"""Backend-specific compilation, differentiation and synchronization.

The benchmarks write their computations once with `keras.ops` and use the
helpers here to run them eagerly or compiled, and to differentiate them,
with the active backend's own tools:

| backend | compiled with | gradients with |
| --- | --- | --- |
| jax | `jax.jit` | `jax.value_and_grad` |
| tensorflow | `tf.function(jit_compile=True)` (XLA) | `tf.GradientTape` |
| torch | `torch.compile` (default inductor backend) | `torch.autograd.grad` |
"""

import keras
import numpy as np


def backend():
    return keras.backend.backend()


def to_tensor(array):
    """Convert a NumPy array to a tensor on the backend's default device."""
    return keras.ops.convert_to_tensor(np.asarray(array))


def compile_function(function, jit):
    """Return `function` compiled by the backend's JIT, or unchanged."""
    if not jit:
        return function
    name = backend()
    if name == "jax":
        import jax

        return jax.jit(function)
    if name == "tensorflow":
        import tensorflow as tf

        return tf.function(function, jit_compile=True)
    if name == "torch":
        import torch

        return torch.compile(function)
    raise NotImplementedError(f"No JIT compiler is set up for {name!r}.")


def gradient_function(loss_function, jit):
    """Build `f(*args) -> (loss, gradients with respect to every arg)`.

    With `jit=True` the whole forward and backward pass is compiled on JAX
    and TensorFlow. On torch, `torch.compile` compiles the forward pass,
    and AOTAutograd compiles the matching backward graph that
    `torch.autograd.grad` then runs.
    """
    name = backend()
    if name == "jax":
        import jax

        def value_and_grad(*args):
            argnums = tuple(range(len(args)))
            return jax.value_and_grad(loss_function, argnums=argnums)(*args)

        return jax.jit(value_and_grad) if jit else value_and_grad
    if name == "tensorflow":
        import tensorflow as tf

        def value_and_grad(*args):
            with tf.GradientTape() as tape:
                for arg in args:
                    tape.watch(arg)
                loss = loss_function(*args)
            return loss, tape.gradient(loss, list(args))

        if jit:
            return tf.function(value_and_grad, jit_compile=True)
        return value_and_grad
    if name == "torch":
        import torch

        forward = torch.compile(loss_function) if jit else loss_function

        def value_and_grad(*args):
            args = [arg.detach().requires_grad_(True) for arg in args]
            loss = forward(*args)
            return loss, torch.autograd.grad(loss, args)

        return value_and_grad
    raise NotImplementedError(f"No gradient helper is set up for {name!r}.")


def block_until_ready(result):
    """Wait until every tensor in `result` has been computed.

    JAX dispatches asynchronously on every device, and TensorFlow and torch
    do on GPUs, so a timer must wait for the results before it stops.
    """
    name = backend()
    if name == "jax":
        import jax

        return jax.block_until_ready(result)
    if name == "torch":
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return result
    # TensorFlow: reading one element of each output waits for it.
    for tensor in keras.tree.flatten(result):
        np.asarray(keras.ops.convert_to_numpy(keras.ops.ravel(tensor)[:1]))
    return result


def backend_versions():
    """Return the versions of Keras, NumPy and the active backend."""
    versions = {"keras": keras.__version__, "numpy": np.__version__}
    name = backend()
    if name == "jax":
        import jax
        import jaxlib

        versions["jax"] = jax.__version__
        versions["jaxlib"] = jaxlib.__version__
    elif name == "tensorflow":
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    elif name == "torch":
        import torch

        versions["torch"] = torch.__version__
    return versions


def devices():
    """Return a description of the devices the backend computes on."""
    name = backend()
    if name == "jax":
        import jax

        return [str(device) for device in jax.devices()]
    if name == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return [device.name for device in gpus] or ["CPU"]
    if name == "torch":
        import torch

        if torch.cuda.is_available():
            return [
                torch.cuda.get_device_name(index)
                for index in range(torch.cuda.device_count())
            ]
        return [f"CPU ({torch.get_num_threads()} threads)"]
    return [name]


def reset_compiler_caches():
    """Drop compiled torch graphs before a new shape or layer is timed.

    Dynamo keys its cache on the code object, so functions rebuilt for a
    new grid point would otherwise pile up guards until they reach the
    recompilation limit and silently fall back to eager execution.
    """
    if backend() == "torch":
        import torch

        torch._dynamo.reset()


def set_cpu_threads(count):
    """Limit the CPU threads of the backend's operations to `count`.

    Supported on torch and TensorFlow. On a machine busy with other
    processes, torch's OpenMP threads wait for each other at every
    operation, which can slow small operations down many times.
    """
    name = backend()
    if name == "torch":
        import torch

        torch.set_num_threads(count)
        return
    if name == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(count)
        tf.config.threading.set_inter_op_parallelism_threads(count)
        return
    raise ValueError(
        f"Invalid value received for argument `--threads` on backend "
        f"{name!r}: the thread count can be set on torch and tensorflow "
        f"only. Received: --threads={count}. Remove the flag."
    )
