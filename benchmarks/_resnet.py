"""Minimal CIFAR-style ResNet-18 for the training-overhead benchmark.

NOTE: stands in for the builder in `applications/models/resnet.py`; use
that one here once it is merged, so the benchmark times the study's model.
"""

import keras

from keras_nihr.layers import HopfieldRetrieval

_STAGE_CHANNELS = (64, 128, 256, 512)


def _conv_bn(x, channels, kernel_size, strides, name):
    x = keras.layers.Conv2D(
        channels,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=False,
        name=f"{name}_conv",
    )(x)
    return keras.layers.BatchNormalization(name=f"{name}_bn")(x)


def _basic_block(x, channels, strides, name):
    shortcut = x
    if strides != 1 or x.shape[-1] != channels:
        shortcut = _conv_bn(x, channels, 1, strides, f"{name}_shortcut")
    y = _conv_bn(x, channels, 3, strides, f"{name}_1")
    y = keras.layers.ReLU(name=f"{name}_1_relu")(y)
    y = _conv_bn(y, channels, 3, 1, f"{name}_2")
    y = keras.layers.Add(name=f"{name}_add")([shortcut, y])
    return keras.layers.ReLU(name=f"{name}_out")(y)


def build_resnet18(
    input_shape=(32, 32, 3),
    num_classes=10,
    width_multiplier=1.0,
    retrieval_kwargs=None,
):
    """Build a ResNet-18 for small images.

    Basic blocks in four stages of two, with 64, 128, 256 and 512 channels
    times `width_multiplier`; a 3x3 stem convolution without max pooling,
    as usual for 32x32 inputs; global average pooling and a linear
    classifier.

    Args:
        input_shape: Shape of one image, `(height, width, channels)`.
        num_classes: Number of output logits.
        width_multiplier: Positive float scaling every channel count.
        retrieval_kwargs: Optional dict of `HopfieldRetrieval` arguments.
            If given, the layer is applied to the feature map after the
            last block, retrieving each spatial position over channels.

    Returns:
        An uncompiled `keras.Model` mapping images to logits.
    """
    if width_multiplier <= 0:
        raise ValueError(
            "Invalid value received for argument `width_multiplier`. "
            f"Expected a float > 0. Received: "
            f"width_multiplier={width_multiplier!r}"
        )
    channels = [max(1, round(c * width_multiplier)) for c in _STAGE_CHANNELS]
    inputs = keras.Input(input_shape, name="images")
    x = _conv_bn(inputs, channels[0], 3, 1, "stem")
    x = keras.layers.ReLU(name="stem_relu")(x)
    for stage, stage_channels in enumerate(channels):
        for block in range(2):
            strides = 2 if stage > 0 and block == 0 else 1
            x = _basic_block(
                x, stage_channels, strides, f"stage{stage + 1}_block{block + 1}"
            )
    if retrieval_kwargs is not None:
        x = HopfieldRetrieval(name="retrieval", **retrieval_kwargs)(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="resnet18")
