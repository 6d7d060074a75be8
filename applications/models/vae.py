"""Reparameterized Gaussian latent of a variational autoencoder."""

import math
import numbers

from keras import layers
from keras import ops
from keras import random
from keras import saving

from keras_nihr._distribution import per_replica_normal


@saving.register_keras_serializable(package="keras_nihr_applications")
class GaussianSampling(layers.Layer):
    """Draw a latent from N(mean, exp(log_var)) and add the KL term.

    The layer is the stochastic bottleneck of a variational autoencoder.
    With `training=True` it returns `mean + exp(log_var / 2) * eps` with
    `eps ~ N(0, I)` (the reparameterization trick, so gradients reach both
    inputs). At inference it returns `mean`, which makes reconstructions
    and latents deterministic.

    Every call adds, through `add_loss`, the Kullback-Leibler divergence
    from the diagonal Gaussian to the standard normal prior, summed over
    the latent dimensions and averaged over the batch, times `kl_weight`:

        kl_weight * mean_batch(-0.5 * sum(1 + log_var - mean^2 - exp(log_var)))

    so `model.fit` with a plain reconstruction loss minimizes the negative
    evidence lower bound.

    Args:
        kl_weight: Non-negative finite float, the factor of the KL term. If
            the reconstruction loss is a per-pixel mean (as Keras losses
            are), `1 / num_pixels` makes the total loss the negative ELBO
            divided by the number of pixels. Larger values pull the
            latents towards the prior and blur the reconstructions; 0 turns
            the model into a noisy autoencoder.
        seed: Optional int, seed of the sampling noise.
        **kwargs: Base layer keyword arguments, such as `name`.

    Call arguments:
        inputs: List `[mean, log_var]` of two tensors of the same shape
            `(batch, latent_dim)`. `log_var` is the natural logarithm of the
            variance.
        training: Python bool, whether to sample (True) or return the mean.

    Output shape:
        `(batch, latent_dim)`, the shape of `mean`.
    """

    def __init__(self, kl_weight=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        valid_weight = (
            isinstance(kl_weight, numbers.Real)
            and not isinstance(kl_weight, bool)
            and math.isfinite(kl_weight)
            and kl_weight >= 0
        )
        if not valid_weight:
            raise ValueError(
                "Invalid value received for argument `kl_weight`. Expected "
                f"a finite float >= 0. Received: kl_weight={kl_weight!r}"
            )
        if seed is not None and (
            not isinstance(seed, numbers.Integral) or isinstance(seed, bool)
        ):
            raise ValueError(
                "Invalid value received for argument `seed`. Expected an "
                f"int or None. Received: seed={seed!r}"
            )
        self.kl_weight = float(kl_weight)
        self.seed = seed
        self.seed_generator = random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        mean, log_var = inputs
        kl_per_example = -0.5 * ops.sum(
            1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1
        )
        self.add_loss(self.kl_weight * ops.mean(kl_per_example))
        if not training:
            return mean
        # Under tf.distribute each replica folds its index into the seed,
        # or all replicas would draw the same epsilon for their examples.
        epsilon = per_replica_normal(
            ops.shape(mean),
            stddev=1.0,
            dtype=mean.dtype,
            seed_generator=self.seed_generator,
        )
        return mean + ops.exp(0.5 * log_var) * epsilon

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        base_config = super().get_config()
        config = {"kl_weight": self.kl_weight, "seed": self.seed}
        return {**base_config, **config}
