"""NumPy float64 reference of the NIHR equations, used by the tests.

Written directly from the equations, independently of `keras_nihr.ops`:

    z_hat = (z + xi) / max(||z + xi||, eps)
    z     = sum_i softmax(beta * z_hat . e_i) e_i
"""

import numpy as np


def normalize(x, epsilon=1e-6):
    x = np.asarray(x, dtype="float64")
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norm, epsilon)


def softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    weights = np.exp(shifted)
    return weights / weights.sum(axis=-1, keepdims=True)


def retrieve(queries, memories, beta, iterations, noises=None, epsilon=1e-6):
    """Run the update `iterations` times on raw (unnormalized) memories.

    Returns `(outputs, trajectory, attention_weights)` with the trajectory
    stacked on axis 1, like the layer.
    """
    unit_memories = normalize(memories, epsilon)
    states = np.asarray(queries, dtype="float64")
    trajectory = []
    weights = None
    for step in range(iterations):
        noisy = states if noises is None else states + noises[step]
        directions = normalize(noisy, epsilon)
        weights = softmax(beta * directions @ unit_memories.T)
        states = weights @ unit_memories
        trajectory.append(states)
    return states, np.stack(trajectory, axis=1), weights


def energy(queries, memories, beta):
    logits = (
        beta
        * np.asarray(queries, "float64")
        @ np.asarray(memories, "float64").T
    )
    peak = logits.max(axis=-1)
    log_sum = peak + np.log(np.exp(logits - peak[..., None]).sum(axis=-1))
    return -log_sum / beta
