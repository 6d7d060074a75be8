"""Diagnostics for memory collapse, written with `keras.ops` only.

A Hopfield layer whose queries all fall into a few attractors uses only a
few of its memories. Counting which memory wins the attention argmax over a
batch shows this collapse early.
"""

from keras import ops


def memory_usage(attention_weights):
    """Count how often each memory wins the attention argmax.

    Args:
        attention_weights: Tensor of shape `(..., num_memories)`, e.g. the
            attention weights returned by `HopfieldRetrieval` with
            `return_attention_weights=True`. All leading axes (batch and,
            for feature maps, spatial positions) are counted together.

    Returns:
        An int32 tensor of shape `(num_memories,)`: the usage histogram.
        Its entries sum to the number of query vectors.
    """
    attention_weights = ops.convert_to_tensor(attention_weights)
    num_memories = attention_weights.shape[-1]
    if num_memories is None:
        raise ValueError(
            "The last axis of `attention_weights` must have a known size "
            "(the number of memories). Received shape: "
            f"{attention_weights.shape}"
        )
    winners = ops.reshape(ops.argmax(attention_weights, axis=-1), (-1,))
    one_hot = ops.one_hot(winners, num_memories, dtype="int32")
    return ops.sum(one_hot, axis=0)


def num_memories_in_use(attention_weights):
    """Count the memories that win the attention argmax at least once.

    Args:
        attention_weights: Tensor of shape `(..., num_memories)`.

    Returns:
        An int32 scalar tensor between 1 and `num_memories` for a non-empty
        batch. A value far below `num_memories` signals memory collapse.
    """
    counts = memory_usage(attention_weights)
    return ops.sum(ops.cast(counts > 0, "int32"))
