import keras
import numpy as np
import pytest

from applications.models.resnet import block_channels
from applications.models.resnet import build_resnet18
from applications.models.resnet import default_nihr_after
from applications.models.resnet import stage_channels
from keras_nihr.layers import HopfieldRetrieval


def _count(weights):
    return sum(int(np.prod(w.shape)) for w in weights)


def _resnet18_trainable_parameters(in_channels, num_classes):
    """Count ResNet-18 parameters by hand: 3x3 stem, 2-2-2-2 basic blocks,
    convolutions without bias, batch normalization scale and offset,
    projection shortcuts where the shape changes, dense classifier."""

    def conv(k, c_in, c_out):
        return k * k * c_in * c_out

    def bn(c):
        return 2 * c

    total = conv(3, in_channels, 64) + bn(64)
    c_in = 64
    for stage, c_out in enumerate((64, 128, 256, 512)):
        for block in range(2):
            total += conv(3, c_in, c_out) + bn(c_out)
            total += conv(3, c_out, c_out) + bn(c_out)
            if stage > 0 and block == 0:
                total += conv(1, c_in, c_out) + bn(c_out)
            c_in = c_out
    return total + 512 * num_classes + num_classes


def test_full_width_parameter_count():
    # Variables are created without running their initializers, so the
    # 11-million-parameter model builds in about a second on every backend.
    with keras.StatelessScope():
        model = build_resnet18((32, 32, 3), 10)
    trainable = _count(model.trainable_weights)
    assert trainable == _resnet18_trainable_parameters(3, 10)
    # The count commonly cited for this CIFAR-10 ResNet-18 variant.
    assert trainable == 11_173_962
    # Moving mean and variance of each batch normalization: the stem's,
    # 4 in stage 1 and 5 (with the shortcut's) in each later stage.
    assert _count(model.non_trainable_weights) == 2 * (
        64 + 4 * 64 + 5 * 128 + 5 * 256 + 5 * 512
    )


def test_full_width_mnist_parameter_count():
    with keras.StatelessScope():
        model = build_resnet18((28, 28, 1), 10)
    assert _count(model.trainable_weights) == _resnet18_trainable_parameters(
        1, 10
    )


@pytest.mark.parametrize("block, channels", [(1, 64), (3, 128), (8, 512)])
def test_nihr_adds_memory_parameters(block, channels):
    with keras.StatelessScope():
        plain = build_resnet18((32, 32, 3), 10)
        nihr = build_resnet18(
            (32, 32, 3), 10, nihr_after=block, num_memories=37
        )
    assert nihr.count_params() - plain.count_params() == 37 * channels
    layer = nihr.get_layer(f"nihr_after_block{block}")
    assert isinstance(layer, HopfieldRetrieval)
    assert tuple(layer.memories.shape) == (37, channels)


def test_width_scales_channels():
    assert stage_channels(1.0) == (64, 128, 256, 512)
    assert stage_channels(0.25) == (16, 32, 64, 128)
    assert stage_channels(0.001) == (1, 1, 1, 1)
    assert block_channels(1, 0.25) == 16
    assert block_channels(8, 0.25) == 128


@pytest.mark.parametrize(
    "input_shape, block, feature_shape",
    [
        ((28, 28, 1), 1, (28, 28, 8)),
        ((28, 28, 1), 4, (14, 14, 16)),
        ((32, 32, 3), 8, (4, 4, 64)),
    ],
)
def test_shapes(input_shape, block, feature_shape):
    model = build_resnet18(
        input_shape, 7, width=0.125, nihr_after=block, num_memories=5
    )
    images = np.random.default_rng(0).integers(
        0, 256, (3,) + input_shape, dtype=np.uint8
    )
    logits = model.predict(images, verbose=0)
    assert logits.shape == (3, 7)
    assert np.all(np.isfinite(logits))
    layer = model.get_layer(f"nihr_after_block{block}")
    assert tuple(layer.output.shape) == (None,) + feature_shape


def test_uint8_and_float_inputs_agree():
    model = build_resnet18((28, 28, 1), 10, width=0.125, nihr_after=1)
    images = np.random.default_rng(1).integers(
        0, 256, (4, 28, 28, 1), dtype=np.uint8
    )
    np.testing.assert_allclose(
        model.predict(images, verbose=0),
        model.predict(images.astype("float32"), verbose=0),
        rtol=1e-5,
        atol=1e-5,
    )


def test_rescales_pixels_to_unit_range():
    model = build_resnet18((28, 28, 1), 10, width=0.125)
    rescale = model.get_layer("rescale")
    output = keras.ops.convert_to_numpy(
        rescale(np.full((1, 2, 2, 1), 255.0, "float32"))
    )
    np.testing.assert_allclose(output, 1.0, rtol=1e-6)


def test_nihr_after_several_blocks():
    model = build_resnet18(
        (32, 32, 3), 10, width=0.125, nihr_after=(2, 5), num_memories=4
    )
    names = [
        layer.name
        for layer in model.layers
        if isinstance(layer, HopfieldRetrieval)
    ]
    assert names == ["nihr_after_block2", "nihr_after_block5"]
    assert model.name == "resnet18_nihr"


def test_default_nihr_after():
    assert default_nihr_after("mnist") == 1
    assert default_nihr_after("cifar10") == 8
    with pytest.raises(ValueError, match="dataset"):
        default_nihr_after("svhn")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"width": 0}, "width"),
        ({"width": float("nan")}, "width"),
        ({"nihr_after": 0}, "nihr_after"),
        ({"nihr_after": 9}, "nihr_after"),
        ({"nihr_after": (1, True)}, "nihr_after"),
        ({"num_classes": 0}, "num_classes"),
        ({"weight_decay": -1.0}, "weight_decay"),
        ({"input_shape": (28, 28)}, "input_shape"),
    ],
)
def test_invalid_arguments(kwargs, match):
    arguments = {"input_shape": (28, 28, 1), "num_classes": 10}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=match):
        build_resnet18(**arguments)


def test_weight_decay_adds_losses():
    model = build_resnet18((28, 28, 1), 10, width=0.125, weight_decay=1e-4)
    convolutions = [
        layer
        for layer in model.layers
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
    ]
    assert len(model.losses) == len(convolutions)
