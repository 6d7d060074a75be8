"""Backend-specific helpers for the tests."""

import keras
import numpy as np


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
