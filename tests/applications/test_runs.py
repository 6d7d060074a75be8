import csv
import json

import numpy as np
import pytest

from applications import runs


def test_run_store_resumes_finished_runs(tmp_path):
    store = runs.RunStore(tmp_path, {"epochs": 2, "beta": 8.0})
    assert not store.is_finished("ae_seed0")
    store.save("ae_seed0", [{"model": "ae", "seed": 0, "ssim": 0.5}])
    reopened = runs.RunStore(tmp_path, {"epochs": 2, "beta": 8.0})
    assert reopened.is_finished("ae_seed0")
    assert reopened.records() == [{"model": "ae", "seed": 0, "ssim": 0.5}]


def test_run_store_rejects_runs_with_other_settings(tmp_path):
    runs.RunStore(tmp_path, {"epochs": 2}).save("ae_seed0", [])
    store = runs.RunStore(tmp_path, {"epochs": 3})
    with pytest.raises(ValueError, match="epochs"):
        store.is_finished("ae_seed0")


def test_write_json_converts_numpy_values(tmp_path):
    path = tmp_path / "a" / "results.json"
    runs.write_json(path, {"x": np.float32(0.25), "y": np.arange(2)})
    assert json.loads(path.read_text()) == {"x": 0.25, "y": [0, 1]}
    assert list(tmp_path.joinpath("a").iterdir()) == [path]


def test_write_csv_uses_union_of_columns(tmp_path):
    path = tmp_path / "results.csv"
    runs.write_csv(path, [{"a": 1}, {"a": 2, "b": np.int64(3)}])
    with open(path) as file:
        rows = list(csv.DictReader(file))
    assert rows == [{"a": "1", "b": ""}, {"a": "2", "b": "3"}]


def test_summarize_gives_mean_and_sample_std():
    records = [
        {"model": "ae", "sigma": 0.1, "ssim": 0.2},
        {"model": "ae", "sigma": 0.1, "ssim": 0.4},
        {"model": "vae", "sigma": 0.1, "ssim": 0.9},
        {"model": "vae", "sigma": 0.1, "ssim": None},
    ]
    rows = runs.summarize(records, ["model", "sigma"], "ssim")
    assert rows[0]["model"] == "ae"
    assert rows[0]["mean"] == pytest.approx(0.3)
    assert rows[0]["std"] == pytest.approx(np.sqrt(0.02))
    assert rows[0]["count"] == 2
    assert rows[1] == {
        "model": "vae",
        "sigma": 0.1,
        "mean": 0.9,
        "std": 0.0,
        "count": 1,
    }


def test_markdown_table_and_mean_std_format():
    table = runs.markdown_table(
        ["Model", "Clean"],
        [["ResNet", runs.format_mean_std(0.7213, 0.01, 100)]],
    )
    assert table.splitlines() == [
        "| Model | Clean |",
        "| --- | --- |",
        "| ResNet | 72.13 ± 1.00 |",
    ]
