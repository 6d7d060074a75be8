"""ResNet-18 for small images, optionally with a Hopfield retrieval layer.

The network follows He et al. (2016), "Deep Residual Learning for Image
Recognition". Its basic blocks have two 3x3 convolutions with batch
normalization. Four stages of two blocks each have 64, 128, 256 and 512
channels, and a projection shortcut (1x1 convolution with stride 2 and
batch normalization) joins a stage that halves the resolution. The stem is
the one commonly used for 32x32 CIFAR-10 images: a single 3x3 convolution
with stride 1 and no max pooling. A 32x32 input therefore reaches the
classifier as 4x4 feature maps, and a 28x28 MNIST input too (28, 14, 7,
4).
"""

import numbers

import keras
from keras import layers

from keras_nihr.layers import HopfieldRetrieval

STAGE_CHANNELS = (64, 128, 256, 512)
BLOCKS_PER_STAGE = 2
NUM_BLOCKS = len(STAGE_CHANNELS) * BLOCKS_PER_STAGE

# Momentum of the batch normalization moving statistics. 0.9 (PyTorch's
# 0.1) instead of the Keras default 0.99 lets the statistics settle within
# the few hundred steps of a short CPU run.
BATCH_NORM_MOMENTUM = 0.9

# Residual block (1-based) after which the study that introduced NIHR
# inserts the retrieval layer: the first for MNIST, the last for CIFAR-10.
DEFAULT_NIHR_AFTER = {"mnist": 1, "cifar10": NUM_BLOCKS}


def stage_channels(width=1.0):
    """Return the channels of the stem and the four stages at `width`.

    Each count is `round(c * width)`, at least 1, so width 0.25 gives
    16, 32, 64 and 128 channels.
    """
    _check_width(width)
    return tuple(max(1, int(round(c * width))) for c in STAGE_CHANNELS)


