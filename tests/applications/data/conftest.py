"""Synthetic data directories, fake corruption modules and a fake tfds."""

import hashlib
import sys
import types

import numpy as np
import pytest

from tests.applications.synthetic_data import CIFAR_CORRUPTIONS
from tests.applications.synthetic_data import CIFAR_EXTRAS
from tests.applications.synthetic_data import MNIST_CORRUPTIONS
from tests.applications.synthetic_data import random_split


@pytest.fixture
def mnist_dir(tmp_path):
    """Folder with a small mnist.npz: 200 train, 50 test, no channel axis."""
    x_train, y_train = random_split(200, (28, 28), seed=1)
    x_test, y_test = random_split(50, (28, 28), seed=2)
    np.savez(
        tmp_path / "mnist.npz",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
    )
    return tmp_path


@pytest.fixture
def cifar_split_dir(tmp_path):
    """Folder with the split CIFAR-10 layout: 60 + 40 train, 30 test."""
    x_train, y_train = random_split(100, (32, 32, 3), seed=3)
    x_test, y_test = random_split(30, (32, 32, 3), seed=4)
    np.savez(
        tmp_path / "cifar10_train_part1.npz",
        x_train=x_train[:60],
        y_train=y_train[:60],
    )
    np.savez(
        tmp_path / "cifar10_train_part2.npz",
        x_train=x_train[60:],
        y_train=y_train[60:],
    )
    np.savez(tmp_path / "cifar10_test.npz", x_test=x_test, y_test=y_test)
    return tmp_path


def _checked_images(images, image_shape):
    assert images.dtype == np.uint8
    assert images.shape[1:] == image_shape


def _shifted(images, rng, scale):
    # Deterministic given rng: adds noise in 0..scale modulo 256.
    noise = rng.integers(0, scale + 1, images.shape)
    return ((images.astype(np.int64) + noise) % 256).astype(np.uint8)


@pytest.fixture
def fake_generators(monkeypatch):
    """Install fake `mnist_c` and `cifar10_c` modules that record calls."""
    calls = []

    def mnist_corrupt(images, name, rng):
        _checked_images(images, (28, 28, 1))
        if name not in MNIST_CORRUPTIONS:
            raise ValueError(f"unknown corruption {name}")
        calls.append(("mnist", name, None, len(images)))
        if name == "identity":
            return images.copy()
        return _shifted(images, rng, 40)

    def cifar_corrupt(images, name, severity, rng, frost_dir=None):
        _checked_images(images, (32, 32, 3))
        if name not in CIFAR_CORRUPTIONS + CIFAR_EXTRAS:
            raise ValueError(f"unknown corruption {name}")
        if name == "frost" and frost_dir is None:
            raise FileNotFoundError("frost needs frost_dir")
        calls.append(("cifar10", name, severity, len(images)))
        return _shifted(images, rng, 10 * severity)

    mnist_c = types.ModuleType("applications.data.mnist_c")
    mnist_c.CORRUPTIONS = MNIST_CORRUPTIONS
    mnist_c.corrupt = mnist_corrupt
    cifar10_c = types.ModuleType("applications.data.cifar10_c")
    cifar10_c.CORRUPTIONS = CIFAR_CORRUPTIONS
    cifar10_c.EXTRA_CORRUPTIONS = CIFAR_EXTRAS
    cifar10_c.SEVERITIES = (1, 2, 3, 4, 5)
    cifar10_c.corrupt = cifar_corrupt
    monkeypatch.setitem(sys.modules, "applications.data.mnist_c", mnist_c)
    monkeypatch.setitem(sys.modules, "applications.data.cifar10_c", cifar10_c)
    return calls


def tfds_record_order(num_examples, split):
    """Order in which tfds 4.9 stores examples keyed 0..N-1.

    Written from the tfds documentation of its shuffling: records are
    sorted by the 128-bit MD5 of the salt (the split name) followed by the
    key. A test in this folder checks the same fact against a real tfds
    build.
    """
    keys = []
    for index in range(num_examples):
        digest = hashlib.md5(f"{split}{index}".encode()).hexdigest()
        keys.append((int(digest, 16), index))
    return [index for _, index in sorted(keys)]


class FakeTfds:
    """Stand-in for `tensorflow_datasets` that records every call."""

    def __init__(self):
        self.datasets = {}
        self.builder_calls = []
        self.prepare_calls = []
        self.as_dataset_calls = []
        self.gcs_utils = types.SimpleNamespace(_is_gcs_disabled=False)
        self.download = types.SimpleNamespace(
            DownloadConfig=lambda **kw: types.SimpleNamespace(**kw)
        )

    def add(self, name, split, images, labels, prepared=True):
        """Register a split, given in canonical order."""
        order = tfds_record_order(len(labels), split)
        self.datasets[(name, split)] = (images[order], labels[order])
        self.datasets.setdefault(name, {"prepared": prepared})

    def ReadConfig(self, **kwargs):
        return types.SimpleNamespace(**kwargs)

    def as_numpy(self, dataset):
        return dataset

    def builder(self, name, **kwargs):
        self.builder_calls.append((name, kwargs))
        return _FakeBuilder(self, name)


class _FakeBuilder:
    def __init__(self, fake, name):
        self._fake = fake
        self._name = name

    def is_prepared(self):
        return self._fake.datasets.get(self._name, {}).get("prepared", False)

    def download_and_prepare(self, **kwargs):
        self._fake.prepare_calls.append((self._name, kwargs))
        self._fake.datasets[self._name]["prepared"] = True

    def as_dataset(self, **kwargs):
        self._fake.as_dataset_calls.append((self._name, kwargs))
        return self._fake.datasets[(self._name, kwargs["split"])]


@pytest.fixture
def fake_tfds(monkeypatch, tmp_path):
    """Install `FakeTfds` as `tensorflow_datasets`, with an empty
    `TFDS_DATA_DIR`."""
    fake = FakeTfds()
    module = types.ModuleType("tensorflow_datasets")
    for attribute in ("builder", "ReadConfig", "as_numpy", "download"):
        setattr(module, attribute, getattr(fake, attribute))
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", module)
    monkeypatch.setitem(
        sys.modules,
        "tensorflow_datasets.core.utils.gcs_utils",
        fake.gcs_utils,
    )
    tfds_dir = tmp_path / "tfds"
    tfds_dir.mkdir()
    monkeypatch.setenv("TFDS_DATA_DIR", str(tfds_dir))
    fake.data_dir = tfds_dir
    return fake


def mark_prepared(tfds_dir, name):
    """Create the folder tfds leaves after preparing `name`."""
    folder = tfds_dir.joinpath(*name.split("/"), "1.0.0")
    folder.mkdir(parents=True)
    (folder / "dataset_info.json").write_text("{}")


@pytest.fixture(autouse=True)
def isolated_environment(request, monkeypatch, tmp_path):
    """Keep tests away from the user's data, cache and tfds folders.

    Tests that request `real_data_dir` keep `KERAS_NIHR_DATA_DIR`.
    """
    if "real_data_dir" not in request.fixturenames:
        monkeypatch.delenv("KERAS_NIHR_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_NIHR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "no_tfds"))
