"""Deterministic generation of corrupted test sets from clean images.

The corruption functions live in `applications.data.mnist_c` (MNIST-C) and
`applications.data.cifar10_c` (CIFAR-10-C). They are imported by module
name on first use, so this module loads without them.
"""

import hashlib
import importlib
import logging
import pathlib
import time

import numpy as np

from applications.data import catalog
from applications.data import npz_files

logger = logging.getLogger(__name__)

# Bump when chunking or seeding changes, so old cache files are not reused.
GENERATOR_VERSION = "1"
CHUNK_SIZE = 1000
FROST_FILES = (
    "frost1.png",
    "frost2.png",
    "frost3.png",
    "frost4.jpg",
    "frost5.jpg",
    "frost6.jpg",
)
_GENERATOR_MODULES = {"mnist": "mnist_c", "cifar10": "cifar10_c"}


def import_generator(dataset):
    """Import the corruption module of a dataset by name, on first use.

    Raises:
        ModuleNotFoundError: if the module is missing, with a hint to use
            the tfds source instead.
    """
    npz_files.get_spec(dataset)
    module_name = f"{__package__}.{_GENERATOR_MODULES[dataset]}"
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        raise ModuleNotFoundError(
            f"The corruption generator {module_name} is not available, so "
            f"{dataset} corrupted sets cannot be generated. Use "
            'source="tfds" to load the official sets instead.',
            name=module_name,
        ) from error


def generator_version(dataset):
    """Return the version string in cache keys.

    It joins `GENERATOR_VERSION` with a digest of the corruption module's
    source and of its private helper modules beside it (`_<module>_*.py`),
    so editing any of them invalidates the cached sets.
    """
    module = import_generator(dataset)
    version = f"v{GENERATOR_VERSION}"
    source_file = getattr(module, "__file__", None)
    if source_file:
        source_file = pathlib.Path(source_file)
        helpers = sorted(source_file.parent.glob(f"_{source_file.stem}_*.py"))
        digest = hashlib.sha256()
        for path in [source_file, *helpers]:
            digest.update(path.name.encode("utf-8"))
            digest.update(path.read_bytes())
        version += "-" + digest.hexdigest()[:10]
    return version


def chunk_rng(seed, dataset, name, severity, chunk_index):
    """Return the random generator of one chunk of a generated set.

    It depends only on its arguments. Names enter through a SHA-256
    digest because Python's `hash` of a string changes between runs.
    """
    words = [seed, chunk_index, 0 if severity is None else severity]
    for text in (dataset, name):
        digest = hashlib.sha256(text.encode("utf-8")).digest()
        words.append(int.from_bytes(digest[:8], "little"))
    return np.random.default_rng(np.random.SeedSequence(words))


def resolve_frost_dir(frost_dir=None, data_dir=None):
    """Return the folder of frost textures after checking its files.

    Args:
        frost_dir: folder with frost1.png .. frost6.jpg, or None for
            `<data_dir>/frost`.
        data_dir: data directory, defaulting to `KERAS_NIHR_DATA_DIR`.

    Raises:
        FileNotFoundError: naming the folder and the missing files.
    """
    if frost_dir is None:
        directory = npz_files.resolve_data_dir(data_dir)
        if directory is None:
            raise FileNotFoundError(
                "The frost corruption needs the folder of frost textures "
                f"({', '.join(FROST_FILES)}). Pass frost_dir (--frost-dir), "
                "or a data directory with a frost/ subfolder."
            )
        frost_dir = directory / "frost"
    frost_dir = pathlib.Path(frost_dir).expanduser()
    missing = [name for name in FROST_FILES if not (frost_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"The frost textures folder {frost_dir} is missing "
            f"{', '.join(missing)}. Pass frost_dir (--frost-dir) pointing "
            f"to a folder with {', '.join(FROST_FILES)}."
        )
    return frost_dir


def generate_corrupted(
    dataset, name, severity, images, *, seed=0, frost_dir=None
):
    """Apply one corruption to clean images with the dataset's generator.

    The images are processed in chunks of `CHUNK_SIZE`, each with its own
    `chunk_rng`, so the result depends only on the images, the corruption,
    the severity and `seed`.

    Args:
        dataset: `"mnist"` or `"cifar10"`.
        name: corruption name, see `catalog.corruption_names`.
        severity: None for MNIST-C, 1..5 for CIFAR-10-C.
        images: uint8 clean images (N, H, W, C).
        seed: int >= 0.
        frost_dir: folder of frost textures, needed by CIFAR-10-C "frost".

    Returns:
        uint8 corrupted images of the same shape.
    """
    catalog.check_corruption(dataset, name, severity)
    module = import_generator(dataset)
    corrupted = np.empty_like(images)
    num_chunks = -(-len(images) // CHUNK_SIZE)
    label = name if severity is None else f"{name} severity {severity}"
    logger.info(
        "Generating %s %s: %d images in %d chunks",
        dataset,
        label,
        len(images),
        num_chunks,
    )
    start_time = time.monotonic()
    for index in range(num_chunks):
        chunk = slice(index * CHUNK_SIZE, (index + 1) * CHUNK_SIZE)
        rng = chunk_rng(seed, dataset, name, severity, index)
        # A copy keeps the caller's clean images safe from in-place edits.
        clean = images[chunk].copy()
        if dataset == "mnist":
            result = module.corrupt(clean, name, rng)
        else:
            result = module.corrupt(
                clean, name, severity, rng, frost_dir=frost_dir
            )
        if result.shape != clean.shape or result.dtype != np.uint8:
            raise RuntimeError(
                f"{module.__name__}.corrupt returned {result.dtype} "
                f"{result.shape} for {label}. Expected uint8 {clean.shape}."
            )
        corrupted[chunk] = result
        logger.debug(
            "%s %s: chunk %d/%d", dataset, label, index + 1, num_chunks
        )
    logger.info(
        "Generated %s %s in %.1f s",
        dataset,
        label,
        time.monotonic() - start_time,
    )
    return corrupted
