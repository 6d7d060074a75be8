import subprocess
import sys

import numpy as np
import pytest

from applications.data import load_cifar10
from applications.data import load_mnist
from applications.data import loaders
from applications.data import subset_indices
from tests.applications.synthetic_data import random_split

MNIST_TRAIN_COUNTS = [
    5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949,
]  # fmt: skip
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_mnist_shapes_and_values(mnist_dir):
    (x_train, y_train), (x_test, y_test) = load_mnist(mnist_dir)
    expected_train, expected_labels = random_split(200, (28, 28), seed=1)
    expected_test, _ = random_split(50, (28, 28), seed=2)
    assert x_train.shape == (200, 28, 28, 1)
    assert x_test.shape == (50, 28, 28, 1)
    assert x_train.dtype == np.uint8
    assert y_train.dtype == np.int64
    assert y_test.dtype == np.int64
    np.testing.assert_array_equal(x_train[..., 0], expected_train)
    np.testing.assert_array_equal(x_test[..., 0], expected_test)
    np.testing.assert_array_equal(y_train, expected_labels)


def test_mnist_float32_range(mnist_dir):
    (x_train, _), (x_test, _) = load_mnist(mnist_dir, dtype="float32")
    expected_train, _ = random_split(200, (28, 28), seed=1)
    assert x_train.dtype == np.float32
    assert x_test.dtype == np.float32
    assert x_train.min() >= 0.0
    assert x_train.max() <= 1.0
    np.testing.assert_allclose(x_train[..., 0], expected_train / 255.0)


def test_mnist_from_environment(mnist_dir, monkeypatch):
    monkeypatch.setenv("KERAS_NIHR_DATA_DIR", str(mnist_dir))
    (_, _), (x_test, _) = load_mnist()
    assert x_test.shape == (50, 28, 28, 1)


def test_cifar10_split_layout(cifar_split_dir):
    (x_train, y_train), (x_test, y_test) = load_cifar10(cifar_split_dir)
    expected_train, expected_labels = random_split(100, (32, 32, 3), seed=3)
    expected_test, _ = random_split(30, (32, 32, 3), seed=4)
    assert x_train.shape == (100, 32, 32, 3)
    assert x_test.shape == (30, 32, 32, 3)
    assert y_train.dtype == np.int64
    np.testing.assert_array_equal(x_train, expected_train)
    np.testing.assert_array_equal(y_train, expected_labels)
    np.testing.assert_array_equal(x_test, expected_test)


def test_cifar10_single_file(tmp_path):
    x_train, y_train = random_split(40, (32, 32, 3), seed=5)
    x_test, y_test = random_split(20, (32, 32, 3), seed=6)
    np.savez(
        tmp_path / "cifar10.npz",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
    )
    (a_train, b_train), (a_test, b_test) = load_cifar10(
        tmp_path, dtype="float32"
    )
    assert a_train.shape == (40, 32, 32, 3)
    assert a_train.dtype == np.float32
    np.testing.assert_allclose(a_test, x_test / 255.0)
    np.testing.assert_array_equal(b_test, y_test)


def test_cifar10_single_file_comes_first(cifar_split_dir):
    x_test, y_test = random_split(7, (32, 32, 3), seed=9)
    x_train, y_train = random_split(11, (32, 32, 3), seed=10)
    np.savez(
        cifar_split_dir / "cifar10.npz",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
    )
    (a_train, _), (a_test, _) = load_cifar10(cifar_split_dir)
    assert len(a_train) == 11
    assert len(a_test) == 7


def test_first_n_subset(mnist_dir):
    (x_train, y_train), (x_test, _) = load_mnist(
        mnist_dir, train_limit=30, test_limit=5
    )
    expected_train, expected_labels = random_split(200, (28, 28), seed=1)
    assert x_train.shape == (30, 28, 28, 1)
    assert x_test.shape == (5, 28, 28, 1)
    np.testing.assert_array_equal(x_train[..., 0], expected_train[:30])
    np.testing.assert_array_equal(y_train, expected_labels[:30])


def test_stratified_subset_balance(mnist_dir):
    (x_train, y_train), (_, y_test) = load_mnist(
        mnist_dir, train_limit=50, test_limit=20, stratified=True, seed=4
    )
    np.testing.assert_array_equal(np.bincount(y_train), [5] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [2] * 10)
    # Each kept image still sits next to its own label.
    all_train, all_labels = random_split(200, (28, 28), seed=1)
    for image, label in zip(x_train[..., 0], y_train, strict=True):
        matches = np.flatnonzero((all_train == image).all(axis=(1, 2)))
        assert all_labels[matches[0]] == label


def test_stratified_subset_seeds(mnist_dir):
    (x_a, _), _ = load_mnist(mnist_dir, train_limit=50, stratified=True)
    (x_b, _), _ = load_mnist(mnist_dir, train_limit=50, stratified=True)
    (x_c, _), _ = load_mnist(mnist_dir, train_limit=50, stratified=True, seed=1)
    np.testing.assert_array_equal(x_a, x_b)
    assert not np.array_equal(x_a, x_c)


