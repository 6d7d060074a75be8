import numpy as np
import pytest

from applications.data import load_corrupted
from applications.data import load_mnist
from applications.data import tfds_source
from tests.applications.data.conftest import mark_prepared
from tests.applications.synthetic_data import random_split

MNIST_FIRST = {
    "train": [5, 0, 4, 1, 9, 2, 1, 3, 1, 4],
    "test": [7, 2, 1, 0, 4, 1, 4, 9, 5, 9],
}
CIFAR_TEST_FIRST = [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]


def published_split(num_images, image_shape, first_labels, seed):
    """Random images whose labels start with the published first labels."""
    images, labels = random_split(num_images, image_shape, seed)
    labels = labels.astype(np.int64)
    labels[: len(first_labels)] = first_labels
    return images, labels


def add_mnist(fake, prepared=True):
    splits = {}
    for split, size, seed in (("train", 40, 1), ("test", 30, 2)):
        images, labels = published_split(
            size, (28, 28, 1), MNIST_FIRST[split], seed
        )
        fake.add("mnist", split, images, labels, prepared=prepared)
        splits[split] = (images, labels)
    return splits


def test_canonical_order_matches_tfds_hasher():
    hashing = pytest.importorskip("tensorflow_datasets.core.hashing")
    hasher = hashing.Hasher("test")
    expected = sorted(range(200), key=hasher.hash_key)
    order = tfds_source.canonical_order(200, "test")
    np.testing.assert_array_equal(order, expected)


def test_clean_mnist_from_prepared_tfds(fake_tfds):
    splits = add_mnist(fake_tfds)
    mark_prepared(fake_tfds.data_dir, "mnist")
    (x_train, y_train), (x_test, y_test) = load_mnist()
    np.testing.assert_array_equal(x_train, splits["train"][0])
    np.testing.assert_array_equal(y_train, splits["train"][1])
    np.testing.assert_array_equal(x_test, splits["test"][0])
    np.testing.assert_array_equal(y_test, splits["test"][1])
    assert fake_tfds.prepare_calls == []


def test_tfds_builder_flags(fake_tfds):
    add_mnist(fake_tfds)
    mark_prepared(fake_tfds.data_dir, "mnist")
    load_mnist()
    assert fake_tfds.gcs_utils._is_gcs_disabled is True
    name, kwargs = fake_tfds.builder_calls[0]
    assert name == "mnist"
    assert kwargs["try_gcs"] is False
    assert kwargs["data_dir"] == str(fake_tfds.data_dir)
    _, options = fake_tfds.as_dataset_calls[0]
    assert options["split"] == "train"
    assert options["shuffle_files"] is False
    assert options["batch_size"] == -1
    assert options["as_supervised"] is True
    assert options["read_config"].interleave_cycle_length == 1


def test_download_only_when_allowed(fake_tfds):
    add_mnist(fake_tfds, prepared=False)
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_mnist(download=False)
    assert fake_tfds.builder_calls == []
    load_mnist()
    name, kwargs = fake_tfds.prepare_calls[0]
    assert name == "mnist"
    assert kwargs["download_config"].try_download_gcs is False


def test_order_check_rejects_mismatch(fake_tfds):
    images, labels = random_split(30, (28, 28, 1), seed=0)
    fake_tfds.add("mnist", "train", images, labels.astype(np.int64))
    mark_prepared(fake_tfds.data_dir, "mnist")
    with pytest.raises(RuntimeError, match="published first labels"):
        load_mnist()


@pytest.mark.parametrize(
    "name, severity, expected",
    [
        ("glass_blur", 3, "cifar10_corrupted/frosted_glass_blur_3"),
        ("elastic_transform", 1, "cifar10_corrupted/elastic_1"),
        ("fog", 5, "cifar10_corrupted/fog_5"),
        ("saturate", 2, "cifar10_corrupted/saturate_2"),
    ],
)
def test_cifar10_corrupted_config(fake_tfds, name, severity, expected):
    images, labels = published_split(20, (32, 32, 3), CIFAR_TEST_FIRST, 3)
    fake_tfds.add(expected, "test", images, labels, prepared=False)
    x, y = load_corrupted("cifar10", name, severity, source="tfds")
    assert fake_tfds.builder_calls[0][0] == expected
    assert fake_tfds.builder_calls[0][1]["try_gcs"] is False
    config = fake_tfds.prepare_calls[0][1]["download_config"]
    assert config.try_download_gcs is False
    assert fake_tfds.as_dataset_calls[0][1]["split"] == "test"
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)


def test_mnist_corrupted_config(fake_tfds):
    name = "mnist_corrupted/shot_noise"
    images, labels = published_split(25, (28, 28, 1), MNIST_FIRST["test"], 4)
    fake_tfds.add(name, "test", images, labels, prepared=False)
    x, y = load_corrupted("mnist", "shot_noise", source="tfds", limit=12)
    assert fake_tfds.builder_calls[0][0] == name
    # The limit keeps the first images of the clean order, not of the
    # shuffled tfds records.
    np.testing.assert_array_equal(x, images[:12])
    np.testing.assert_array_equal(y, labels[:12])


def test_auto_uses_prepared_tfds(fake_tfds, fake_generators):
    name = "cifar10_corrupted/contrast_4"
    images, labels = published_split(20, (32, 32, 3), CIFAR_TEST_FIRST, 5)
    fake_tfds.add(name, "test", images, labels)
    mark_prepared(fake_tfds.data_dir, name)
    x, _ = load_corrupted("cifar10", "contrast", 4, dtype="float32")
    np.testing.assert_allclose(x, images / 255.0)
    assert fake_tfds.prepare_calls == []
    assert fake_generators == []


def test_auto_generates_without_tfds_copy(
    fake_tfds, fake_generators, cifar_split_dir
):
    x, _ = load_corrupted("cifar10", "contrast", 4, data_dir=cifar_split_dir)
    assert fake_tfds.builder_calls == []
    assert fake_generators == [("cifar10", "contrast", 4, 30)]
    assert x.shape == (30, 32, 32, 3)
