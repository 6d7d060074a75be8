import keras
import numpy as np
import pytest

from applications import resnet_report
from applications.callbacks.corruptions import CorruptionAccuracy
from applications.callbacks.corruptions import corruption_logs
from applications.callbacks.corruptions import default_corruptions
from applications.callbacks.corruptions import evaluate_corruptions
from applications.callbacks.corruptions import load_corruption_sets
from applications.callbacks.corruptions import summarize_corruptions
from applications.data import load_corrupted
from applications.models.resnet import build_resnet18
from tests.applications import synthetic_data


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    synthetic_data.isolate_environment(monkeypatch, tmp_path)


@pytest.fixture
def mnist_dir(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    return synthetic_data.write_mnist_npz(folder, num_test=40)


@pytest.fixture
def cifar_dir(tmp_path, monkeypatch):
    synthetic_data.install_fake_cifar10_c(monkeypatch)
    folder = tmp_path / "data"
    folder.mkdir()
    return synthetic_data.write_cifar10_npz(folder, num_test=40)


def _record(name, severity, accuracy):
    return {
        "corruption": name,
        "severity": severity,
        "accuracy": accuracy,
        "num_images": 10,
    }


def test_summary_mnist_excludes_identity():
    records = [
        _record("clean", None, 0.9),
        _record("identity", None, 0.9),
        _record("shot_noise", None, 0.6),
        _record("fog", None, 0.3),
    ]
    summary = summarize_corruptions(records)
    assert summary == pytest.approx({"clean": 0.9, "overall": 0.45})


def test_summary_cifar_severities_and_gaussian():
    records = [_record("clean", None, 0.9)]
    accuracies = {
        ("gaussian_noise", 1): 0.8,
        ("gaussian_noise", 3): 0.4,
        ("fog", 1): 0.6,
        ("fog", 3): 0.2,
    }
    for (name, severity), value in accuracies.items():
        records.append(_record(name, severity, value))
    summary = summarize_corruptions(records)
    expected = {
        "clean": 0.9,
        "overall": (0.8 + 0.4 + 0.6 + 0.2) / 4,
        "s1": (0.8 + 0.6) / 2,
        "s3": (0.4 + 0.2) / 2,
        "gaussian_noise_s1": 0.8,
        "gaussian_noise_s3": 0.4,
        "gaussian_noise_overall": (0.8 + 0.4) / 2,
    }
    assert summary == pytest.approx(expected)


def test_logs_name_every_set():
    records = [_record("clean", None, 1.0), _record("fog", 2, 0.5)]
    logs = corruption_logs(records)
    assert logs == pytest.approx(
        {
            "corruption_accuracy_clean": 1.0,
            "corruption_accuracy_fog_s2": 0.5,
            "corruption_accuracy_overall": 0.5,
            "corruption_accuracy_s2": 0.5,
        }
    )


def test_default_corruptions():
    assert len(default_corruptions("mnist")) == 16
    assert default_corruptions("mnist")[0] == "identity"
    assert default_corruptions("cifar10") == synthetic_data.CIFAR_CORRUPTIONS


def test_load_mnist_sets_match_load_corrupted(mnist_dir, tmp_path):
    names = ("identity", "shot_noise", "fog")
    sets = load_corruption_sets(
        "mnist",
        names,
        limit=20,
        data_dir=mnist_dir,
        cache_dir=tmp_path / "cache",
        source="generate",
    )
    assert list(sets) == [(name, None) for name in names]
    for name in names:
        expected_images, expected_labels = load_corrupted(
            "mnist",
            name,
            limit=20,
            data_dir=mnist_dir,
            cache_dir=tmp_path / "other_cache",
            source="generate",
        )
        images, labels = sets[(name, None)]
        np.testing.assert_array_equal(images, expected_images)
        np.testing.assert_array_equal(labels, expected_labels)


def test_load_sets_from_given_clean_images(mnist_dir, tmp_path):
    data = np.load(mnist_dir / "mnist.npz")
    clean = (data["x_test"][:20, ..., np.newaxis], data["y_test"][:20])
    sets = load_corruption_sets(
        "mnist",
        ("identity",),
        limit=20,
        cache_dir=tmp_path / "cache",
        source="generate",
        clean=clean,
    )
    np.testing.assert_array_equal(sets[("identity", None)][0], clean[0])
    with pytest.raises(ValueError, match="clean"):
        load_corruption_sets(
            "mnist", ("identity",), limit=10, source="generate", clean=clean
        )


def test_load_cifar_sets_keys(cifar_dir, tmp_path):
    sets = load_corruption_sets(
        "cifar10",
        ("gaussian_noise", "fog"),
        (1, 5),
        limit=10,
        data_dir=cifar_dir,
        source="generate",
    )
    assert list(sets) == [
        ("gaussian_noise", 1),
        ("gaussian_noise", 5),
        ("fog", 1),
        ("fog", 5),
    ]
    images, labels = sets[("fog", 5)]
    assert images.shape == (10, 32, 32, 3)
    assert images.dtype == np.uint8
    np.testing.assert_array_equal(labels, np.arange(10) % 10)


def test_mnist_sets_reject_severities():
    with pytest.raises(ValueError, match="levels"):
        load_corruption_sets("mnist", ("fog",), (1,), source="generate")


def test_accuracies_match_model_evaluate(cifar_dir):
    sets = load_corruption_sets(
        "cifar10",
        ("gaussian_noise", "contrast"),
        (2, 4),
        limit=20,
        data_dir=cifar_dir,
        source="generate",
    )
    data = np.load(cifar_dir / "cifar10.npz")
    clean = (data["x_test"][:20], data["y_test"][:20].astype("int64"))
    keras.utils.set_random_seed(0)
    model = build_resnet18(
        (32, 32, 3), 10, width=0.0625, nihr_after=8, num_memories=4
    )
    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    records = evaluate_corruptions(model, sets, clean, batch_size=10)
    assert [(r["corruption"], r["severity"]) for r in records] == [
        ("clean", None),
        ("gaussian_noise", 2),
        ("gaussian_noise", 4),
        ("contrast", 2),
        ("contrast", 4),
    ]
    arrays = [clean] + list(sets.values())
    for record, (images, labels) in zip(records, arrays, strict=True):
        _, expected = model.evaluate(images, labels, batch_size=10, verbose=0)
        assert record["accuracy"] == pytest.approx(expected, abs=1e-6)
        assert record["num_images"] == 20

    per_run = resnet_report.run_records("cifar10", "resnet_nihr", 0, records)
    rows = resnet_report.robustness_rows("cifar10", per_run)
    assert [row[:2] for row in rows] == [
        ["CIFAR-10-C", "ResNet+NIHR"],
        ["CIFAR-10-C gaussian_noise", "ResNet+NIHR"],
    ]
    assert all(len(row) == len(resnet_report.TABLE_HEADERS) for row in rows)
    accuracy = {(r["corruption"], r["severity"]): r for r in records}
    overall = np.mean([r["accuracy"] for r in records[1:]])
    assert rows[0][8] == f"{100 * overall:.2f} ± 0.00"
    gaussian_s4 = accuracy[("gaussian_noise", 4)]["accuracy"]
    assert rows[1][6] == f"{100 * gaussian_s4:.2f} ± 0.00"
    # Columns s1 .. s5 are cells 3 .. 7: only severities 2 and 4 exist.
    assert [cell == "-" for cell in rows[0][3:8]] == [
        True,
        False,
        True,
        False,
        True,
    ]


def _tiny_classifier():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def _mnist_sets():
    images, labels = synthetic_data.random_split(20, (28, 28, 1), seed=5)
    return (images, labels), {("identity", None): (images, labels)}


class _StopAfterFirstEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.model.stop_training = True


def test_callback_writes_logs_after_last_epoch():
    clean, sets = _mnist_sets()
    sets[("shot_noise", None)] = (255 - clean[0], clean[1])
    model = _tiny_classifier()
    callback = CorruptionAccuracy(sets, clean, batch_size=10, verbose=0)
    history = model.fit(
        clean[0], clean[1], epochs=3, callbacks=[callback], verbose=0
    )
    for key in (
        "corruption_accuracy_clean",
        "corruption_accuracy_identity",
        "corruption_accuracy_shot_noise",
        "corruption_accuracy_overall",
    ):
        assert len(history.history[key]) == 1
    expected = evaluate_corruptions(model, sets, clean, batch_size=10)
    assert callback.records == expected
    assert history.history["corruption_accuracy_overall"][0] == pytest.approx(
        expected[2]["accuracy"]
    )


def test_callback_every_n_epochs():
    clean, sets = _mnist_sets()
    model = _tiny_classifier()
    callback = CorruptionAccuracy(sets, clean, every_n_epochs=1, verbose=0)
    history = model.fit(
        clean[0], clean[1], epochs=3, callbacks=[callback], verbose=0
    )
    assert len(history.history["corruption_accuracy_clean"]) == 3


def test_callback_runs_when_training_stops_early():
    clean, sets = _mnist_sets()
    model = _tiny_classifier()
    callback = CorruptionAccuracy(sets, clean, verbose=0)
    model.fit(
        clean[0],
        clean[1],
        epochs=5,
        callbacks=[_StopAfterFirstEpoch(), callback],
        verbose=0,
    )
    assert callback.records is not None
    assert set(callback.summary) == {"clean"}


def test_callback_verbose_prints_summary(capsys):
    clean, sets = _mnist_sets()
    model = _tiny_classifier()
    for verbose, expect_output in ((0, False), (2, True)):
        callback = CorruptionAccuracy(sets, clean, verbose=verbose)
        model.fit(clean[0], clean[1], epochs=1, callbacks=[callback], verbose=0)
        printed = capsys.readouterr().out
        assert ("corruption accuracy" in printed) == expect_output


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"every_n_epochs": 0}, "every_n_epochs"),
        ({"every_n_epochs": True}, "every_n_epochs"),
        ({"verbose": 3}, "verbose"),
    ],
)
def test_callback_invalid_arguments(kwargs, match):
    clean, sets = _mnist_sets()
    with pytest.raises(ValueError, match=match):
        CorruptionAccuracy(sets, clean, **kwargs)


def test_callback_rejects_no_sets():
    with pytest.raises(ValueError, match="sets"):
        CorruptionAccuracy({}, None)