def block_channels(block, width=1.0):
    """Return the output channels of residual block `block` (1-based)."""
    _check_blocks([block])
    return stage_channels(width)[(block - 1) // BLOCKS_PER_STAGE]


def default_nihr_after(dataset):
    """Return the block after which the study that introduced NIHR inserts
    the retrieval layer for `dataset`."""
    if dataset not in DEFAULT_NIHR_AFTER:
        raise ValueError(
            "Invalid value received for argument `dataset`. Expected one "
            f"of {tuple(DEFAULT_NIHR_AFTER)}. Received: dataset={dataset!r}"
        )
    return DEFAULT_NIHR_AFTER[dataset]


def build_resnet18(
    input_shape,
    num_classes=10,
    *,
    width=1.0,
    nihr_after=None,
    num_memories=64,
    iterations=3,
    beta=8.0,
    noise_stddev=0.1,
    nihr_seed=None,
    nihr_remat=False,
    weight_decay=0.0,
    synchronized_batch_norm=False,
    name=None,
):
    """Build ResNet-18 with the small-image stem and optional NIHR layers.

    The model takes images with pixel values in 0..255 (uint8 or float)
    and rescales them to [0, 1] itself, so corrupted test sets can be fed
    as stored. It returns class logits.

    A `HopfieldRetrieval` layer inserted after a residual block acts on
    every spatial position of the block's output. It pulls each channel
    vector towards the layer's memories, so the next block receives
    vectors of norm at most one that lie in the convex hull of the
    memories. Its noise is added only in training.

    Args:
        input_shape: Shape of one image, `(height, width, channels)`, e.g.
            `(28, 28, 1)` for MNIST or `(32, 32, 3)` for CIFAR-10.
        num_classes: Positive int, the number of output logits.
        width: Positive float, multiplier of the channel counts 64, 128,
            256 and 512 (see `stage_channels`). 1.0 is the standard
            ResNet-18 with about 11.2 million parameters. Compute cost
            scales with about `width ** 2`. NOTE: with PyTorch 2.13 on a
            CPU, training at width 0.0625 (4 stem channels) did not
            finish one 50-image batch within 40 s, while width 0.125 took
            about a second. Use at least 0.125 there.
        nihr_after: None for the plain ResNet-18, or an int or sequence of
            ints in 1..8: the residual blocks (counted from the input)
            after which a `HopfieldRetrieval` layer is inserted.
            `default_nihr_after(dataset)` returns the study's choice.
        num_memories: Positive int, the number of memories P of each
            retrieval layer. Each layer adds `P * C` parameters, where C
            is the number of channels of the block it follows.
        iterations: Positive int, the number of retrieval updates T.
        beta: Positive float, the inverse temperature of the retrieval.
        noise_stddev: Non-negative float, the standard deviation of the
            noise injected before each update during training, in units of
            the block's feature values.
        nihr_seed: Optional int, the seed of the retrieval noise.
        nihr_remat: Bool, whether the retrieval layers recompute their
            iterations in the backward pass instead of storing them
            (`HopfieldRetrieval(remat=True)`): less memory, more compute.
        weight_decay: Non-negative float, the L2 regularization factor of
            the convolution and dense kernels (0 disables it). Optimizers
            with decoupled weight decay make this unnecessary.
        synchronized_batch_norm: Bool, passed as `synchronized` to every
            `BatchNormalization` layer, so that under `tf.distribute` they
            normalize with the statistics of the global batch. Keras
            accepts True only on the TensorFlow backend.
        name: Optional model name. Defaults to `"resnet18"` or
            `"resnet18_nihr"`.

    Returns:
        A functional `keras.Model` mapping `(batch, *input_shape)` images
        to `(batch, num_classes)` logits. Residual blocks are named
        `block1` .. `block8` and retrieval layers `nihr_after_block<k>`.
    """
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or not all(
        isinstance(size, numbers.Integral) and size >= 1 for size in input_shape
    ):
        raise ValueError(
            "Invalid value received for argument `input_shape`. Expected "
            "(height, width, channels) with positive ints. Received: "
            f"input_shape={input_shape!r}"
        )
    if not isinstance(num_classes, numbers.Integral) or num_classes < 1:
        raise ValueError(
            "Invalid value received for argument `num_classes`. Expected "
            f"an int >= 1. Received: num_classes={num_classes!r}"
        )
    if not isinstance(weight_decay, numbers.Real) or not weight_decay >= 0:
        raise ValueError(
            "Invalid value received for argument `weight_decay`. Expected "
            f"a float >= 0. Received: weight_decay={weight_decay!r}"
        )
    channels = stage_channels(width)
    if nihr_after is None:
        nihr_blocks = ()
    elif isinstance(nihr_after, numbers.Integral):
        nihr_blocks = (nihr_after,)
    else:
        nihr_blocks = tuple(nihr_after)
    _check_blocks(nihr_blocks)
    if name is None:
        name = "resnet18_nihr" if nihr_blocks else "resnet18"
    regularizer = keras.regularizers.L2(weight_decay) if weight_decay else None

    inputs = keras.Input(input_shape, name="images")
    x = layers.Rescaling(1.0 / 255.0, name="rescale")(inputs)
    x = _conv(channels[0], 3, 1, regularizer, "stem_conv")(x)
    x = _batch_norm("stem_bn", synchronized_batch_norm)(x)
    x = layers.ReLU(name="stem_relu")(x)
    block = 0
    for stage, filters in enumerate(channels):
        for index in range(BLOCKS_PER_STAGE):
            block += 1
            strides = 2 if stage > 0 and index == 0 else 1
            x = _basic_block(
                x,
                filters,
                strides,
                regularizer,
                synchronized_batch_norm,
                f"block{block}",
            )
            if block in nihr_blocks:
                x = HopfieldRetrieval(
                    num_memories=num_memories,
                    iterations=iterations,
                    beta=beta,
                    noise_stddev=noise_stddev,
                    seed=nihr_seed,
                    remat=nihr_remat,
                    name=f"nihr_after_block{block}",
                )(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = layers.Dense(
        num_classes, kernel_regularizer=regularizer, name="logits"
    )(x)
    return keras.Model(inputs, outputs, name=name)


def _conv(filters, kernel_size, strides, regularizer, name):
    # No bias: the batch normalization that follows has its own offset.
    return layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=False,
        kernel_initializer="he_normal",
        kernel_regularizer=regularizer,
        name=name,
    )


def _batch_norm(name, synchronized):
    return layers.BatchNormalization(
        momentum=BATCH_NORM_MOMENTUM, synchronized=synchronized, name=name
    )


def _basic_block(x, filters, strides, regularizer, synchronized, name):
    shortcut = x
    x = _conv(filters, 3, strides, regularizer, f"{name}_conv1")(x)
    x = _batch_norm(f"{name}_bn1", synchronized)(x)
    x = layers.ReLU(name=f"{name}_relu1")(x)
    x = _conv(filters, 3, 1, regularizer, f"{name}_conv2")(x)
    x = _batch_norm(f"{name}_bn2", synchronized)(x)
    if strides != 1 or shortcut.shape[-1] != filters:
        shortcut = _conv(
            filters, 1, strides, regularizer, f"{name}_shortcut_conv"
        )(shortcut)
        shortcut = _batch_norm(f"{name}_shortcut_bn", synchronized)(shortcut)
    x = layers.Add(name=f"{name}_add")([x, shortcut])
    return layers.ReLU(name=f"{name}_out")(x)


def _check_width(width):
    valid = (
        isinstance(width, numbers.Real)
        and not isinstance(width, bool)
        and width > 0
        and width != float("inf")
    )
    if not valid:
        raise ValueError(
            "Invalid value received for argument `width`. Expected a "
            f"finite float > 0, e.g. 0.25 or 1.0. Received: width={width!r}"
        )


def _check_blocks(blocks):
    for block in blocks:
        valid = (
            isinstance(block, numbers.Integral)
            and not isinstance(block, bool)
            and 1 <= block <= NUM_BLOCKS
        )
        if not valid:
            raise ValueError(
                "Invalid value received for argument `nihr_after`. Expected "
                f"None or residual block numbers in 1..{NUM_BLOCKS}. "
                f"Received: {block!r}"
            )
