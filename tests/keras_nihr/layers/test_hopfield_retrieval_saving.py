import keras
import numpy as np

from keras_nihr.layers import HopfieldRetrieval
from tests import backend_utils


def _model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5,))
    hidden = keras.layers.Dense(8)(inputs)
    retrieved = HopfieldRetrieval(
        num_memories=12,
        iterations=4,
        beta=6.0,
        noise_stddev=0.1,
        seed=5,
        memory_regularizer="l2",
    )(hidden)
    outputs = keras.layers.Dense(3)(retrieved)
    return keras.Model(inputs, outputs)


def _data():
    return np.random.default_rng(0).normal(size=(16, 5)).astype("float32")


def test_keras_file_round_trip(tmp_path):
    model = _model()
    model.compile(optimizer="adam", loss="mse")
    x = _data()
    model.fit(x, np.zeros((16, 3), "float32"), epochs=1, verbose=0)
    expected = model.predict(x, verbose=0)
    path = tmp_path / "model.keras"

    model.save(path)
    restored = keras.saving.load_model(path)

    layer = restored.layers[2]
    assert isinstance(layer, HopfieldRetrieval)
    assert layer.get_config() == model.layers[2].get_config()
    np.testing.assert_allclose(
        restored.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6
    )
    # Training must resume from the restored state: same loss value.
    np.testing.assert_allclose(
        restored.evaluate(x, np.zeros((16, 3), "float32"), verbose=0),
        model.evaluate(x, np.zeros((16, 3), "float32"), verbose=0),
        rtol=1e-5,
    )


def test_weights_file_round_trip(tmp_path):
    model = _model()
    x = _data()
    path = tmp_path / "model.weights.h5"
    model.save_weights(path)
    other = _model()
    other.layers[2].memories.assign(
        np.zeros(other.layers[2].memories.shape, "float32")
    )
    other.load_weights(path)
    np.testing.assert_allclose(
        other.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6
    )


def test_export_and_reload(tmp_path):
    model = _model()
    x = _data()
    # ONNX export on torch traces a model that has been called once.
    model.predict(x, verbose=0)
    serve = backend_utils.export_and_load(model, tmp_path)
    # Two batch sizes: the artifact must not be tied to one.
    for batch in (x, x[:3]):
        np.testing.assert_allclose(
            serve(batch),
            model.predict(batch, verbose=0),
            rtol=1e-5,
            atol=1e-5,
        )
