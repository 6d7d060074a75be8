"""Warm-up of the NIHR autoencoder: train without retrieval, then k-means.

Trained from random memories, the NIHR autoencoder with several retrieval
iterations can collapse: the latents of all images end up in the basin of
one memory. Once the attention weights saturate, the Jacobian of the
retrieval output with respect to its input, `beta * C (diag(a) - a a^T)
C^T` per step, is close to zero, so the encoder receives almost no gradient
and cannot leave that state (docs/results.md gives the measurements). The
warm-up avoids this in two steps:

1. `build_retrieval_bypass` gives a model that shares the encoder and the
   decoder of the NIHR autoencoder but feeds the unit-norm latent straight
   to the decoder. Training it trains those shared weights.
2. `set_memories_from_kmeans` sets the memories to the k-means centroids
   of the unit-norm latents of training images, so each memory starts
   inside a cluster of real latents.

Training of the full model then starts from there.
"""

import keras
import numpy as np
from sklearn.cluster import KMeans

from applications.models.autoencoders import LATENT_LAYER_NAME
from keras_nihr.layers import HopfieldRetrieval

# k-means++ restarts; the run with the lowest inertia is kept.
KMEANS_N_INIT = 4


def _retrieval_layer(model):
    layers = [
        layer for layer in model.layers if isinstance(layer, HopfieldRetrieval)
    ]
    if len(layers) != 1:
        raise ValueError(
            "Expected a model with exactly one `HopfieldRetrieval` layer, "
            "such as one from `build_nihr_autoencoder`. Received: model "
            f"{model.name!r} with {len(layers)}"
        )
    return layers[0]


def unit_latent_model(model):
    """Return a model from the images to the retrieval input.

    For `build_nihr_autoencoder` models this is the unit-norm latent of the
    encoder, the query of the retrieval.
    """
    retrieval = _retrieval_layer(model)
    return keras.Model(model.inputs, retrieval.input)


def build_retrieval_bypass(model):
    """Build a model that skips the retrieval of a NIHR autoencoder.

    The returned model reuses the layers, and so the weights, of `model`:
    images go through the encoder to the unit-norm latent and from there
    straight to the decoder. Only the memories are left out. Fitting it
    trains the encoder and the decoder of `model`.

    Args:
        model: A model from `build_nihr_autoencoder`, whose layers run in
            order with one `HopfieldRetrieval` layer followed by the
            identity layer `LATENT_LAYER_NAME` and the decoder.

    Returns:
        An uncompiled functional `keras.Model` from the images to the
        reconstructions, named `f"{model.name}_bypass"`.
    """
    retrieval = _retrieval_layer(model)
    layer_names = [layer.name for layer in model.layers]
    if LATENT_LAYER_NAME not in layer_names or layer_names.index(
        LATENT_LAYER_NAME
    ) < layer_names.index(retrieval.name):
        raise ValueError(
            f"Expected a layer named {LATENT_LAYER_NAME!r} after the "
            f"retrieval layer {retrieval.name!r}, as in models from "
            f"`build_nihr_autoencoder`. Received layers: {layer_names}"
        )
    start = layer_names.index(LATENT_LAYER_NAME)
    outputs = retrieval.input
    # The layers after the retrieval form a chain in `build_nihr_autoencoder`
    # (identity, dense, reshape, transposed convolutions, output).
    for layer in model.layers[start:]:
        outputs = layer(outputs)
    return keras.Model(model.inputs, outputs, name=f"{model.name}_bypass")


def kmeans_memories(latents, num_memories, seed):
    """Return k-means centroids of the unit-normalized `latents`.

    Args:
        latents: float array `(N, dim)`; each row is scaled to unit L2 norm
            before clustering.
        num_memories: int, the number of centroids, at most N.
        seed: int, `random_state` of scikit-learn `KMeans`
            (k-means++ initialization, `KMEANS_N_INIT` restarts).

    Returns:
        float32 array `(num_memories, dim)`. Rows are means of unit vectors,
        so their norms are at most one.
    """
    latents = np.asarray(latents, dtype=np.float64)
    if latents.ndim != 2 or len(latents) < num_memories:
        raise ValueError(
            f"Expected at least num_memories={num_memories} latent vectors "
            "of shape (N, dim) to place the memories with k-means. "
            f"Received: shape={latents.shape}. Use more training images or "
            "fewer memories."
        )
    norms = np.linalg.norm(latents, axis=1, keepdims=True)
    directions = latents / np.maximum(norms, 1e-12)
    kmeans = KMeans(
        n_clusters=num_memories, n_init=KMEANS_N_INIT, random_state=seed
    )
    kmeans.fit(directions)
    return kmeans.cluster_centers_.astype(np.float32)


def set_memories_from_kmeans(model, images, seed, batch_size=256):
    """Set the memories of a NIHR autoencoder to k-means centroids.

    Encodes `images` to their unit-norm latents (the retrieval input) and
    assigns `kmeans_memories` of them to the memory weight. The layer
    normalizes the memories in every call, so the centroids act as their
    directions.

    Args:
        model: A model from `build_nihr_autoencoder`.
        images: float images `(N, 28, 28, 1)` in [0, 1], N at least the
            number of memories.
        seed: int, `random_state` of the k-means.
        batch_size: images per forward pass of the encoder.

    Returns:
        The centroids assigned, float32 `(num_memories, dim)`.
    """
    retrieval = _retrieval_layer(model)
    latents = unit_latent_model(model).predict(
        images, batch_size=batch_size, verbose=0
    )
    centroids = kmeans_memories(latents, retrieval.num_memories, seed)
    retrieval.memories.assign(centroids)
    return centroids
