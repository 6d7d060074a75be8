"""Functional form of Hopfield retrieval, written with `keras.ops` only.

Memories are stored as rows: `memories` has shape `(num_memories, dim)`, so
the matrix `C` of the equations is `memories.T`. The functions here use the
memories as given; pass unit-norm rows (see `l2_normalize`) to get the
dynamics of the `HopfieldRetrieval` layer.

Normalization, softmax and energies are computed in float32 even when the
inputs are float16 or bfloat16, because `beta` of a few thousand turns
half-precision rounding errors of the similarities into large errors of the
logits.
"""

from keras import ops

# Lower bound of the max-abs scale in `l2_normalize`. It keeps the division
# finite for an all-zero vector and, being far below float32 resolution of
# any real activation, never changes a result.
_TINY_SCALE = 1e-30

_HALF_PRECISION_DTYPES = ("float16", "bfloat16")


def _to_float32(x):
    x = ops.convert_to_tensor(x)
    if x.dtype in _HALF_PRECISION_DTYPES or "int" in str(x.dtype):
        return ops.cast(x, "float32")
    return x


def l2_normalize(x, epsilon=1e-6):
    """Divide `x` by `max(||x||, epsilon)` along its last axis.

    The norm is computed after dividing by the largest absolute entry, so
    inputs near the float32 limit do not overflow when squared, and an
    all-zero vector maps to zero instead of NaN. Half-precision inputs are
    promoted to float32.

    Args:
        x: Tensor of shape `(..., dim)`.
        epsilon: Positive float, lower bound of the norm. Vectors shorter
            than `epsilon` are scaled by `1 / epsilon` instead of being
            stretched to unit length.

    Returns:
        A tensor of the shape of `x`, float32 or wider.
    """
    x = _to_float32(x)
    scale = ops.max(ops.abs(x), axis=-1, keepdims=True)
    scale = ops.maximum(scale, _TINY_SCALE)
    # XLA may turn `x / scale` into `x * (1 / scale)`, and `1 / 3e38` is a
    # denormal that CPUs flush to zero. Dividing twice by the square root
    # keeps every intermediate a normal float32.
    root = ops.sqrt(scale)
    scaled = x / root / root
    norm = ops.sqrt(ops.sum(ops.square(scaled), axis=-1, keepdims=True))
    # max(||x||, eps) / scale == max(||x / scale||, eps / scale).
    return scaled / ops.maximum(norm, epsilon / scale)


def attention_logits(queries, memories, beta):
    """Return `beta * queries @ memories.T` in float32.

    The matrix product runs in the dtype of `queries` and `memories`, which
    must agree; only its result is promoted before the scaling by `beta`.
    """
    similarities = ops.matmul(queries, ops.transpose(memories))
    return ops.cast(similarities, "float32") * beta


def stable_softmax(logits):
    """Softmax over the last axis with the maximum subtracted first.

    Subtracting the maximum makes the largest exponent zero, so logits of
    any finite size, e.g. `beta = 1e4` times a similarity of one, do not
    overflow.
    """
    logits = _to_float32(logits)
    logits = logits - ops.max(logits, axis=-1, keepdims=True)
    return ops.softmax(logits, axis=-1)


def retrieval_step(queries, memories, beta, noise=None, epsilon=1e-6):
    """Apply one noisy Hopfield update to `queries`.

    Computes, along the last axis,

        z_hat = (z + noise) / max(||z + noise||, epsilon)
        a     = softmax(beta * memories @ z_hat)
        z'    = a @ memories

    Args:
        queries: Tensor `z` of shape `(..., dim)`.
        memories: Tensor of shape `(num_memories, dim)`, rows normally unit
            norm. Its dtype sets the dtype of the result.
        beta: Positive float, the inverse temperature.
        noise: Optional tensor broadcastable to `queries`, added before the
            normalization. `None` means no noise.
        epsilon: Positive float, lower bound of the norm of `z + noise`.

    Returns:
        Tuple `(next_queries, attention_weights)`: the new states, shaped
        like `queries` in the dtype of `memories`, and the float32 softmax
        weights of shape `(..., num_memories)`.
    """
    if noise is not None:
        queries = queries + noise
    directions = l2_normalize(queries, epsilon=epsilon)
    directions = ops.cast(directions, memories.dtype)
    attention_weights = stable_softmax(
        attention_logits(directions, memories, beta)
    )
    next_queries = ops.matmul(
        ops.cast(attention_weights, memories.dtype), memories
    )
    return next_queries, attention_weights


def energy(queries, memories, beta):
    """Compute the Hopfield energy `-(1/beta) log sum_i exp(beta z.e_i)`.

    The retrieval update never raises this energy of the normalized states
    when no noise is added, so a falling energy marks convergence to an
    attractor.

    Args:
        queries: Tensor `z` of shape `(..., dim)`, used as given (not
            normalized).
        memories: Tensor of shape `(num_memories, dim)`.
        beta: Positive float, the inverse temperature.

    Returns:
        A float32 tensor of shape `queries.shape[:-1]`.
    """
    logits = attention_logits(_to_float32(queries), _to_float32(memories), beta)
    return -ops.logsumexp(logits, axis=-1) / beta
