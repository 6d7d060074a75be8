import keras
import numpy as np
import pytest

from applications.models import autoencoders
from applications.models.vae import GaussianSampling
from applications.models.vq import VectorQuantizer
from keras_nihr.layers import HopfieldRetrieval

LATENT_DIM = 3
FILTERS = (2, 4)

BUILDERS = {
    "ae": lambda: autoencoders.build_autoencoder(LATENT_DIM, FILTERS),
    "vae": lambda: autoencoders.build_vae(LATENT_DIM, FILTERS, seed=1),
    "vqvae": lambda: autoencoders.build_vqvae(LATENT_DIM, FILTERS, num_codes=5),
    "nihr": lambda: autoencoders.build_nihr_autoencoder(
        LATENT_DIM,
        FILTERS,
        num_memories=6,
        iterations=3,
        beta=4.0,
        noise_stddev=0.2,
        seed=2,
    ),
}


def _images(num_images=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((num_images, 28, 28, 1)).astype("float32")


def _latent_model(model):
    layer = model.get_layer(autoencoders.LATENT_LAYER_NAME)
    return keras.Model(model.inputs, layer.output)


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_builder_output_and_latent_shapes(kind):
    keras.utils.set_random_seed(0)
    model = BUILDERS[kind]()
    images = _images()

    reconstructions = model.predict(images, verbose=0)
    latents = _latent_model(model).predict(images, verbose=0)

    assert model.name == kind
    assert reconstructions.shape == (4, 28, 28, 1)
    assert latents.shape == (4, LATENT_DIM)
    # Sigmoid output: reconstructions are valid pixel values.
    assert reconstructions.min() >= 0.0
    assert reconstructions.max() <= 1.0


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_builder_survives_keras_file_round_trip(kind, tmp_path):
    keras.utils.set_random_seed(0)
    model = BUILDERS[kind]()
    images = _images()
    expected = model.predict(images, verbose=0)
    path = tmp_path / f"{kind}.keras"

    model.save(path)
    restored = keras.saving.load_model(path)

    np.testing.assert_allclose(
        restored.predict(images, verbose=0), expected, rtol=1e-6, atol=1e-6
    )
    assert [layer.get_config() for layer in restored.layers] == [
        layer.get_config() for layer in model.layers
    ]


def test_bottleneck_layers_of_each_model():
    models = {kind: build() for kind, build in BUILDERS.items()}

    assert isinstance(models["vae"].get_layer("vae_sampling"), GaussianSampling)
    assert isinstance(
        models["vqvae"].get_layer("vqvae_quantizer"), VectorQuantizer
    )
    retrieval = models["nihr"].get_layer("nihr_retrieval")
    assert isinstance(retrieval, HopfieldRetrieval)
    assert retrieval.num_memories == 6
    assert retrieval.iterations == 3
    assert retrieval.beta == 4.0
    assert retrieval.noise_stddev == 0.2


def test_vae_latent_is_mean_at_inference():
    keras.utils.set_random_seed(0)
    model = BUILDERS["vae"]()
    images = _images()
    mean_model = keras.Model(
        model.inputs, model.get_layer("vae_encoder_mean").output
    )

    np.testing.assert_allclose(
        _latent_model(model).predict(images, verbose=0),
        mean_model.predict(images, verbose=0),
        atol=1e-6,
    )


def test_nihr_latent_is_within_unit_ball():
    keras.utils.set_random_seed(0)
    model = BUILDERS["nihr"]()

    latents = _latent_model(model).predict(_images(8), verbose=0)

    # A convex combination of unit memories has norm at most one.
    assert np.linalg.norm(latents, axis=-1).max() <= 1.0 + 1e-5


def _sub_model(model, layer_name):
    layer = model.get_layer(layer_name)
    return keras.Model(model.inputs, layer.output)


def _bottleneck_loss(kind, model, images):
    """The KL or VQ term of `model` on `images`, computed with NumPy."""
    if kind == "vae":
        mean = _sub_model(model, "vae_encoder_mean").predict(images, verbose=0)
        log_var = _sub_model(model, "vae_encoder_log_var").predict(
            images, verbose=0
        )
        kl = -0.5 * np.sum(1 + log_var - mean**2 - np.exp(log_var), axis=-1)
        return np.mean(kl) / (28 * 28)
    codes = _sub_model(model, "vqvae_encoder_latent").predict(images, verbose=0)
    codebook = keras.ops.convert_to_numpy(
        model.get_layer("vqvae_quantizer").codebook
    )
    distances = ((codes[:, None, :] - codebook[None]) ** 2).sum(-1)
    quantized = codebook[distances.argmin(-1)]
    # Codebook and commitment terms have the same value in the forward
    # pass; the commitment cost is 0.25.
    return 1.25 * np.mean((codes - quantized) ** 2)


@pytest.mark.parametrize("kind", ["vae", "vqvae"])
def test_training_loss_adds_bottleneck_term(kind):
    keras.utils.set_random_seed(0)
    model = BUILDERS[kind]()
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    images = _images(8)

    total = model.evaluate(images, images, batch_size=8, verbose=0)

    reconstructions = model.predict(images, verbose=0).astype("float64")
    clipped = np.clip(reconstructions, 1e-7, 1 - 1e-7)
    cross_entropy = -np.mean(
        images * np.log(clipped) + (1 - images) * np.log(1 - clipped)
    )
    extra = _bottleneck_loss(kind, model, images)
    assert extra > 0
    np.testing.assert_allclose(total, cross_entropy + extra, rtol=1e-4)


@pytest.mark.parametrize(
    "builder",
    [
        autoencoders.build_autoencoder,
        autoencoders.build_vae,
        autoencoders.build_vqvae,
        autoencoders.build_nihr_autoencoder,
    ],
)
def test_builders_reject_invalid_sizes(builder):
    with pytest.raises(ValueError, match="latent_dim=0"):
        builder(latent_dim=0)
    with pytest.raises(ValueError, match="filters"):
        builder(latent_dim=2, filters=(8,))
    with pytest.raises(ValueError, match="filters"):
        builder(latent_dim=2, filters=(8, 0))
