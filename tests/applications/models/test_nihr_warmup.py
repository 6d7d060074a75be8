import keras
import numpy as np
import pytest

from applications.models import autoencoders
from applications.models import nihr_warmup
from keras_nihr.layers import HopfieldRetrieval

NUM_MEMORIES = 4


def _nihr_model():
    keras.utils.set_random_seed(0)
    return autoencoders.build_nihr_autoencoder(
        latent_dim=3,
        filters=(2, 4),
        num_memories=NUM_MEMORIES,
        iterations=2,
        beta=8.0,
        noise_stddev=0.0,
        seed=0,
    )


def _images(num_images=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((num_images, 28, 28, 1)).astype("float32")


def _retrieval(model):
    return model.get_layer(f"{model.name}_retrieval")


def test_bypass_shares_all_weights_but_memories():
    model = _nihr_model()
    memories = _retrieval(model).memories

    bypass = nihr_warmup.build_retrieval_bypass(model)

    expected = [w for w in model.weights if w is not memories]
    assert len(bypass.weights) == len(expected)
    for weight in bypass.weights:
        assert any(weight is other for other in expected), weight.path
    assert not any(
        isinstance(layer, HopfieldRetrieval) for layer in bypass.layers
    )


def test_bypass_feeds_unit_latent_to_decoder():
    model = _nihr_model()
    images = _images(4)
    bypass = nihr_warmup.build_retrieval_bypass(model)
    # Reference: the latents of the encoder, normalized with NumPy, then
    # the decoder layers of the full model applied one by one.
    code_layer = model.get_layer(f"{model.name}_encoder_latent")
    codes = keras.Model(model.inputs, code_layer.output).predict(
        images, verbose=0
    )
    state = codes / np.linalg.norm(codes, axis=1, keepdims=True)
    for suffix in [
        "decoder_dense",
        "decoder_map",
        "decoder_deconv1",
        "decoder_deconv2",
        "decoder_output",
    ]:
        state = model.get_layer(f"{model.name}_{suffix}")(state)

    outputs = bypass.predict(images, verbose=0)

    np.testing.assert_allclose(
        outputs, keras.ops.convert_to_numpy(state), atol=1e-5
    )


def test_bypass_fit_trains_encoder_not_memories():
    model = _nihr_model()
    images = _images(32)
    kernel = model.get_layer(f"{model.name}_encoder_latent").kernel
    kernel_before = keras.ops.convert_to_numpy(kernel).copy()
    memories_before = keras.ops.convert_to_numpy(
        _retrieval(model).memories
    ).copy()
    bypass = nihr_warmup.build_retrieval_bypass(model)
    bypass.compile(optimizer="adam", loss="binary_crossentropy")

    bypass.fit(images, images, epochs=1, batch_size=16, verbose=0)

    assert not np.allclose(keras.ops.convert_to_numpy(kernel), kernel_before)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(_retrieval(model).memories),
        memories_before,
    )


def test_bypass_rejects_model_without_retrieval():
    model = autoencoders.build_autoencoder(latent_dim=3, filters=(2, 4))

    with pytest.raises(ValueError, match="HopfieldRetrieval"):
        nihr_warmup.build_retrieval_bypass(model)


def test_kmeans_memories_find_cluster_directions():
    # Four orthogonal directions in 4-d; every latent is one of them times
    # a random length plus small noise. The centroids of the normalized
    # latents must lie near those unit directions, whatever the lengths.
    rng = np.random.default_rng(1)
    directions = np.eye(4)
    labels = np.repeat(np.arange(4), 50)
    lengths = rng.uniform(0.1, 20.0, size=(200, 1))
    latents = directions[labels] * lengths
    latents += 0.01 * lengths * rng.standard_normal(latents.shape)

    centroids = nihr_warmup.kmeans_memories(latents, 4, seed=0)

    assert centroids.shape == (4, 4)
    assert centroids.dtype == np.float32
    nearest = np.argmax(centroids @ directions.T, axis=1)
    assert sorted(nearest) == [0, 1, 2, 3]
    np.testing.assert_allclose(centroids, directions[nearest], atol=0.02)


def test_kmeans_memories_reject_too_few_latents():
    with pytest.raises(ValueError, match="at least num_memories=4"):
        nihr_warmup.kmeans_memories(np.ones((3, 2)), 4, seed=0)


def test_set_memories_from_kmeans_assigns_centroids():
    model = _nihr_model()
    images = _images(24)

    centroids = nihr_warmup.set_memories_from_kmeans(model, images, seed=3)

    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(_retrieval(model).memories), centroids
    )
    # Every centroid is a mean of unit latents, so it lies in their convex
    # hull: its norm is at most one.
    assert np.all(np.linalg.norm(centroids, axis=1) <= 1.0 + 1e-6)
