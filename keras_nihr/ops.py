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

from keras import backend
from keras import ops

# Lower bound of the max-abs scale in `l2_normalize`. It keeps the division
# finite for an all-zero vector and, being far below float32 resolution of
# any real activation, never changes a result.
_TINY_SCALE = 1e-30

_HALF_PRECISION_DTYPES = ("float16", "bfloat16")


def _to_float32(x):
    x = ops.convert_to_tensor(x)
    # Standardize first: torch dtypes never compare equal to strings.
    dtype = backend.standardize_dtype(x.dtype)
    if dtype in _HALF_PRECISION_DTYPES or "int" in dtype:
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
    # `ops.amax`, not `ops.max`: Keras' torch `max` inspects its result in
    # a way that makes torch.compile (2.13) break the graph at every call.
    scale = ops.amax(ops.abs(x), axis=-1, keepdims=True)
    scale = ops.maximum(scale, _TINY_SCALE)
    # XLA may turn `x / scale` into `x * (1 / scale)`, and `1 / 3e38` is a
    # denormal that CPUs flush to zero. Dividing twice by the square root
    # keeps every intermediate a normal float32.
    root = ops.sqrt(scale)
    scaled = x / root / root
    norm = ops.sqrt(ops.sum(ops.square(scaled), axis=-1, keepdims=True))
    # max(||x||, eps) / scale == max(||x / scale||, eps / scale).
    return scaled / ops.maximum(norm, epsilon / scale)


def _l2_normalize_bounded(x, epsilon):
    """Divide `x` by `max(||x||, epsilon)`, for `||x||` far below 1e19.

    One reduction instead of the two of `l2_normalize`. The squared norm
    overflows float32 above a norm of about 1.8e19, and `epsilon**2` must
    be a normal float32, so `epsilon` must be at least about 1.1e-19.
    """
    x = _to_float32(x)
    squared_norm = ops.sum(ops.square(x), axis=-1, keepdims=True)
    return x / ops.sqrt(ops.maximum(squared_norm, epsilon**2))


def attention_logits(queries, memories, beta):
    """Return `beta * queries @ memories.T` in float32.

    The matrix product runs in the dtype of `queries` and `memories`, which
    must agree; only its result is promoted before the scaling by `beta`.
    """
    similarities = ops.matmul(queries, ops.transpose(memories))
    return ops.cast(similarities, "float32") * beta


def stable_softmax(logits):
    """Softmax over the last axis, in float32.

    The backends' softmax functions (`jax.nn.softmax`, `tf.nn.softmax`,
    `torch.softmax`) subtract the row maximum before exponentiating, so
    logits of any finite size, e.g. `beta = 1e4` times a similarity of
    one, do not overflow.
    """
    return ops.softmax(_to_float32(logits), axis=-1)


def memory_keys(memories, beta):
    """Prepare the memories for the similarity matmul of `attend`.

    Folding `beta` into the memories once turns `beta * (z @ memories.T)`
    into a single matmul per iteration. Under float16, whose largest value
    is 65504, `beta * memories` could overflow, so the memories stay
    unscaled and `attend` multiplies the float32 similarities by `beta`.

    Args:
        memories: Tensor of shape `(num_memories, dim)`.
        beta: Positive float, the inverse temperature.

    Returns:
        Tuple `(keys, logit_scale)`: `keys` of shape `(dim, num_memories)`
        in the dtype of `memories`, and the Python float by which `attend`
        multiplies `directions @ keys` (1.0 when `beta` is folded in).
    """
    if backend.standardize_dtype(memories.dtype) == "float16":
        return ops.transpose(memories), float(beta)
    return ops.transpose(memories * beta), 1.0


def attend(directions, keys, memories, logit_scale=1.0):
    """Read out the memories for normalized query directions.

    Computes `a = softmax(logit_scale * directions @ keys)` and `a @
    memories`, with the softmax in float32.

    Args:
        directions: Tensor of shape `(..., dim)`, normally unit vectors.
        keys: Tensor of shape `(dim, num_memories)`, from `memory_keys`.
        memories: Tensor of shape `(num_memories, dim)`. Its dtype sets
            the dtype of the result.
        logit_scale: Python float, from `memory_keys`.

    Returns:
        Tuple `(next_queries, attention_weights)` as in `retrieval_step`.
    """
    similarities = ops.matmul(ops.cast(directions, keys.dtype), keys)
    logits = ops.cast(similarities, "float32")
    if logit_scale != 1.0:
        logits = logits * logit_scale
    attention_weights = ops.softmax(logits, axis=-1)
    next_queries = ops.matmul(
        ops.cast(attention_weights, memories.dtype), memories
    )
    return next_queries, attention_weights


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
    keys, logit_scale = memory_keys(memories, beta)
    return attend(directions, keys, memories, logit_scale)


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
