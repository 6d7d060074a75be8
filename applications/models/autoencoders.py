"""Convolutional autoencoders for 28x28x1 images: AE, VAE, VQ-VAE, NIHR.

All four share one encoder and one decoder and differ only in the
bottleneck between them:

- AE: a dense latent of `latent_dim` units.
- VAE: a reparameterized Gaussian latent (`GaussianSampling`), which adds
  its KL term to the model losses.
- VQ-VAE: the dense latent replaced by its nearest codebook vector
  (`VectorQuantizer`), which adds its codebook and commitment terms.
- NIHR: the dense latent, scaled to unit L2 norm, passed through
  `keras_nihr.layers.HopfieldRetrieval`.

Each model maps images in [0, 1] to reconstructions in [0, 1] (sigmoid
output), so it trains with `model.fit(x, x)` and a reconstruction loss such
as binary cross-entropy. The vector fed to the decoder comes out of an
identity layer named `LATENT_LAYER_NAME` in every model, so evaluation
code can read the latent of any of them the same way.
"""

import numbers

import keras
from keras import layers

from applications.models.vae import GaussianSampling
from applications.models.vq import VectorQuantizer
from keras_nihr.layers import HopfieldRetrieval

IMAGE_SHAPE = (28, 28, 1)

# Name of the identity layer whose output is the decoder input.
LATENT_LAYER_NAME = "latent"

DEFAULT_FILTERS = (32, 64)


def _check_positive_int(name, value):
    if (
        not isinstance(value, numbers.Integral)
        or isinstance(value, bool)
        or value < 1
    ):
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected an int "
            f">= 1. Received: {name}={value!r}"
        )


def _check_filters(filters):
    valid = (
        isinstance(filters, (tuple, list))
        and len(filters) == 2
        and all(
            isinstance(f, numbers.Integral)
            and not isinstance(f, bool)
            and f >= 1
            for f in filters
        )
    )
    if not valid:
        raise ValueError(
            "Invalid value received for argument `filters`. Expected two "
            "ints >= 1, the channels of the 14x14 and 7x7 feature maps. "
            f"Received: filters={filters!r}"
        )
    return tuple(int(f) for f in filters)


def _encode(images, filters, name):
    """Apply the shared encoder and return the flattened 7x7 features."""
    x = images
    for index, channels in enumerate(filters):
        # Stride 2 halves the side: 28 -> 14 -> 7.
        x = layers.Conv2D(
            channels,
            3,
            strides=2,
            padding="same",
            activation="relu",
            name=f"{name}_encoder_conv{index + 1}",
        )(x)
    return layers.Flatten(name=f"{name}_encoder_flatten")(x)


def _decode(latent, filters, name):
    """Apply the shared decoder and return 28x28x1 images in [0, 1]."""
    side = IMAGE_SHAPE[0] // 4
    x = layers.Dense(
        side * side * filters[-1],
        activation="relu",
        name=f"{name}_decoder_dense",
    )(latent)
    x = layers.Reshape((side, side, filters[-1]), name=f"{name}_decoder_map")(x)
    for index, channels in enumerate(reversed(filters)):
        x = layers.Conv2DTranspose(
            channels,
            3,
            strides=2,
            padding="same",
            activation="relu",
            name=f"{name}_decoder_deconv{index + 1}",
        )(x)
    return layers.Conv2D(
        IMAGE_SHAPE[-1],
        3,
        padding="same",
        activation="sigmoid",
        name=f"{name}_decoder_output",
    )(x)


def _assemble(name, images, bottleneck, filters):
    latent = layers.Identity(name=LATENT_LAYER_NAME)(bottleneck)
    outputs = _decode(latent, filters, name)
    return keras.Model(images, outputs, name=name)


def build_autoencoder(latent_dim=16, filters=DEFAULT_FILTERS, name="ae"):
    """Build the plain convolutional autoencoder.

    The encoder has two 3x3 stride-2 ReLU convolutions (28 -> 14 -> 7) and
    a linear dense layer to `latent_dim` units. The decoder mirrors it: a
    ReLU dense layer to a 7x7 map, two 3x3 stride-2 ReLU transposed
    convolutions and a 3x3 sigmoid convolution to one channel.

    Args:
        latent_dim: Positive int, the size D of the latent vector.
        filters: Pair of positive ints, the channels of the 14x14 and 7x7
            feature maps (reversed in the decoder).
        name: Model name, also the prefix of the layer names.

    Returns:
        A functional `keras.Model` from `(batch, 28, 28, 1)` images to
        reconstructions of the same shape. Its layer `LATENT_LAYER_NAME`
        outputs the `(batch, latent_dim)` latents.
    """
    _check_positive_int("latent_dim", latent_dim)
    filters = _check_filters(filters)
    images = keras.Input(IMAGE_SHAPE, name="images")
    features = _encode(images, filters, name)
    code = layers.Dense(latent_dim, name=f"{name}_encoder_latent")(features)
    return _assemble(name, images, code, filters)


