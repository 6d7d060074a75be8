import os
import sys
import types

import numpy as np
import pytest

from applications.data import cache
from applications.data import catalog
from applications.data import corrupted
from applications.data import corruption_names
from applications.data import corruption_pairs
from applications.data import generator
from applications.data import load_corrupted
from applications.data import severities
from tests.applications.synthetic_data import CIFAR_CORRUPTIONS
from tests.applications.synthetic_data import CIFAR_EXTRAS
from tests.applications.synthetic_data import MNIST_CORRUPTIONS
from tests.applications.synthetic_data import random_split


def clean_mnist_test():
    images, labels = random_split(50, (28, 28), seed=2)
    return images[..., np.newaxis], labels


def test_corruption_names():
    assert corruption_names("mnist") == MNIST_CORRUPTIONS
    assert corruption_names("cifar10") == CIFAR_CORRUPTIONS + CIFAR_EXTRAS
    assert corruption_names("cifar10", extras=False) == CIFAR_CORRUPTIONS
    assert severities("mnist") == (None,)
    assert severities("cifar10") == (1, 2, 3, 4, 5)


def test_corruption_pairs():
    assert len(corruption_pairs("mnist")) == 16
    assert len(corruption_pairs("cifar10")) == 19 * 5
    pairs = corruption_pairs("cifar10", ["fog", "frost"], [2, 5])
    assert pairs == [("fog", 2), ("fog", 5), ("frost", 2), ("frost", 5)]


@pytest.mark.parametrize(
    "dataset, name, severity, match",
    [
        ("mnist", "gaussian_noise", None, "name"),
        ("mnist", "fog", 3, "severity"),
        ("cifar10", "fog", None, "severity"),
        ("cifar10", "fog", 6, "severity"),
        ("cifar10", "fog", 2.0, "severity"),
        ("cifar10", "stripe", 1, "name"),
        ("svhn", "fog", 1, "dataset"),
    ],
)
def test_invalid_corruption(dataset, name, severity, match):
    with pytest.raises(ValueError, match=match):
        load_corrupted(dataset, name, severity, source="generate")


def test_invalid_source():
    with pytest.raises(ValueError, match="source"):
        load_corrupted("mnist", "fog", source="internet")


def test_names_match_generator_modules():
    mnist_c = pytest.importorskip("applications.data.mnist_c")
    cifar10_c = pytest.importorskip("applications.data.cifar10_c")
    assert tuple(mnist_c.CORRUPTIONS) == catalog.MNIST_C_CORRUPTIONS
    assert tuple(cifar10_c.CORRUPTIONS) == catalog.CIFAR10_C_CORRUPTIONS
    assert (
        tuple(cifar10_c.EXTRA_CORRUPTIONS)
        == catalog.CIFAR10_C_EXTRA_CORRUPTIONS
    )
    assert tuple(cifar10_c.SEVERITIES) == catalog.CIFAR10_C_SEVERITIES


def test_identity_keeps_order_and_labels(mnist_dir, fake_generators):
    x, y = load_corrupted("mnist", "identity", data_dir=mnist_dir)
    images, labels = clean_mnist_test()
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)
    assert y.dtype == np.int64


def test_generated_set_differs_from_clean(mnist_dir, fake_generators):
    x, y = load_corrupted("mnist", "fog", data_dir=mnist_dir, dtype="float32")
    images, labels = clean_mnist_test()
    assert x.dtype == np.float32
    assert x.shape == images.shape
    assert not np.allclose(x, images / 255.0)
    np.testing.assert_array_equal(y, labels)


def test_limit_keeps_first_images(mnist_dir, fake_generators):
    x, y = load_corrupted("mnist", "identity", data_dir=mnist_dir, limit=7)
    images, labels = clean_mnist_test()
    np.testing.assert_array_equal(x, images[:7])
    np.testing.assert_array_equal(y, labels[:7])


def test_limit_beyond_test_set(mnist_dir, fake_generators):
    with pytest.raises(ValueError, match="1..50"):
        load_corrupted("mnist", "fog", data_dir=mnist_dir, limit=51)


