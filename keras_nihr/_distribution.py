"""Per-replica random noise for layers run under `tf.distribute`.

Keras draws random numbers on the TensorFlow backend with stateless ops
seeded from the state of a `keras.random.SeedGenerator`. Under
`tf.distribute.MirroredStrategy` that state is a mirrored variable, so every
replica reads the same seed and would draw the same noise for its part of
the batch. `per_replica_normal` folds the replica index into the seed
instead, as `tf.random.fold_in` is documented to be used for.

JAX's `keras.distribution.DataParallel` needs nothing here, because the
layers there see the global batch and draw noise for all of it at once.
TensorFlow is imported only when the Keras backend is TensorFlow.
"""

import keras


def current_replica():
    """Return the replica index and the replica count of the current call.

    Returns:
        Tuple `(replica_id, num_replicas)`. It is `(0, 1)` unless the Keras
        backend is TensorFlow and the code runs in the replica context of a
        `tf.distribute` strategy with more than one replica. There,
        `replica_id` is a scalar int32 tensor and `num_replicas` a Python
        int.
    """
    if keras.backend.backend() != "tensorflow":
        return 0, 1
    import tensorflow as tf

    # `get_replica_context` returns None in a cross-replica context, e.g.
    # an eager call inside `strategy.scope()` that gets the whole batch.
    # Outside any strategy it returns a context with one replica.
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def per_replica_normal(shape, stddev, dtype, seed_generator):
    """Draw Gaussian noise whose seed depends on the replica.

    Outside a multi-replica `tf.distribute` context this is exactly
    `keras.random.normal(shape, stddev=stddev, dtype=dtype,
    seed=seed_generator)`, so single-device runs and JAX runs keep their
    noise bit for bit. Inside one, every replica advances `seed_generator`
    once, like the plain call, and draws with that seed folded with its
    replica index, so replicas draw different noise that repeats for the
    same seed and replica count.

    Args:
        shape: Shape of the noise.
        stddev: Float, the standard deviation of the noise.
        dtype: Dtype of the noise.
        seed_generator: The `keras.random.SeedGenerator` of the layer.

    Returns:
        A tensor of the given shape and dtype, with mean zero.
    """
    replica_id, num_replicas = current_replica()
    if num_replicas == 1:
        return keras.random.normal(
            shape, stddev=stddev, dtype=dtype, seed=seed_generator
        )
    import tensorflow as tf

    seed = seed_generator.next()
    # The seed state is int64 but XLA needs int32 seeds, so map it into the
    # int32 range the way Keras 3 does before its own stateless draws.
    seed = tf.cast(tf.math.floormod(seed, tf.int32.max - 1), "int32")
    seed = tf.random.fold_in(seed, replica_id)
    return tf.random.stateless_normal(
        shape, stddev=stddev, dtype=dtype, seed=seed
    )
