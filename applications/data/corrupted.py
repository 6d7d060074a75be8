"""MNIST-C and CIFAR-10-C test sets, from tensorflow-datasets or generated.

`load_corrupted` takes a set from one of two sources:

- the official release through tensorflow-datasets (`mnist_corrupted`,
  `cifar10_corrupted`), restored to the canonical test order;
- the generators `applications.data.mnist_c` and
  `applications.data.cifar10_c`, applied to the clean test set. Generated
  sets are cached on disk, so benchmarks can be built offline.

Either way, image i of a corrupted set is clean test image i under the
corruption, with the clean label.
"""

import logging

from applications.data import cache
from applications.data import catalog
from applications.data import generator
from applications.data import loaders
from applications.data import npz_files
from applications.data import tfds_source

logger = logging.getLogger(__name__)

SOURCES = ("auto", "generate", "tfds")


def cache_path(dataset, name, severity, *, seed=0, limit=None, cache_dir=None):
    """Return the cache file of a generated set.

    The key contains the dataset, corruption, severity, seed, limit and
    `generator.generator_version(dataset)`. `cache_dir` defaults to
    `KERAS_NIHR_CACHE_DIR`, else `~/.cache/keras_nihr`.
    """
    catalog.check_corruption(dataset, name, severity)
    level = "" if severity is None else f"_s{severity}"
    count = "all" if limit is None else str(limit)
    version = generator.generator_version(dataset)
    file_name = f"{name}{level}_seed{seed}_n{count}_{version}.npz"
    return cache.resolve_cache_dir(cache_dir) / f"{dataset}_c" / file_name


def _check_source(source):
    if source not in SOURCES:
        raise ValueError(
            "Invalid value received for argument `source`. Expected one of "
            f"{SOURCES}. Received: source={source!r}"
        )


def check_frost_textures(dataset, pairs, source, data_dir=None, frost_dir=None):
    """Check the frost textures before any set of `pairs` is built.

    Generating `frost` needs its texture files. Checking them first stops
    a long run from failing after it generated every earlier set.

    Args:
        dataset: `"mnist"` or `"cifar10"`.
        pairs: `(name, severity)` pairs that will be built.
        source: as in `corrupted_set`.
        data_dir: data directory whose `frost/` subfolder is the default.
        frost_dir: folder of the frost textures, if not the default.

    Raises:
        FileNotFoundError: naming the folder and the missing files, when a
            frost set will be generated and its textures are missing.
    """
    frost = [(name, level) for name, level in pairs if name == "frost"]
    if not frost or source == "tfds":
        return
    if source == "auto" and all(
        tfds_source.is_prepared_on_disk(catalog.tfds_name(dataset, *pair))
        for pair in frost
    ):
        return
    generator.resolve_frost_dir(frost_dir, data_dir)


def corrupted_set(
    dataset,
    name,
    severity=None,
    *,
    data_dir=None,
    cache_dir=None,
    source="auto",
    limit=None,
    seed=0,
    frost_dir=None,
    download=True,
    clean=None,
):
    """Return a corrupted test set and where it came from.

    Arguments are those of `load_corrupted`, plus `clean`: the clean
    `(images, labels)` to corrupt, already cut to `limit`. Passing them
    saves reading the test split for each set. None reads the split.

    Returns:
        `(images, labels, origin)`: uint8 images, int64 labels and one of
        `"tfds"`, `"cache"` or `"generated"`.
    """
    catalog.check_corruption(dataset, name, severity)
    _check_source(source)
    loaders.check_seed(seed)
    loaders.check_limit(limit, "limit")
    spec = npz_files.get_spec(dataset)
    label = name if severity is None else f"{name} severity {severity}"

    if source != "generate":
        tfds_name = catalog.tfds_name(dataset, name, severity)
        result = None
        if source == "tfds" or tfds_source.is_prepared_on_disk(tfds_name):
            try:
                result = tfds_source.load_split(
                    tfds_name,
                    "test",
                    download=source == "tfds",
                    expected_first_labels=spec.first_labels["test"],
                )
            except ImportError:
                if source == "tfds":
                    raise
                logger.warning(
                    "tensorflow-datasets is not installed, so %s %s is "
                    "generated.",
                    dataset,
                    label,
                )
        if result is not None:
            images, labels = result
            keep = loaders.subset_indices(labels, limit)
            if keep is not None:
                images, labels = images[keep], labels[keep]
            return images, labels, "tfds"

    path = cache_path(
        dataset, name, severity, seed=seed, limit=limit, cache_dir=cache_dir
    )
    cached = cache.load_npz(path, ("x_test", "y_test"))
    if cached is not None:
        logger.info("Loaded %s %s from cache %s", dataset, label, path)
        return cached[0], cached[1], "cache"

    if clean is None:
        images, labels = loaders.read_split(
            dataset, "test", data_dir, download=download
        )
        keep = loaders.subset_indices(labels, limit)
        if keep is not None:
            images, labels = images[keep], labels[keep]
    else:
        images, labels = clean
    if name == "frost":
        frost_dir = generator.resolve_frost_dir(frost_dir, data_dir)
    corrupted = generator.generate_corrupted(
        dataset, name, severity, images, seed=seed, frost_dir=frost_dir
    )
    cache.save_npz_atomic(path, x_test=corrupted, y_test=labels)
    logger.info("Cached %s %s in %s", dataset, label, path)
    return corrupted, labels, "generated"


def load_corrupted(
    dataset,
    name,
    severity=None,
    *,
    data_dir=None,
    cache_dir=None,
    source="auto",
    limit=None,
    seed=0,
    frost_dir=None,
    dtype="uint8",
    download=True,
):
    """Load one MNIST-C or CIFAR-10-C test set, in clean test order.

    Args:
        dataset: `"mnist"` (MNIST-C) or `"cifar10"` (CIFAR-10-C).
        name: corruption name, see `catalog.corruption_names(dataset)`.
        severity: None for MNIST-C, which has one fixed severity per
            corruption. An int in 1..5 for CIFAR-10-C.
        data_dir: folder with the clean `.npz` files (and `frost/`).
            Defaults to `KERAS_NIHR_DATA_DIR`.
        cache_dir: folder for generated sets. Defaults to
            `KERAS_NIHR_CACHE_DIR`, else `~/.cache/keras_nihr`.
        source: `"auto"` uses the official tfds copy only when it is
            already prepared on disk (never the network) and generates
            the set otherwise. `"generate"` always generates it, reusing
            the cache. `"tfds"` loads the official copy and lets tfds
            download it.
        limit: keep the first `limit` test images, or None for all.
        seed: int >= 0 of the generator. Ignored for tfds copies.
        frost_dir: folder of frost textures for CIFAR-10-C "frost".
            Defaults to `<data_dir>/frost`.
        dtype: `"uint8"` (0..255) or `"float32"` ([0, 1]).
        download: whether tfds may download the clean test set that the
            generator corrupts when no data directory contains it.

    Returns:
        `(images, labels)`: images (N, 28, 28, 1) or (N, 32, 32, 3),
        int64 labels equal to the clean test labels.
    """
    loaders.check_dtype(dtype)
    images, labels, _ = corrupted_set(
        dataset,
        name,
        severity,
        data_dir=data_dir,
        cache_dir=cache_dir,
        source=source,
        limit=limit,
        seed=seed,
        frost_dir=frost_dir,
        download=download,
    )
    return loaders.convert_images(images, dtype), labels
