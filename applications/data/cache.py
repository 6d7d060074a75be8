"""Disk cache and atomic `.npz` writes for generated corrupted sets."""

import logging
import os
import pathlib
import shutil
import tempfile
import zipfile

import numpy as np

logger = logging.getLogger(__name__)

CACHE_DIR_ENV = "KERAS_NIHR_CACHE_DIR"


def resolve_cache_dir(cache_dir=None):
    """Return `cache_dir`, else `KERAS_NIHR_CACHE_DIR`, else
    `~/.cache/keras_nihr`."""
    if cache_dir is None:
        cache_dir = os.environ.get(CACHE_DIR_ENV) or "~/.cache/keras_nihr"
    return pathlib.Path(cache_dir).expanduser()


def save_npz_atomic(path, **arrays):
    """Write arrays to `path` with `numpy.savez_compressed`, atomically.

    The data go to a temporary file in the same folder, which then replaces
    `path` in one rename. An interrupted write leaves at most a stray
    temporary file, never a partial `path`.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez_compressed(file, **arrays)
        os.replace(temp_name, path)
    except BaseException:
        os.unlink(temp_name)
        raise


def copy_atomic(source, path):
    """Copy the file `source` to `path`, atomically, without re-encoding.

    Copying a cached `.npz` is much faster than compressing its arrays
    again, which matters for the 95 sets of CIFAR-10-C.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    os.close(handle)
    try:
        shutil.copyfile(source, temp_name)
        os.replace(temp_name, path)
    except BaseException:
        os.unlink(temp_name)
        raise


def load_npz(path, keys):
    """Read `keys` from an `.npz` file, or return None when it is unusable.

    A missing file returns None silently. An unreadable file, or one that
    lacks a key, is logged and returns None, so the caller regenerates it.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path) as archive:
            return tuple(archive[key] for key in keys)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        logger.warning("Ignoring unreadable cache file %s: %s", path, e)
        return None
