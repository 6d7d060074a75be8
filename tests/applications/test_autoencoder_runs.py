import keras
import numpy as np
from sklearn.cluster import KMeans

from applications.autoencoder_runs import ExperimentData
from applications.autoencoder_runs import warm_up_nihr
from applications.models import autoencoders

NUM_MEMORIES = 4
SEED = 5


def _data(num_images=48):
    rng = np.random.default_rng(0)
    images = rng.random((num_images, 28, 28, 1)).astype("float32")
    labels = np.arange(num_images) % 10
    return ExperimentData(
        images, labels, images[:8], labels[:8], np.arange(16), np.arange(8)
    )


def test_warm_up_sets_kmeans_memories_of_trained_encoder():
    keras.utils.set_random_seed(SEED)
    model = autoencoders.build_nihr_autoencoder(
        latent_dim=3,
        filters=(2, 4),
        num_memories=NUM_MEMORIES,
        iterations=2,
        beta=8.0,
        seed=SEED,
    )
    kernel = model.get_layer("nihr_encoder_latent").kernel
    kernel_before = keras.ops.convert_to_numpy(kernel).copy()
    data = _data()
    settings = {
        "nihr_warmup_epochs": 2,
        "learning_rate": 1e-3,
        "batch_size": 16,
        "num_memories": NUM_MEMORIES,
    }

    history = warm_up_nihr(model, data, settings, SEED, verbose=0)

    assert len(history["loss"]) == 2
    assert not np.allclose(keras.ops.convert_to_numpy(kernel), kernel_before)
    # Reference: the dense latents of the trained encoder, normalized with
    # NumPy and clustered with scikit-learn's KMeans (k-means++, 4 restarts,
    # random_state = the run seed).
    code_layer = model.get_layer("nihr_encoder_latent")
    codes = keras.Model(model.inputs, code_layer.output).predict(
        data.x_train, verbose=0
    )
    units = codes / np.linalg.norm(codes, axis=1, keepdims=True)
    expected = (
        KMeans(n_clusters=NUM_MEMORIES, n_init=4, random_state=SEED)
        .fit(units.astype(np.float64))
        .cluster_centers_
    )
    memories = keras.ops.convert_to_numpy(
        model.get_layer("nihr_retrieval").memories
    )
    np.testing.assert_allclose(memories, expected, atol=1e-4)