def test_chunks_have_own_generators(monkeypatch, fake_generators):
    monkeypatch.setattr(generator, "CHUNK_SIZE", 20)
    images, _ = clean_mnist_test()
    result = generator.generate_corrupted("mnist", "fog", None, images)
    sizes = [call[3] for call in fake_generators]
    assert sizes == [20, 20, 10]
    # Chunk 0 alone gives the same pixels as inside the full run.
    alone = generator.generate_corrupted("mnist", "fog", None, images[:20])
    np.testing.assert_array_equal(result[:20], alone)
    # The noise of chunk 0 and chunk 1 differs.
    first = result[:20].astype(int) - images[:20]
    second = result[20:40].astype(int) - images[20:40]
    assert not np.array_equal(first, second)


def test_generation_is_deterministic(fake_generators):
    images, _ = clean_mnist_test()
    first = generator.generate_corrupted("mnist", "fog", None, images, seed=3)
    again = generator.generate_corrupted("mnist", "fog", None, images, seed=3)
    other = generator.generate_corrupted("mnist", "fog", None, images, seed=4)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_generation_leaves_input_unchanged(monkeypatch, fake_generators):
    def corrupt_in_place(images, name, rng):
        images[:] = 0
        return images

    monkeypatch.setattr(
        sys.modules["applications.data.mnist_c"], "corrupt", corrupt_in_place
    )
    images, _ = clean_mnist_test()
    before = images.copy()
    generator.generate_corrupted("mnist", "fog", None, images)
    np.testing.assert_array_equal(images, before)


def test_generator_output_checked(monkeypatch, fake_generators):
    monkeypatch.setattr(
        sys.modules["applications.data.mnist_c"],
        "corrupt",
        lambda images, name, rng: images.astype(np.float32),
    )
    images, _ = clean_mnist_test()
    with pytest.raises(RuntimeError, match="float32"):
        generator.generate_corrupted("mnist", "fog", None, images)


def test_missing_generator_module(monkeypatch, mnist_dir):
    monkeypatch.setitem(sys.modules, "applications.data.mnist_c", None)
    with pytest.raises(ModuleNotFoundError, match='source="tfds"'):
        load_corrupted("mnist", "fog", data_dir=mnist_dir)


def test_cache_reused(mnist_dir, fake_generators, tmp_path):
    first = load_corrupted("mnist", "fog", data_dir=mnist_dir, seed=1)
    assert len(fake_generators) == 1
    second = load_corrupted("mnist", "fog", data_dir=mnist_dir, seed=1)
    assert len(fake_generators) == 1
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    path = corrupted.cache_path("mnist", "fog", None, seed=1)
    assert path.is_file()
    assert path.parent.parent == tmp_path / "cache"


def test_cache_seeds_use_separate_files(mnist_dir, fake_generators):
    x_a, _ = load_corrupted("mnist", "fog", data_dir=mnist_dir, seed=1)
    x_b, _ = load_corrupted("mnist", "fog", data_dir=mnist_dir, seed=2)
    assert len(fake_generators) == 2
    path_a = corrupted.cache_path("mnist", "fog", None, seed=1)
    path_b = corrupted.cache_path("mnist", "fog", None, seed=2)
    assert path_a != path_b
    assert path_a.is_file()
    assert path_b.is_file()
    assert not np.array_equal(x_a, x_b)


def test_cache_key_parts(fake_generators, tmp_path):
    path = corrupted.cache_path(
        "cifar10", "fog", 3, seed=7, limit=100, cache_dir=tmp_path
    )
    assert path.parent == tmp_path / "cifar10_c"
    assert path.name == "fog_s3_seed7_n100_v1.npz"
    other = corrupted.cache_path("cifar10", "fog", 4, seed=7, limit=100)
    assert other.name == "fog_s4_seed7_n100_v1.npz"


