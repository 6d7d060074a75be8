"""Vector quantization bottleneck of a VQ-VAE."""

import math
import numbers

from keras import initializers
from keras import layers
from keras import ops
from keras import saving


@saving.register_keras_serializable(package="keras_nihr_applications")
class VectorQuantizer(layers.Layer):
    """Replace each input vector by its nearest codebook vector.

    The bottleneck of a VQ-VAE (van den Oord et al., 2017, "Neural Discrete
    Representation Learning"). The codebook is a trainable weight of shape
    `(num_codes, dim)`. The forward pass returns the nearest code in
    Euclidean distance. The argmin has no gradient, so the backward pass
    copies the gradient of the output to the input unchanged (the
    straight-through estimator).

    Every call adds, through `add_loss`, the codebook and commitment terms

        mean((stop_gradient(z) - q)^2)
            + commitment_cost * mean((z - stop_gradient(q))^2)

    averaged over all vectors and dimensions, where `z` is the input and
    `q` the chosen code. The first term moves codes towards the encoder
    outputs, the second keeps the encoder outputs close to their codes. So
    `model.fit` with a plain reconstruction loss trains the whole VQ-VAE.

    Args:
        num_codes: Positive int, the codebook size K. The bottleneck can
            only output K distinct vectors.
        commitment_cost: Non-negative finite float, the weight of the
            commitment term (0.25 in the paper). Larger values hold the
            encoder outputs nearer to the codes.
        codebook_initializer: Initializer of the codebook.
        **kwargs: Base layer keyword arguments, such as `name`.

    Call arguments:
        inputs: Tensor of shape `(batch, ..., dim)`. Each vector along the
            last axis is quantized independently.

    Output shape:
        The shape of the inputs.
    """

    def __init__(
        self,
        num_codes,
        commitment_cost=0.25,
        codebook_initializer="random_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if (
            not isinstance(num_codes, numbers.Integral)
            or isinstance(num_codes, bool)
            or num_codes < 1
        ):
            raise ValueError(
                "Invalid value received for argument `num_codes`. Expected "
                f"an int >= 1. Received: num_codes={num_codes!r}"
            )
        valid_cost = (
            isinstance(commitment_cost, numbers.Real)
            and not isinstance(commitment_cost, bool)
            and math.isfinite(commitment_cost)
            and commitment_cost >= 0
        )
        if not valid_cost:
            raise ValueError(
                "Invalid value received for argument `commitment_cost`. "
                "Expected a finite float >= 0. Received: "
                f"commitment_cost={commitment_cost!r}"
            )
        self.num_codes = int(num_codes)
        self.commitment_cost = float(commitment_cost)
        self.codebook_initializer = initializers.get(codebook_initializer)

    def build(self, input_shape):
        dim = input_shape[-1]
        if dim is None:
            raise ValueError(
                "The last dimension of the inputs to `VectorQuantizer` must "
                "be known when the layer is built, because it sets the size "
                f"of the codes. Received: input_shape={input_shape}"
            )
        self.codebook = self.add_weight(
            name="codebook",
            shape=(self.num_codes, dim),
            initializer=self.codebook_initializer,
        )

    def code_indices(self, inputs):
        """Return the index of the nearest code for each input vector."""
        dim = ops.shape(self.codebook)[-1]
        flat = ops.reshape(inputs, (-1, dim))
        # ||z - c||^2 = ||z||^2 - 2 z.c + ||c||^2, without a (N, K, dim)
        # intermediate.
        distances = (
            ops.sum(ops.square(flat), axis=-1, keepdims=True)
            - 2.0 * ops.matmul(flat, ops.transpose(self.codebook))
            + ops.sum(ops.square(self.codebook), axis=-1)
        )
        indices = ops.argmin(distances, axis=-1)
        return ops.reshape(indices, ops.shape(inputs)[:-1])

    def call(self, inputs):
        inputs = ops.convert_to_tensor(inputs, dtype=self.compute_dtype)
        indices = self.code_indices(inputs)
        # A one-hot product instead of a gather gives the codebook a dense
        # gradient on every backend; it costs as much as the distances.
        one_hot = ops.one_hot(indices, self.num_codes, dtype=inputs.dtype)
        quantized = ops.matmul(one_hot, self.codebook)
        codebook_loss = ops.mean(
            ops.square(ops.stop_gradient(inputs) - quantized)
        )
        commitment_loss = ops.mean(
            ops.square(inputs - ops.stop_gradient(quantized))
        )
        self.add_loss(codebook_loss + self.commitment_cost * commitment_loss)
        return inputs + ops.stop_gradient(quantized - inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        base_config = super().get_config()
        config = {
            "num_codes": self.num_codes,
            "commitment_cost": self.commitment_cost,
            "codebook_initializer": initializers.serialize(
                self.codebook_initializer
            ),
        }
        return {**base_config, **config}
