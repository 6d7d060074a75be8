import math
import numbers

import numpy as np
from keras import KerasTensor
from keras import constraints
from keras import initializers
from keras import layers
from keras import ops
from keras import random
from keras import regularizers
from keras import remat as keras_remat
from keras import saving

from keras_nihr import _distribution
from keras_nihr import ops as nihr_ops


@saving.register_keras_serializable(package="keras_nihr")
class HopfieldRetrieval(layers.Layer):
    """Noise-Injected Hopfield Retrieval (NIHR).

    Pulls every input vector towards one of `num_memories` learned unit
    vectors (the memories `e_i`) by iterating the modern Hopfield update
    with Gaussian noise injected before each step:

        z_hat = (z + xi) / max(||z + xi||, epsilon),  xi ~ N(0, sigma^2 I)
        z     = sum_i softmax(beta * z_hat . e_i) e_i

    The update never raises the energy
    `E(z) = -(1/beta) log sum_i exp(beta z.e_i)` of the normalized state
    when no noise is added, so the memories act as attractors. Few
    iterations and a small `beta` keep the outputs on a smooth manifold
    spanned by the memories; many iterations and a large `beta` snap them
    onto discrete memories. The noise makes nearby inputs land on the same
    attractor, which is what makes downstream layers robust to input
    corruptions.

    The update acts on the last axis, so the layer accepts latent vectors
    `(batch, dim)` as well as feature maps `(batch, height, width,
    channels)`, where each spatial position is retrieved independently
    over the channels. The output has the shape of the input and lies in
    the convex hull of the memories (its norm is at most one).

    Memories are stored as a free trainable weight of shape
    `(num_memories, dim)` and normalized to unit L2 norm inside every
    call, so gradients flow through the normalization. Normalization,
    softmax and noise-free energies are computed in float32 under mixed
    precision.

    Noise under several devices: with `keras.distribution.DataParallel`
    on JAX the layer receives the global batch, so it draws the same noise
    as a single-device run. With `tf.distribute.MirroredStrategy` each replica
    calls the layer on its part of the batch and folds its replica index
    into the seed, so replicas draw different noise, which also differs
    from single-device noise but repeats for the same `seed` and number of
    replicas. In both cases the seed state advances by one per iteration
    and stays equal on all devices.

    Args:
        num_memories: Positive int, the number of memories P. More memories
            give finer attractor basins. It may be omitted when
            `initial_memories` is given.
        iterations: Positive int, the number of updates T. `T = 1` is one
            attention read-out; each further step contracts the outputs
            more strongly towards single memories. Cost grows linearly.
        beta: Positive finite float, the inverse temperature, in units of
            one over cosine similarity. Near 0 the attention is uniform and
            every input maps to the mean memory direction; around
            `sqrt(dim)` it is a soft mixture; in the hundreds and above it
            approaches a hard argmax over memories.
        noise_stddev: Non-negative finite float, the standard deviation
            sigma of the Gaussian noise added to the state before each
            normalization, in the units of the input (for unit-norm states,
            the expected noise norm is about `sigma * sqrt(dim)`). 0
            disables the noise. The noise is additive, so gradients pass
            through it.
        noise_at_inference: Bool. By default noise is added only when the
            layer is called with `training=True`, like
            `keras.layers.GaussianNoise`. `True` also adds it at inference,
            which makes retrieval stochastic.
        seed: Optional int, seed of the noise for reproducible runs.
        epsilon: Positive float, lower bound of the norm in the
            normalization, which keeps an all-zero state finite.
        memory_initializer: Initializer of the raw memory weight. The
            default draws Gaussian vectors, whose directions are uniform on
            the sphere after normalization.
        memory_regularizer: Optional regularizer of the raw memory weight.
        memory_constraint: Optional constraint of the raw memory weight.
        initial_memories: Optional array of shape `(num_memories, dim)` to
            start from instead of `memory_initializer`, e.g. class means of
            a trained encoder. Rows need not be unit norm. To keep them
            fixed during training, pass `trainable=False`.
        remat: Bool. If `True`, each iteration is recomputed in the
            backward pass (`keras.remat`) instead of keeping its
            intermediate tensors, such as the `(..., num_memories)`
            attention weights, for the gradient. Only the state entering
            each iteration is kept, so the activation memory grows by one
            input-sized tensor per iteration, at the cost of running the
            forward pass a second time during the backward pass. Outputs
            and gradients do not change. NOTE: the saving was measured
            with eager JAX, TensorFlow (eager and XLA) and eager torch on
            CPUs; under `jax.jit` on CPUs (jaxlib 0.10.2) XLA reached the
            same peak memory with and without remat.
        **kwargs: Base layer keyword arguments, such as `name`, `dtype` and
            `trainable`.

    Call arguments:
        inputs: Tensor of rank 2 or more. The last axis is the vector
            dimension `dim`. Integer inputs are cast to the compute dtype.
        training: Python bool, whether the layer adds noise (see
            `noise_at_inference`).
        return_trajectory: Python bool. If `True`, also return the state
            after every iteration.
        return_attention_weights: Python bool. If `True`, also return the
            attention weights of the last iteration.

    Input shape:
        `(batch, ..., dim)`.

    Output shape:
        `(batch, ..., dim)`. With `return_trajectory=True`, a second output
        of shape `(batch, iterations, ..., dim)` whose last entry along
        axis 1 equals the main output. With
        `return_attention_weights=True`, a further output of shape
        `(batch, ..., num_memories)`, float32, summing to one along the
        last axis.

    Example:

    >>> model = keras.Sequential([
    ...     keras.Input((16,)),
    ...     keras.layers.Dense(32),
    ...     HopfieldRetrieval(num_memories=64, iterations=5, beta=8.0,
    ...                       noise_stddev=0.1),
    ...     keras.layers.Dense(10),
    ... ])
    """

    def __init__(
        self,
        num_memories=None,
        iterations=1,
        beta=1.0,
        noise_stddev=0.0,
        noise_at_inference=False,
        seed=None,
        epsilon=1e-6,
        memory_initializer="random_normal",
        memory_regularizer=None,
        memory_constraint=None,
        initial_memories=None,
        remat=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if initial_memories is not None:
            initial_memories = _validate_initial_memories(
                initial_memories, num_memories
            )
            num_memories = initial_memories.shape[0]
        _check_int("num_memories", num_memories, minimum=1)
        _check_int("iterations", iterations, minimum=1)
        _check_float("beta", beta, "a finite float > 0", positive=True)
        _check_float("noise_stddev", noise_stddev, "a finite float >= 0")
        _check_float("epsilon", epsilon, "a finite float > 0", positive=True)
        if seed is not None and not _is_int(seed):
            raise ValueError(
                "Invalid value received for argument `seed`. Expected an "
                f"int or None. Received: seed={seed!r}"
            )
        if not isinstance(noise_at_inference, bool):
            raise ValueError(
                "Invalid value received for argument `noise_at_inference`. "
                f"Expected a bool. Received: "
                f"noise_at_inference={noise_at_inference!r}"
            )
        if not isinstance(remat, bool):
            raise ValueError(
                "Invalid value received for argument `remat`. Expected a "
                f"bool. Received: remat={remat!r}"
            )

        self.num_memories = int(num_memories)
        self.iterations = int(iterations)
        self.beta = float(beta)
        self.noise_stddev = float(noise_stddev)
        self.noise_at_inference = noise_at_inference
        self.seed = seed
        self.epsilon = float(epsilon)
        self.memory_initializer = initializers.get(memory_initializer)
        self.memory_regularizer = regularizers.get(memory_regularizer)
        self.memory_constraint = constraints.get(memory_constraint)
        self.initial_memories = initial_memories
        self.remat = remat
        if self.noise_stddev > 0:
            self.seed_generator = random.SeedGenerator(seed)
        self.supports_masking = True
        self.input_spec = layers.InputSpec(min_ndim=2)

    def build(self, input_shape):
        dim = input_shape[-1]
        if dim is None:
            raise ValueError(
                "The last dimension of the inputs to `HopfieldRetrieval` "
                "must be known when the layer is built, because it sets the "
                f"size of the memories. Received: input_shape={input_shape}"
            )
        initializer = self.memory_initializer
        if self.initial_memories is not None:
            if self.initial_memories.shape[1] != dim:
                raise ValueError(
                    "Invalid value received for argument `initial_memories`."
                    f" Expected shape ({self.num_memories}, {dim}) to match "
                    f"the input's last dimension {dim}. Received: shape="
                    f"{self.initial_memories.shape}"
                )
            values = self.initial_memories

            def initializer(shape, dtype=None):
                return ops.cast(values, dtype)

        self.memories = self.add_weight(
            name="memories",
            shape=(self.num_memories, dim),
            initializer=initializer,
            regularizer=self.memory_regularizer,
            constraint=self.memory_constraint,
        )
        self.input_spec = layers.InputSpec(min_ndim=2, axes={-1: dim})

    def normalized_memories(self):
        """Return the memories as unit rows, float32, `(num_memories, dim)`."""
        return nihr_ops.l2_normalize(self.memories, epsilon=self.epsilon)

    def call(
        self,
        inputs,
        training=None,
        return_trajectory=False,
        return_attention_weights=False,
    ):
        input_shape = ops.shape(inputs)
        # Feature maps are retrieved as one (positions, dim) matrix: XLA
        # compiles 2-D matmuls and row reductions into faster code than
        # their rank-4 forms, and the reshapes cost nothing.
        flatten = len(inputs.shape) > 2
        states = ops.cast(inputs, self.compute_dtype)
        if flatten:
            states = ops.reshape(states, (-1, inputs.shape[-1]))
        # Normalized, cast and scaled once per call, not once per iteration.
        memories = ops.cast(self.normalized_memories(), self.compute_dtype)
        keys, logit_scale = nihr_ops.memory_keys(memories, self.beta)
        add_noise = self.noise_stddev > 0 and (
            bool(training) or self.noise_at_inference
        )
        updates = self._update_functions(logit_scale)
        if self.remat:
            # Each recomputed update returns the states alone: TensorFlow's
            # eager `recompute_grad` keeps every output alive for the
            # backward pass, which would keep all the attention weights.
            rematerialized = [
                keras_remat(_states_only(update)) for update in updates
            ]
        trajectory = []
        attention_weights = None
        for step in range(self.iterations):
            if add_noise:
                # Drawn in the input's shape, so the values do not depend
                # on the flattening.
                noise = _distribution.per_replica_normal(
                    input_shape,
                    stddev=self.noise_stddev,
                    dtype=self.compute_dtype,
                    seed_generator=self.seed_generator,
                )
                states = states + ops.reshape(noise, ops.shape(states))
            # Updates of the first iteration, then of all later ones.
            kind = min(step, 1)
            is_last = step == self.iterations - 1
            if self.remat and not (return_attention_weights and is_last):
                states = rematerialized[kind](states, keys, memories)
            else:
                states, attention_weights = updates[kind](
                    states, keys, memories
                )
            if return_trajectory:
                trajectory.append(ops.reshape(states, input_shape))

        outputs = [ops.reshape(states, input_shape) if flatten else states]
        if return_trajectory:
            outputs.append(ops.stack(trajectory, axis=1))
        if return_attention_weights:
            if flatten:
                weights_shape = tuple(input_shape[:-1]) + (self.num_memories,)
                attention_weights = ops.reshape(
                    attention_weights, weights_shape
                )
            outputs.append(attention_weights)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def _update_functions(self, logit_scale):
        """Build the updates of the first and of the later iterations.

        Each maps `(noisy_states, keys, memories)` to `(states,
        attention_weights)`. The first iteration normalizes arbitrary
        inputs with the overflow-safe `l2_normalize`. Later states are
        convex combinations of unit memories plus noise, so their squared
        norms cannot overflow float32 unless `noise_stddev` is enormous,
        and a normalization with a single reduction gives the same result.
        """
        epsilon = self.epsilon

        def first_update(noisy_states, keys, memories):
            directions = nihr_ops.l2_normalize(noisy_states, epsilon=epsilon)
            return nihr_ops.attend(directions, keys, memories, logit_scale)

        def later_update(noisy_states, keys, memories):
            directions = nihr_ops._l2_normalize_bounded(noisy_states, epsilon)
            return nihr_ops.attend(directions, keys, memories, logit_scale)

        # Squares overflow float32 above a norm of 1.8e19, which noise of
        # stddev <= 1e9 would reach only in a 1e10-sigma draw. The bounded
        # normalization also needs `epsilon**2` to be a normal float32.
        if self.noise_stddev > 1e9 or self.epsilon < 1e-18:
            later_update = first_update
        return first_update, later_update

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_output_spec(
        self,
        inputs,
        training=None,
        return_trajectory=False,
        return_attention_weights=False,
    ):
        shape = tuple(inputs.shape)
        outputs = [KerasTensor(shape, dtype=self.compute_dtype)]
        if return_trajectory:
            trajectory_shape = shape[:1] + (self.iterations,) + shape[1:]
            outputs.append(
                KerasTensor(trajectory_shape, dtype=self.compute_dtype)
            )
        if return_attention_weights:
            weights_shape = shape[:-1] + (self.num_memories,)
            outputs.append(KerasTensor(weights_shape, dtype="float32"))
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def get_config(self):
        base_config = super().get_config()
        initial_memories = None
        if self.initial_memories is not None:
            initial_memories = self.initial_memories.tolist()
        config = {
            "num_memories": self.num_memories,
            "iterations": self.iterations,
            "beta": self.beta,
            "noise_stddev": self.noise_stddev,
            "noise_at_inference": self.noise_at_inference,
            "seed": self.seed,
            "epsilon": self.epsilon,
            "memory_initializer": initializers.serialize(
                self.memory_initializer
            ),
            "memory_regularizer": regularizers.serialize(
                self.memory_regularizer
            ),
            "memory_constraint": constraints.serialize(self.memory_constraint),
            "initial_memories": initial_memories,
            "remat": self.remat,
        }
        return {**base_config, **config}


def _states_only(update):
    """Wrap an update so that it returns the new states alone.

    With `remat=True` the noise is added before this function is called,
    so the backward pass recomputes the update with the same noise and
    without advancing the seed generator.
    """

    def update_states(noisy_states, keys, memories):
        states, _ = update(noisy_states, keys, memories)
        return states

    return update_states


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_int(name, value, minimum):
    if not _is_int(value) or value < minimum:
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected an "
            f"int >= {minimum}. Received: {name}={value!r}"
        )