def test_stratified_proportional_counts():
    labels = np.array([0] * 70 + [1] * 20 + [2] * 10)
    keep = subset_indices(labels, 10, stratified=True)
    np.testing.assert_array_equal(np.bincount(labels[keep]), [7, 2, 1])
    # 15 of 100: exact shares 10.5, 3, 1.5. The one left over after
    # rounding down goes to the lower of the two tied classes.
    keep = subset_indices(labels, 15, stratified=True)
    np.testing.assert_array_equal(np.bincount(labels[keep]), [11, 3, 1])
    assert np.all(np.diff(keep) > 0)


@pytest.mark.parametrize("limit", [0, 201, -1, 2.5, True, "10"])
def test_invalid_train_limit(mnist_dir, limit):
    with pytest.raises(ValueError, match="train_limit"):
        load_mnist(mnist_dir, train_limit=limit)


@pytest.mark.parametrize("dtype", ["float16", "int32", "image"])
def test_invalid_dtype(mnist_dir, dtype):
    with pytest.raises(ValueError, match="dtype"):
        load_mnist(mnist_dir, dtype=dtype)


@pytest.mark.parametrize("seed", [-1, 1.5, None])
def test_invalid_seed(mnist_dir, seed):
    with pytest.raises(ValueError, match="seed"):
        load_mnist(mnist_dir, seed=seed)


def test_missing_file_message(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path) in message
    assert "mnist.npz" in message
    assert "KERAS_NIHR_DATA_DIR" in message
    assert "download=True" in message


def test_missing_directory_message():
    with pytest.raises(FileNotFoundError) as info:
        load_cifar10(download=False)
    message = str(info.value)
    assert "No data directory was given" in message
    assert "cifar10_train_part1.npz" in message
    assert "cifar10.npz" in message


def test_nonexistent_data_dir(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_mnist(missing)


def test_missing_key_message(tmp_path):
    x, y = random_split(10, (28, 28), seed=0)
    np.savez(tmp_path / "mnist.npz", x_train=x, y_train=y, x_test=x)
    with pytest.raises(ValueError) as info:
        load_mnist(tmp_path)
    assert "y_test" in str(info.value)
    assert "mnist.npz" in str(info.value)


def test_incomplete_split_layout(cifar_split_dir):
    (cifar_split_dir / "cifar10_train_part2.npz").unlink()
    with pytest.raises(FileNotFoundError, match="cifar10_train_part2.npz"):
        load_cifar10(cifar_split_dir)


def test_wrong_image_dtype(tmp_path):
    x, y = random_split(10, (28, 28), seed=0)
    np.savez(
        tmp_path / "mnist.npz",
        x_train=x.astype(np.float32),
        y_train=y,
        x_test=x,
        y_test=y,
    )
    with pytest.raises(ValueError, match="float32"):
        load_mnist(tmp_path)


def test_wrong_image_shape(tmp_path):
    x, y = random_split(10, (32, 32, 3), seed=0)
    np.savez(tmp_path / "mnist.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    with pytest.raises(ValueError, match=r"\(10, 32, 32, 3\)"):
        load_mnist(tmp_path)


def test_labels_out_of_range(tmp_path):
    x, y = random_split(10, (28, 28), seed=0)
    bad = y.copy()
    bad[3] = 10
    np.savez(tmp_path / "mnist.npz", x_train=x, y_train=bad, x_test=x, y_test=y)
    with pytest.raises(ValueError, match="0..9"):
        load_mnist(tmp_path)


def test_import_loads_no_tensorflow():
    code = (
        "import sys, applications.data; "
        "print(sorted(m for m in ('keras', 'tensorflow', "
        "'tensorflow_datasets') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_read_split_rejects_unknown_split(mnist_dir):
    with pytest.raises(ValueError, match="validation"):
        loaders.read_split("mnist", "validation", mnist_dir)


@pytest.mark.real_data
def test_real_mnist(real_data_dir):
    (x_train, y_train), (x_test, y_test) = load_mnist(real_data_dir)
    assert x_train.shape == (60000, 28, 28, 1)
    assert x_test.shape == (10000, 28, 28, 1)
    assert x_train.dtype == np.uint8
    assert y_train.dtype == np.int64
    assert y_train.min() == 0
    assert y_train.max() == 9
    assert np.bincount(y_train).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == MNIST_TEST_COUNTS
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


@pytest.mark.real_data
def test_real_cifar10(real_data_dir):
    (x_train, y_train), (x_test, y_test) = load_cifar10(real_data_dir)
    assert x_train.shape == (50000, 32, 32, 3)
    assert x_test.shape == (10000, 32, 32, 3)
    assert x_train.dtype == np.uint8
    assert y_test.dtype == np.int64
    assert y_train.min() == 0
    assert y_train.max() == 9
    assert np.bincount(y_train).tolist() == [5000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert y_train[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert y_test[:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