def build_vae(
    latent_dim=16,
    filters=DEFAULT_FILTERS,
    kl_weight=1.0 / (28 * 28),
    seed=None,
    name="vae",
):
    """Build the variational autoencoder with the shared encoder/decoder.

    Two linear dense layers map the encoder features to the mean and the
    log-variance of a diagonal Gaussian. `GaussianSampling` samples from it
    in training, returns the mean at inference and adds the weighted KL
    term to `model.losses`.

    Args:
        latent_dim: Positive int, the size D of the latent vector.
        filters: Pair of positive ints, see `build_autoencoder`.
        kl_weight: Non-negative float, the factor of the KL term. The
            default `1 / 784` matches a reconstruction loss averaged over
            the 784 pixels (see `GaussianSampling`).
        seed: Optional int, seed of the sampling noise.
        name: Model name, also the prefix of the layer names.

    Returns:
        A functional `keras.Model`, as in `build_autoencoder`. The latent is
        the sample in training and the mean at inference.
    """
    _check_positive_int("latent_dim", latent_dim)
    filters = _check_filters(filters)
    images = keras.Input(IMAGE_SHAPE, name="images")
    features = _encode(images, filters, name)
    mean = layers.Dense(latent_dim, name=f"{name}_encoder_mean")(features)
    log_var = layers.Dense(latent_dim, name=f"{name}_encoder_log_var")(features)
    sample = GaussianSampling(
        kl_weight=kl_weight, seed=seed, name=f"{name}_sampling"
    )([mean, log_var])
    return _assemble(name, images, sample, filters)


def build_vqvae(
    latent_dim=16,
    filters=DEFAULT_FILTERS,
    num_codes=64,
    commitment_cost=0.25,
    name="vqvae",
):
    """Build the VQ-VAE with the shared encoder/decoder.

    The `latent_dim` vector of the encoder is replaced by its nearest
    vector in a codebook of `num_codes` entries (`VectorQuantizer`), with
    the straight-through estimator for the gradient and the codebook and
    commitment terms added to `model.losses`.

    Args:
        latent_dim: Positive int, the size D of the latent and code vectors.
        filters: Pair of positive ints, see `build_autoencoder`.
        num_codes: Positive int, the codebook size K. Compare with the
            number of memories P of the NIHR autoencoder.
        commitment_cost: Non-negative float, the weight of the commitment
            term.
        name: Model name, also the prefix of the layer names.

    Returns:
        A functional `keras.Model`, as in `build_autoencoder`. The latent is
        the quantized vector.
    """
    _check_positive_int("latent_dim", latent_dim)
    filters = _check_filters(filters)
    images = keras.Input(IMAGE_SHAPE, name="images")
    features = _encode(images, filters, name)
    code = layers.Dense(latent_dim, name=f"{name}_encoder_latent")(features)
    quantized = VectorQuantizer(
        num_codes,
        commitment_cost=commitment_cost,
        name=f"{name}_quantizer",
    )(code)
    return _assemble(name, images, quantized, filters)


def build_nihr_autoencoder(
    latent_dim=16,
    filters=DEFAULT_FILTERS,
    num_memories=64,
    iterations=5,
    beta=16.0,
    noise_stddev=0.05,
    seed=None,
    name="nihr",
):
    """Build the autoencoder with Hopfield retrieval in the bottleneck.

    The encoder's `latent_dim` vector is scaled to unit L2 norm and passed
    through `HopfieldRetrieval`, whose output (a convex combination of
    `num_memories` learned unit memories) feeds the decoder. The unit norm
    fixes the scale the retrieval noise is measured against: without it
    the encoder could grow its outputs until the noise no longer matters.

    Args:
        latent_dim: Positive int, the size D of the latent vector and of
            the memories.
        filters: Pair of positive ints, see `build_autoencoder`.
        num_memories: Positive int, the number of memories P.
        iterations: Positive int, the number of retrieval steps T.
        beta: Positive float, the inverse temperature of the retrieval.
            Small values average many memories; with several iterations
            that can merge all latents into one state (seen on MNIST with
            `beta=8`, `latent_dim=16`, `iterations=5` and random initial
            memories). Large values snap each latent to one memory and
            pass little gradient back to the encoder (seen with `beta=32`
            and `iterations=15`, even after the warm-up in
            `applications.models.nihr_warmup`).
        noise_stddev: Non-negative float, the standard deviation of the
            Gaussian noise added to the unit-norm latent before each
            retrieval step, in training only. This is latent noise, not
            pixel noise; its expected norm is about
            `noise_stddev * sqrt(latent_dim)` (0.2 with the defaults).
        seed: Optional int, seed of the retrieval noise.
        name: Model name, also the prefix of the layer names.

    Returns:
        A functional `keras.Model`, as in `build_autoencoder`. The latent is
        the retrieval output after `iterations` steps. The retrieval layer
        is named `f"{name}_retrieval"`.
    """
    _check_positive_int("latent_dim", latent_dim)
    filters = _check_filters(filters)
    images = keras.Input(IMAGE_SHAPE, name="images")
    features = _encode(images, filters, name)
    code = layers.Dense(latent_dim, name=f"{name}_encoder_latent")(features)
    unit_code = layers.UnitNormalization(name=f"{name}_encoder_unit_norm")(code)
    retrieved = HopfieldRetrieval(
        num_memories=num_memories,
        iterations=iterations,
        beta=beta,
        noise_stddev=noise_stddev,
        seed=seed,
        name=f"{name}_retrieval",
    )(unit_code)
    return _assemble(name, images, retrieved, filters)
