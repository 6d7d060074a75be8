"""Backend-specific helpers for the tests."""

import keras
import numpy as np
import pytest


def gradients(loss_fn, arrays):
    """Return the gradients of `loss_fn(*arrays)` as NumPy arrays.

    `arrays` are float NumPy arrays; `loss_fn` maps backend tensors to a
    scalar tensor. Uses the active backend's automatic differentiation.
    To differentiate with respect to layer weights, pass their values and
    call the layer through `Layer.stateless_call` inside `loss_fn`.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tensors = [tf.constant(a) for a in arrays]
        with tf.GradientTape() as tape:
            for tensor in tensors:
                tape.watch(tensor)
            loss = loss_fn(*tensors)
        return [np.asarray(g) for g in tape.gradient(loss, tensors)]
    if backend == "jax":
        import jax

        argnums = tuple(range(len(arrays)))
        grads = jax.grad(loss_fn, argnums=argnums)(*arrays)
        return [np.asarray(g) for g in grads]
    if backend == "torch":
        import torch

        tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
        grads = torch.autograd.grad(loss_fn(*tensors), tensors)
        return [g.detach().cpu().numpy() for g in grads]
    raise NotImplementedError(f"No gradient helper for backend {backend!r}")


def export_and_load(model, folder):
    """Export `model` in the format tested on this backend and reload it.

    Returns a function that runs the reloaded artifact on a NumPy batch:
    ONNX on torch, a TensorFlow SavedModel on TensorFlow and JAX.
    """
    backend = keras.backend.backend()
    if backend == "torch":
        path = folder / "model.onnx"
        model.export(path, format="onnx", verbose=False)
        return _load_onnx(path)
    if backend in ("tensorflow", "jax"):
        path = folder / "saved_model"
        model.export(path, format="tf_saved_model", verbose=False)
        return _load_tf_saved_model(path)
    pytest.skip(f"No export format is tested on backend {backend!r}")


def _load_tf_saved_model(path):
    import tensorflow as tf

    artifact = tf.saved_model.load(str(path))
    return lambda x: np.asarray(artifact.serve(tf.constant(x)))


def _load_onnx(path):
    import onnxruntime

    session = onnxruntime.InferenceSession(
        str(path), providers=["CPUExecutionProvider"]
    )
    input_name = session.get_inputs()[0].name
    return lambda x: session.run(None, {input_name: x})[0]
