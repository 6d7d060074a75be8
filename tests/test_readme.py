"""Run the Python examples of README.md, so they stay correct."""

import pathlib
import re

import numpy as np

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)


def test_readme_has_python_examples():
    assert len(_python_blocks()) >= 2


def test_readme_examples_run():
    namespace = {}
    for block in _python_blocks():
        exec(compile(block, str(README), "exec"), namespace)
    model = namespace["model"]
    inputs = np.random.default_rng(0).normal(size=(2, 784))
    outputs = model.predict(inputs, verbose=0)
    np.testing.assert_allclose(outputs.sum(axis=-1), 1.0, rtol=1e-5)
    assert namespace["trajectory"].shape == (32, 10, 8)
    assert namespace["weights"].shape == (32, 16)
    assert namespace["z_next"].shape == (32, 8)
    assert namespace["attention"].shape == (32, 16)