def test_cache_key_follows_module_source(fake_generators, tmp_path):
    source = tmp_path / "mnist_c.py"
    source.write_text("# version one\n")
    sys.modules["applications.data.mnist_c"].__file__ = str(source)
    before = corrupted.cache_path("mnist", "fog", None)
    source.write_text("# version two\n")
    after = corrupted.cache_path("mnist", "fog", None)
    assert before != after


def test_cache_dir_argument(mnist_dir, fake_generators, tmp_path):
    load_corrupted(
        "mnist", "fog", data_dir=mnist_dir, cache_dir=tmp_path / "mine"
    )
    files = list((tmp_path / "mine" / "mnist_c").iterdir())
    assert [f.name for f in files] == ["fog_seed0_nall_v1.npz"]


def test_unreadable_cache_regenerated(mnist_dir, fake_generators):
    path = corrupted.cache_path("mnist", "fog", None)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an npz file")
    x, _ = load_corrupted("mnist", "fog", data_dir=mnist_dir)
    assert len(fake_generators) == 1
    np.testing.assert_array_equal(np.load(path)["x_test"], x)


def test_atomic_write_interrupted(monkeypatch, tmp_path):
    def interrupted(file, **arrays):
        file.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", interrupted)
    target = tmp_path / "out" / "set.npz"
    with pytest.raises(KeyboardInterrupt):
        cache.save_npz_atomic(target, x_test=np.zeros(3))
    assert os.listdir(tmp_path / "out") == []


def test_atomic_write_replaces(tmp_path):
    target = tmp_path / "set.npz"
    cache.save_npz_atomic(target, x_test=np.arange(3))
    cache.save_npz_atomic(target, x_test=np.arange(5))
    np.testing.assert_array_equal(np.load(target)["x_test"], np.arange(5))
    assert os.listdir(tmp_path) == ["set.npz"]


def make_frost_dir(folder):
    folder.mkdir()
    for name in generator.FROST_FILES:
        (folder / name).write_bytes(b"texture")
    return folder


def test_frost_default_folder(cifar_split_dir, fake_generators):
    with pytest.raises(FileNotFoundError) as info:
        load_corrupted("cifar10", "frost", 1, data_dir=cifar_split_dir)
    assert str(cifar_split_dir / "frost") in str(info.value)
    assert "frost6.jpg" in str(info.value)
    make_frost_dir(cifar_split_dir / "frost")
    x, _ = load_corrupted("cifar10", "frost", 1, data_dir=cifar_split_dir)
    assert x.shape == (30, 32, 32, 3)


def test_frost_incomplete_folder(cifar_split_dir, fake_generators, tmp_path):
    frost = make_frost_dir(tmp_path / "textures")
    (frost / "frost4.jpg").unlink()
    with pytest.raises(FileNotFoundError) as info:
        load_corrupted(
            "cifar10", "frost", 2, data_dir=cifar_split_dir, frost_dir=frost
        )
    assert str(frost) in str(info.value)
    assert "is missing frost4.jpg. Pass" in str(info.value)


def test_frost_without_any_folder(fake_generators):
    images, labels = random_split(30, (32, 32, 3), seed=4)
    with pytest.raises(FileNotFoundError, match="--frost-dir"):
        corrupted.corrupted_set(
            "cifar10", "frost", 1, clean=(images, labels.astype(np.int64))
        )


def test_generator_version_follows_helper_modules(tmp_path, monkeypatch):
    registry = tmp_path / "fake_c.py"
    helper = tmp_path / "_fake_c_noise.py"
    unrelated = tmp_path / "_other_c_noise.py"
    for path in (registry, helper, unrelated):
        path.write_text("VALUE = 1\n")
    module = types.SimpleNamespace(__file__=str(registry))
    monkeypatch.setattr(generator, "import_generator", lambda dataset: module)

    first = generator.generator_version("mnist")
    unrelated.write_text("VALUE = 2\n")
    assert generator.generator_version("mnist") == first
    helper.write_text("VALUE = 2\n")
    assert generator.generator_version("mnist") != first
