import os
import pathlib

import pytest


@pytest.fixture
def real_data_dir():
    """Directory of the real data sets, from `KERAS_NIHR_DATA_DIR`.

    Tests that use this fixture are skipped when the variable is unset, so
    the suite also runs on a machine without the data files.
    """
    value = os.environ.get("KERAS_NIHR_DATA_DIR")
    if not value:
        pytest.skip("KERAS_NIHR_DATA_DIR is not set")
    path = pathlib.Path(value)
    if not path.is_dir():
        pytest.fail(
            f"KERAS_NIHR_DATA_DIR={value} is not a directory. Point it at "
            "the folder that holds mnist.npz and the cifar10_*.npz files."
        )
    return path
