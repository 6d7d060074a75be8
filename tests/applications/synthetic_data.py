"""Tiny synthetic data sets and a stand-in CIFAR-10-C generator for tests.

Images are random uint8 arrays with labels 0, 1, ..., 9, 0, 1, ..., so
the tests never read the real data sets or reach tensorflow-datasets.
"""

import sys
import types

import numpy as np

CIFAR_CORRUPTIONS = (
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "frost",
    "fog",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
)
CIFAR_EXTRAS = ("speckle_noise", "gaussian_blur", "spatter", "saturate")


def random_split(num_images, image_shape, seed):
    """Return random uint8 images and labels cycling through 0..9."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (num_images,) + image_shape, np.uint8)
    labels = (np.arange(num_images) % 10).astype(np.uint8)
    return images, labels


def write_mnist_npz(folder, num_train=200, num_test=40):
    """Write `mnist.npz` with images of shape (28, 28), as released."""
    x_train, y_train = random_split(num_train, (28, 28), seed=1)
    x_test, y_test = random_split(num_test, (28, 28), seed=2)
    np.savez(
        folder / "mnist.npz",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
    )
    return folder


def write_cifar10_npz(folder, num_train=200, num_test=40):
    """Write `cifar10.npz` with images of shape (32, 32, 3)."""
    x_train, y_train = random_split(num_train, (32, 32, 3), seed=3)
    x_test, y_test = random_split(num_test, (32, 32, 3), seed=4)
    np.savez(
        folder / "cifar10.npz",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
    )
    return folder


def fake_cifar10_corrupt(images, name, severity, rng, frost_dir=None):
    """Stand-in for `cifar10_c.corrupt`: adds uniform noise in
    0..10 * severity, modulo 256, drawn from `rng`."""
    if name not in CIFAR_CORRUPTIONS + CIFAR_EXTRAS:
        raise ValueError(f"Unknown corruption {name!r}")
    del frost_dir
    noise = rng.integers(0, 10 * severity + 1, images.shape)
    return ((images.astype(np.int64) + noise) % 256).astype(np.uint8)


def install_fake_cifar10_c(monkeypatch):
    """Register a fake `applications.data.cifar10_c` module for one test."""
    module = types.ModuleType("applications.data.cifar10_c")
    module.CORRUPTIONS = CIFAR_CORRUPTIONS
    module.EXTRA_CORRUPTIONS = CIFAR_EXTRAS
    module.SEVERITIES = (1, 2, 3, 4, 5)
    module.corrupt = fake_cifar10_corrupt
    monkeypatch.setitem(sys.modules, "applications.data.cifar10_c", module)
    return module


def isolate_environment(monkeypatch, tmp_path):
    """Point the data, cache and tfds folders of one test at `tmp_path`."""
    monkeypatch.delenv("KERAS_NIHR_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_NIHR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "no_tfds"))
