import keras
import numpy as np
import pytest

from applications.callbacks.probe import LinearProbe

NUM_CLASSES = 4


def _separable_set(num_images, seed):
    """Dark images with a bright 10x10 square in the class's quadrant."""
    rng = np.random.default_rng(seed)
    labels = np.arange(num_images) % NUM_CLASSES
    images = rng.uniform(0.0, 0.2, (num_images, 28, 28, 1)).astype("float32")
    for index, label in enumerate(labels):
        top, left = 14 * (label // 2) + 2, 14 * (label % 2) + 2
        images[index, top : top + 10, left : left + 10] = 0.9
    return images, labels


def _flatten_model():
    """A model whose layer `latent` outputs 7x7 average-pooled pixels."""
    inputs = keras.Input((28, 28, 1))
    # A 1x1 convolution that starts as the identity gives `fit` a weight.
    pixels = keras.layers.Conv2D(
        1, 1, kernel_initializer="ones", bias_initializer="zeros"
    )(inputs)
    pooled = keras.layers.AveragePooling2D(4)(pixels)
    latent = keras.layers.Identity(name="latent")(
        keras.layers.Flatten()(pooled)
    )
    outputs = keras.layers.UpSampling2D(4)(
        keras.layers.Reshape((7, 7, 1))(latent)
    )
    return keras.Model(inputs, outputs)


def _evaluate_once(callback, model):
    callback.set_model(model)
    callback.set_params({"epochs": 1})
    logs = {}
    callback.on_epoch_end(0, logs)
    return logs


def test_probe_beats_chance_on_separable_classes():
    x_train, y_train = _separable_set(200, seed=0)
    x_test, y_test = _separable_set(200, seed=1)
    callback = LinearProbe(
        x_train, y_train, x_test, y_test, noise_levels=[0.0, 0.2]
    )

    logs = _evaluate_once(callback, _flatten_model())

    assert logs["probe_accuracy_sigma_0.00"] == 1.0
    assert logs["probe_accuracy_sigma_0.20"] > 0.9


def test_probe_scores_chance_on_shuffled_labels():
    rng = np.random.default_rng(2)
    x_train, y_train = _separable_set(400, seed=0)
    x_test, y_test = _separable_set(800, seed=1)
    callback = LinearProbe(
        x_train,
        rng.permutation(y_train),
        x_test,
        rng.permutation(y_test),
        noise_levels=[0.0],
    )

    logs = _evaluate_once(callback, _flatten_model())

    # Chance is 1/4; the standard error over 800 images is about 0.015.
    assert logs["probe_accuracy_sigma_0.00"] == pytest.approx(0.25, abs=0.07)


def test_probe_accuracy_falls_under_strong_noise():
    x_train, y_train = _separable_set(200, seed=0)
    x_test, y_test = _separable_set(400, seed=1)
    callback = LinearProbe(
        x_train, y_train, x_test, y_test, noise_levels=[0.0, 5.0]
    )

    logs = _evaluate_once(callback, _flatten_model())

    assert logs["probe_accuracy_sigma_5.00"] < logs["probe_accuracy_sigma_0.00"]
    assert callback.results == {
        0.0: logs["probe_accuracy_sigma_0.00"],
        5.0: logs["probe_accuracy_sigma_5.00"],
    }


def test_probe_reads_the_named_latent_layer():
    x_train, y_train = _separable_set(40, seed=0)
    inputs = keras.Input((28, 28, 1))
    # The latent is constant, so no classifier can beat the majority class.
    constant = keras.layers.Lambda(
        lambda x: keras.ops.zeros_like(x[:, :1, 0, 0]), name="code"
    )(inputs)
    model = keras.Model(inputs, [inputs, constant])
    callback = LinearProbe(
        x_train,
        y_train,
        x_train,
        y_train,
        noise_levels=[0.0],
        latent_layer="code",
    )

    logs = _evaluate_once(callback, model)

    assert logs["probe_accuracy_sigma_0.00"] == pytest.approx(0.25)


def test_missing_latent_layer_names_the_layer():
    x_train, y_train = _separable_set(8, seed=0)
    callback = LinearProbe(
        x_train, y_train, x_train, y_train, latent_layer="bottleneck"
    )
    inputs = keras.Input((28, 28, 1))
    model = keras.Model(inputs, keras.layers.Identity()(inputs))

    with pytest.raises(ValueError, match="bottleneck"):
        _evaluate_once(callback, model)


def test_values_reach_history():
    x_train, y_train = _separable_set(40, seed=0)
    model = _flatten_model()
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    callback = LinearProbe(
        x_train, y_train, x_train, y_train, noise_levels=[0.0, 0.1]
    )

    history = model.fit(
        x_train, x_train, epochs=2, callbacks=[callback], verbose=0
    )

    assert list(history.history) == [
        "loss",
        "probe_accuracy_sigma_0.00",
        "probe_accuracy_sigma_0.10",
    ]
    assert np.isnan(history.history["probe_accuracy_sigma_0.00"][0])
    assert history.history["probe_accuracy_sigma_0.00"][1] == 1.0


@pytest.mark.parametrize(
    "change, message",
    [
        ({"train_labels": np.zeros(8, "int64")}, "at least two classes"),
        ({"train_labels": np.arange(7)}, "8 integer class labels"),
        ({"test_labels": np.arange(8) * 0.5}, "integer class labels"),
        ({"latent_layer": 3}, "latent_layer=3"),
        ({"max_iter": 0}, "max_iter=0"),
    ],
)
def test_rejects_invalid_arguments(change, message):
    x, y = _separable_set(8, seed=0)
    kwargs = {
        "train_images": x,
        "train_labels": y,
        "test_images": x,
        "test_labels": y,
        **change,
    }
    with pytest.raises(ValueError, match=message):
        LinearProbe(**kwargs)