def _check_float(name, value, expected, positive=False):
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    valid = (
        is_number
        and math.isfinite(value)
        and (value > 0 if positive else value >= 0)
    )
    if not valid:
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected "
            f"{expected}. Received: {name}={value!r}"
        )


def _validate_initial_memories(values, num_memories):
    try:
        values = np.asarray(values, dtype="float32")
    except (TypeError, ValueError) as error:
        raise ValueError(
            "Invalid value received for argument `initial_memories`. "
            "Expected an array of floats of shape (num_memories, dim). "
            f"Received: {type(values).__name__} that cannot be converted "
            f"({error})"
        ) from error
    if values.ndim != 2 or values.shape[0] < 1 or values.shape[1] < 1:
        raise ValueError(
            "Invalid value received for argument `initial_memories`. "
            "Expected a non-empty 2-D array of shape (num_memories, dim). "
            f"Received: shape={values.shape}"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError(
            "Invalid value received for argument `initial_memories`. "
            "Expected finite values. Received an array containing NaN or "
            "infinity."
        )
    if num_memories is not None and num_memories != values.shape[0]:
        raise ValueError(
            "Arguments `num_memories` and `initial_memories` disagree: "
            f"num_memories={num_memories!r} but initial_memories has "
            f"{values.shape[0]} rows. Omit `num_memories` or make them "
            "match."
        )
    return values
