import keras
import numpy as np

from applications.models.resnet import build_resnet18
from keras_nihr.layers import HopfieldRetrieval
from tests import backend_utils


def _perturbed_model():
    keras.utils.set_random_seed(0)
    model = build_resnet18(
        (28, 28, 1),
        10,
        width=0.0625,
        nihr_after=1,
        num_memories=6,
        iterations=2,
        noise_stddev=0.1,
        nihr_seed=3,
    )
    # Move every weight, batch normalization statistics and memories
    # included, away from its initial value, so a reload that re-creates
    # any of them fails. The factors are positive, so variances stay
    # positive.
    rng = np.random.default_rng(1)
    model.set_weights(
        [
            w * rng.uniform(0.5, 1.5, w.shape) + rng.uniform(0, 0.1, w.shape)
            for w in model.get_weights()
        ]
    )
    return model


def _data():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (8, 28, 28, 1)).astype("float32")
    return images, np.arange(8) % 10


def test_keras_file_round_trip(tmp_path):
    model = _perturbed_model()
    images, _ = _data()
    expected = model.predict(images, verbose=0)
    path = tmp_path / "resnet.keras"

    model.save(path)
    restored = keras.saving.load_model(path)

    layer = restored.get_layer("nihr_after_block1")
    assert isinstance(layer, HopfieldRetrieval)
    assert layer.get_config() == model.get_layer(layer.name).get_config()
    np.testing.assert_allclose(
        restored.predict(images, verbose=0), expected, rtol=1e-5, atol=1e-5
    )


def test_export_and_reload(tmp_path):
    model = _perturbed_model()
    images, _ = _data()
    # ONNX export on torch traces a model that has been called once.
    model.predict(images, verbose=0)
    serve = backend_utils.export_and_load(model, tmp_path)
    # Two batch sizes: the artifact must not be tied to one.
    for batch in (images, images[:3]):
        np.testing.assert_allclose(
            serve(batch),
            model.predict(batch, verbose=0),
            rtol=1e-4,
            atol=1e-4,
        )
