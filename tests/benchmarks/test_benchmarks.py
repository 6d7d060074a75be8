"""Smoke runs of the benchmark commands at tiny sizes.

They check that each command runs on the current backend and writes its
JSON results with positive, finite measurements. No timing is asserted.
"""

import importlib
import json
import math

import pytest

from benchmarks import peak_memory

TINY_RUNS = {
    "layer_throughput": [
        "--batch",
        "8",
        "--dim",
        "4",
        "--memories",
        "3",
        "--iterations",
        "2",
        "--no-jit",
    ],
    "training_overhead": [
        "--batch",
        "4",
        "--width-multiplier",
        "0.125",
        "--steps",
        "1",
        "--no-jit",
    ],
    "peak_memory": [
        "--batch",
        "16",
        "--dim",
        "4",
        "--memories",
        "3",
        "--iterations",
        "1,2",
        "--no-jit",
    ],
}


def _run(name, tmp_path, capsys):
    output = tmp_path / f"{name}.json"
    argv = TINY_RUNS[name] + ["--warmup", "1", "--repeats", "1"]
    importlib.import_module(f"benchmarks.{name}").main(
        argv + ["--output", str(output)]
    )
    return capsys.readouterr().out, json.loads(output.read_text())


def _positive_numbers(values):
    return all(
        isinstance(value, (int, float)) and math.isfinite(value) and value > 0
        for value in values
    )


def test_layer_throughput_writes_ratios(tmp_path, capsys):
    stdout, results = _run("layer_throughput", tmp_path, capsys)
    rows = results["results"]
    assert [row["pass"] for row in rows] == ["forward", "forward_backward"]
    for row in rows:
        assert row["flops"] == 4 * 8 * 4 * 3 * 2 * (
            1 if row["pass"] == "forward" else 3
        )
        assert _positive_numbers(
            [row["ratio"], row["layer_gflops"], row["matmul_gflops"]]
        )
    assert "| input shape |" in stdout


def test_training_overhead_writes_ratio(tmp_path, capsys):
    _, results = _run("training_overhead", tmp_path, capsys)
    assert results["settings"]["width_multiplier"] == 0.125
    assert _positive_numbers(
        [
            results["ratio"],
            results["step_ms"]["plain"],
            results["step_ms"]["nihr"],
        ]
    )
    parameters = results["parameters"]
    # The layer after the last block (512 * 0.125 = 64 channels) adds 64
    # memories of 64 values.
    assert parameters["nihr"] - parameters["plain"] == 64 * 64


def test_peak_memory_covers_each_iteration_count(tmp_path, capsys, monkeypatch):
    # With the allocator setting already present, the command does not
    # restart the interpreter to set it.
    monkeypatch.setenv(peak_memory._MALLOC_VARIABLE, "65536")
    _, results = _run("peak_memory", tmp_path, capsys)
    iterations = {row["iterations"] for row in results["results"]}
    assert iterations == {1, 2}


def test_benchmark_rejects_invalid_beta(capsys):
    module = importlib.import_module("benchmarks.layer_throughput")
    with pytest.raises(SystemExit) as error:
        module.build_parser().parse_args(["--beta", "-1"])
    assert error.value.code == 2
    assert "number > 0" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(TINY_RUNS))
def test_parser_names_the_command(name):
    module = importlib.import_module(f"benchmarks.{name}")
    assert module.build_parser().prog == f"python -m benchmarks.{name}"
