"""Result files of the experiments: per-run records, resume, summaries.

Each finished (model, seed) run is written to `<output>/runs/<run>.json`
as soon as it ends. A restarted experiment with the same output directory
skips the runs found there, as long as they were made with the same
settings; the final `results.json` and `results.csv` are rebuilt from all
run files.
"""

import csv
import json
import math
import os
import pathlib
import platform
import tempfile
import time

import numpy as np


def write_json(path, payload):
    """Write `payload` as indented JSON, atomically (temp file + rename)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as file:
            json.dump(payload, file, indent=2, sort_keys=True, default=_plain)
            file.write("\n")
        os.replace(temp_name, path)
    except BaseException:
        pathlib.Path(temp_name).unlink(missing_ok=True)
        raise


def write_csv(path, records):
    """Write a list of flat dicts as CSV; columns are the union of keys."""
    columns = []
    for record in records:
        columns.extend(key for key in record if key not in columns)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        for record in records:
            writer.writerow({key: _plain(record.get(key)) for key in columns})


def _plain(value):
    """Convert NumPy scalars and arrays to JSON-friendly Python values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, pathlib.Path):
        return str(value)
    return value


class RunStore:
    """Per-run result files under `<output_dir>/runs/`.

    Args:
        output_dir: Directory of the experiment's outputs.
        settings: Dict of the settings that make runs comparable (sizes,
            epochs, hyperparameters; not the list of models or seeds). A
            stored run made with other settings raises `ValueError` instead
            of being mixed into the results.
    """

    def __init__(self, output_dir, settings):
        self.output_dir = pathlib.Path(output_dir)
        self.runs_dir = self.output_dir / "runs"
        self.settings = json.loads(json.dumps(settings, default=_plain))

    def _path(self, run_name):
        return self.runs_dir / f"{run_name}.json"

    def is_finished(self, run_name):
        """Return whether `run_name` is stored with the same settings."""
        path = self._path(run_name)
        if not path.exists():
            return False
        stored = json.loads(path.read_text())
        if stored["settings"] != self.settings:
            changed = sorted(
                key
                for key in set(stored["settings"]) | set(self.settings)
                if stored["settings"].get(key) != self.settings.get(key)
            )
            raise ValueError(
                f"The finished run {path} was made with other settings "
                f"(differences in: {', '.join(changed)}). Use a new "
                "--output directory, or delete that run file to redo it."
            )
        return True

    def save(self, run_name, records, **metadata):
        """Store the records of a finished run, with `metadata` beside."""
        payload = {
            "run": run_name,
            "settings": self.settings,
            "records": records,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **metadata,
        }
        write_json(self._path(run_name), payload)

    def load_runs(self):
        """Return every stored run payload, sorted by run name."""
        if not self.runs_dir.is_dir():
            return []
        return [
            json.loads(path.read_text())
            for path in sorted(self.runs_dir.glob("*.json"))
        ]

    def records(self):
        """Return the records of all stored runs, flattened into one list."""
        return [record for run in self.load_runs() for record in run["records"]]


def summarize(records, group_keys, value_key):
    """Aggregate `value_key` over seeds: mean, sample std and count.

    Returns a list of dicts with the `group_keys` plus `mean`, `std` (0.0
    for a single seed) and `count`, in first-seen order of the groups.
    Records whose value is missing or None are ignored.
    """
    groups = {}
    for record in records:
        value = record.get(value_key)
        if value is None:
            continue
        key = tuple(record.get(name) for name in group_keys)
        groups.setdefault(key, []).append(float(value))
    rows = []
    for key, values in groups.items():
        std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        rows.append(
            {
                **dict(zip(group_keys, key, strict=True)),
                "mean": float(np.mean(values)),
                "std": std,
                "count": len(values),
            }
        )
    return rows


def format_mean_std(mean, std, scale=1.0, digits=2):
    """Format `mean ± std`, both multiplied by `scale` (e.g. 100 for %)."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    return f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f}"


def markdown_table(headers, rows):
    """Return a GitHub Markdown table; `rows` are sequences of cells."""
    lines = [
        "| " + " | ".join(str(h) for h in headers) + " |",
        "|" + "|".join(" --- " for _ in headers) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    return "\n".join(lines) + "\n"


def environment_info():
    """Describe the machine and library versions behind a result file."""
    import keras

    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "numpy": np.__version__,
    }
    backend_modules = {
        "tensorflow": "tensorflow",
        "jax": "jax",
        "torch": "torch",
    }
    module_name = backend_modules.get(info["backend"])
    if module_name:
        module = __import__(module_name)
        info[module_name] = module.__version__
    return info
