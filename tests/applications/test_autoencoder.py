import csv
import json
import logging
import os
import pathlib
import tempfile

import keras
import numpy as np
import pytest

from applications import autoencoder
from applications import autoencoder_report
from applications import distribute
from applications.autoencoder_options import build_parser
from applications.autoencoder_options import check_args
from applications.autoencoder_report import RECORD_COLUMNS
from applications.autoencoder_runs import model_specs
from tests.applications import synthetic_data
from tests.multi_device import LogRecorder
from tests.multi_device import requires_data_parallel
from tests.multi_device import run_with_cpu_devices

RUN_NAMES = ["ae_seed0", "vae_seed0", "vqvae_seed0", "nihr_t2_seed0"]
FIGURES = [
    "ssim_vs_sigma.png",
    "probe_accuracy_vs_sigma.png",
    "pca_trajectory.png",
]


@pytest.fixture
def data_dir(tmp_path):
    """Real MNIST when KERAS_NIHR_DATA_DIR is set, else a small fake set."""
    real = os.environ.get("KERAS_NIHR_DATA_DIR")
    if real:
        return pathlib.Path(real)
    rng = np.random.default_rng(0)
    folder = tmp_path / "data"
    folder.mkdir()
    np.savez(
        folder / "mnist.npz",
        x_train=rng.integers(0, 256, (100, 28, 28), np.uint8),
        y_train=np.arange(100) % 10,
        x_test=rng.integers(0, 256, (40, 28, 28), np.uint8),
        y_test=np.arange(40) % 10,
    )
    return folder


def _argv(data_dir, output, epochs=2, warmup_epochs=1):
    return [
        "--data-dir",
        str(data_dir),
        "--output",
        str(output),
        "--epochs",
        str(epochs),
        "--nihr-warmup-epochs",
        str(warmup_epochs),
        "--seeds",
        "0",
        "--batch-size",
        "32",
        "--train-limit",
        "64",
        "--test-limit",
        "20",
        "--probe-train-limit",
        "64",
        "--filters",
        "2,4",
        "--latent-dim",
        "3",
        "--num-memories",
        "4",
        "--iterations",
        "2",
        "--pca-steps",
        "1,2",
        "--pixel-noise-levels",
        "0,0.5",
        "--verbose",
        "0",
    ]


def _mtimes(output):
    return {
        path.stem: path.stat().st_mtime_ns
        for path in (output / "runs").glob("*.json")
    }


def test_command_writes_all_outputs_and_resumes(data_dir, tmp_path, caplog):
    output = tmp_path / "out"

    assert autoencoder.main(_argv(data_dir, output)) == 0

    for name in ["results.json", "results.csv", "results.md", *FIGURES]:
        assert (output / name).is_file(), name
    for run_name in RUN_NAMES:
        assert (output / "runs" / f"{run_name}.json").is_file()
        assert (output / "models" / f"{run_name}.keras").is_file()
        with open(output / "histories" / f"{run_name}.csv") as file:
            header = next(csv.reader(file))
        assert "ssim_sigma_0.50" in header
        assert "probe_accuracy_sigma_0.50" in header
    assert (output / "trajectories" / "nihr_t2_seed0.npz").is_file()

    with open(output / "results.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == len(RUN_NAMES) * 2
    assert tuple(rows[0])[: len(RECORD_COLUMNS)] == RECORD_COLUMNS
    for setting in ["latent_dim", "num_memories", "beta", "noise_stddev"]:
        assert setting in rows[0]
    assert [row["label"] for row in rows[::2]] == [
        "AE",
        "VAE",
        "VQ-VAE",
        "NIHR T=2",
    ]
    assert {row["sigma"] for row in rows} == {"0.0", "0.5"}
    assert rows[0]["iterations"] == ""
    assert rows[-1]["iterations"] == "2"
    for row in rows:
        assert -1.0 <= float(row["ssim"]) <= 1.0
        assert 0.0 <= float(row["probe_accuracy"]) <= 1.0

    results = json.loads((output / "results.json").read_text())
    assert results["environment"]["backend"] == keras.backend.backend()
    assert results["settings"]["noise_levels"] == [0.0, 0.5]
    assert results["settings"]["nihr_warmup_epochs"] == 1
    assert results["settings"]["epochs"] == 2
    assert "--nihr-warmup-epochs" in results["command"]
    # NIHR spends 1 of the 2 epochs in the warm-up, the others none.
    nihr_run = json.loads((output / "runs" / "nihr_t2_seed0.json").read_text())
    assert nihr_run["warmup_epochs"] == 1
    assert len(nihr_run["warmup_history"]["loss"]) == 1
    assert len(nihr_run["history"]["loss"]) == 1
    ae_run = json.loads((output / "runs" / "ae_seed0.json").read_text())
    assert ae_run["warmup_epochs"] == 0
    assert len(ae_run["history"]["loss"]) == 2
    assert len(results["records"]) == len(rows)
    table = (output / "results.md").read_text()
    assert "| Model | seeds | σ=0 | σ=0.5 |" in table
    assert "| NIHR T=2 | 1 |" in table

    # A rerun redoes only the run whose file is gone.
    before = _mtimes(output)
    (output / "runs" / "vae_seed0.json").unlink()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="applications.autoencoder"):
        assert autoencoder.main(_argv(data_dir, output)) == 0
    after = _mtimes(output)
    assert sorted(after) == sorted(RUN_NAMES)
    changed = [name for name in after if after[name] != before.get(name)]
    assert changed == ["vae_seed0"]
    assert caplog.text.count("already finished, skipped") == 3


def test_command_rejects_resume_with_other_settings(data_dir, tmp_path, caplog):
    output = tmp_path / "out"
    store = output / "runs"
    store.mkdir(parents=True)
    (store / "ae_seed0.json").write_text(
        json.dumps({"settings": {"epochs": 7}, "records": []})
    )
    argv = _argv(data_dir, output) + ["--models", "ae"]

    with caplog.at_level(logging.ERROR, logger="applications.autoencoder"):
        assert autoencoder.main(argv) == 2

    assert "other settings" in caplog.text
    assert "epochs" in caplog.text


def test_command_rejects_warmup_not_below_epochs(data_dir, tmp_path, caplog):
    argv = _argv(data_dir, tmp_path / "out", epochs=1, warmup_epochs=1)

    with caplog.at_level(logging.ERROR, logger="applications.autoencoder"):
        assert autoencoder.main(argv) == 2

    assert "--nihr-warmup-epochs must be less than --epochs" in caplog.text
    assert not (tmp_path / "out" / "runs").exists()


def test_command_rejects_fewer_images_than_memories(data_dir, tmp_path, caplog):
    argv = _argv(data_dir, tmp_path / "out") + ["--num-memories", "65"]

    with caplog.at_level(logging.ERROR, logger="applications.autoencoder"):
        assert autoencoder.main(argv) == 2

    assert "65 memories" in caplog.text
    assert "only 64" in caplog.text
    assert not (tmp_path / "out" / "runs").exists()


def test_warmup_zero_is_allowed_with_one_epoch():
    args = build_parser().parse_args(
        ["--output", "x", "--epochs", "1", "--nihr-warmup-epochs", "0"]
    )

    check_args(args)

    assert args.nihr_warmup_epochs == 0


def test_default_models_are_the_study_set():
    args = build_parser().parse_args(["--output", "x"])

    specs = model_specs(args.models, args.iterations)

    assert [spec.label for spec in specs] == [
        "AE",
        "VAE",
        "VQ-VAE",
        "NIHR T=1",
        "NIHR T=5",
        "NIHR T=10",
        "NIHR T=15",
    ]
    assert args.pixel_noise_levels == [
        0.0,
        0.1,
        0.2,
        0.3,
        0.4,
        0.5,
        0.6,
        0.7,
        0.8,
        0.9,
        1.0,
    ]


def test_unknown_model_is_rejected():
    with pytest.raises(ValueError, match="Unknown model"):
        model_specs(["ae", "gan"], [1])


@pytest.mark.parametrize(
    "option, value",
    [
        ("--beta", "0"),
        ("--noise-stddev", "-0.1"),
        ("--pixel-noise-levels", "0,nan"),
        ("--latent-dim", "0"),
        ("--nihr-warmup-epochs", "-1"),
        ("--nihr-warmup-epochs", "one"),
    ],
)
def test_parser_rejects_invalid_values(option, value, capsys):
    parser = build_parser()

    with pytest.raises(SystemExit):
        parser.parse_args(["--output", "x", option, value])

    assert option in capsys.readouterr().err


def test_no_download_reaches_the_loader(tmp_path, monkeypatch):
    seen = {}

    def fake_load_mnist(data_dir, **kwargs):
        seen.update(kwargs)
        raise FileNotFoundError("stop after recording the arguments")

    monkeypatch.setattr(autoencoder, "load_mnist", fake_load_mnist)
    args = build_parser().parse_args(
        ["--output", str(tmp_path), "--no-download"]
    )
    with pytest.raises(FileNotFoundError, match="stop after"):
        autoencoder.load_data(args)
    assert seen["download"] is False
    assert build_parser().parse_args(["--output", "x"]).download is True


def _worker_distributed_command():
    """Run the command with `--distribute` in a child with two devices."""
    with tempfile.TemporaryDirectory(prefix="autoencoder_distribute_") as name:
        return _distributed_command(pathlib.Path(name))


def _distributed_command(folder):
    data_dir = folder / "data"
    data_dir.mkdir()
    synthetic_data.write_mnist_npz(data_dir, num_train=64, num_test=20)
    handler = LogRecorder()
    logging.getLogger("applications.autoencoder").addHandler(handler)

    # The VAE samples its latent and NIHR runs the warm-up with k-means.
    extra = ["--models", "vae,nihr", "--no-download", "--distribute"]
    # 7 examples per batch do not split over 2 devices.
    bad_argv = _argv(data_dir, folder / "bad") + [*extra, "--batch-size", "7"]
    rejected = {
        "exit_code": autoencoder.main(bad_argv),
        "errors": list(handler.messages),
        "runs_written": (folder / "bad" / "runs").exists(),
    }

    output = folder / "out"
    exit_code = autoencoder.main(_argv(data_dir, output) + extra)
    return {
        "rejected": rejected,
        "exit_code": exit_code,
        "files": sorted(
            str(path.relative_to(output))
            for path in output.rglob("*")
            if path.is_file()
        ),
        "results": json.loads((output / "results.json").read_text()),
        "nihr_run": json.loads(
            (output / "runs" / "nihr_t2_seed0.json").read_text()
        ),
    }


@pytest.fixture(scope="module")
def distributed_command():
    return run_with_cpu_devices(__name__, "_worker_distributed_command")


@requires_data_parallel
def test_distributed_command_writes_outputs(distributed_command):
    assert distributed_command["exit_code"] == 0
    files = distributed_command["files"]
    for name in ["results.json", "results.csv", "results.md", *FIGURES]:
        assert name in files
    for run_name in ("vae_seed0", "nihr_t2_seed0"):
        assert f"runs/{run_name}.json" in files
        assert f"models/{run_name}.keras" in files
    assert "trajectories/nihr_t2_seed0.npz" in files
    nihr_run = distributed_command["nihr_run"]
    assert nihr_run["warmup_epochs"] == 1
    assert len(nihr_run["warmup_history"]["loss"]) == 1
    for record in distributed_command["results"]["records"]:
        assert -1.0 <= record["ssim"] <= 1.0


@requires_data_parallel
def test_distributed_command_records_devices(distributed_command):
    environment = distributed_command["results"]["environment"]
    assert environment["distribute"] is True
    assert environment["num_devices"] == 2
    assert len(environment["devices"]) == 2
    for run_info in distributed_command["results"]["runs"]:
        assert run_info["distribute"] is True
        assert run_info["num_devices"] == 2


@requires_data_parallel
def test_distributed_command_rejects_uneven_batch(distributed_command):
    rejected = distributed_command["rejected"]
    assert rejected["exit_code"] == 2
    errors = " ".join(rejected["errors"])
    assert "--batch-size: 7 does not split evenly over 2" in errors
    assert rejected["runs_written"] is False


def test_check_batch_sizes_names_limit_option(data_dir, tmp_path):
    setup = distribute.DataParallelSetup("jax", ("cpu:0", "cpu:1"))
    argv = _argv(data_dir, tmp_path / "out") + ["--eval-batch-size", "8"]
    args = build_parser().parse_args(argv)
    data = autoencoder.load_data(args)
    autoencoder.check_batch_sizes(setup, args, data, warmup=True)
    # 15 probe images in batches of 8 leave 7, which does not split.
    data.probe_indices = data.probe_indices[:15]
    with pytest.raises(ValueError, match="--probe-train-limit") as error:
        autoencoder.check_batch_sizes(setup, args, data, warmup=True)
    assert "--eval-batch-size" in str(error.value)
    assert "has 7 examples" in str(error.value)


@pytest.mark.skipif(
    keras.backend.backend() in distribute.SUPPORTED_BACKENDS,
    reason="this backend supports --distribute",
)
def test_distribute_on_unsupported_backend_fails(tmp_path, caplog):
    argv = ["--output", str(tmp_path / "out"), "--distribute"]

    with caplog.at_level(logging.ERROR, logger="applications.autoencoder"):
        assert autoencoder.main(argv) == 2

    assert "--distribute is not supported" in caplog.text
    assert "KERAS_BACKEND=jax" in caplog.text
    assert not (tmp_path / "out").exists()


def test_trajectory_plot_adds_final_step(tmp_path, monkeypatch):
    folder = tmp_path / "trajectories"
    folder.mkdir()
    rng = np.random.default_rng(0)
    np.savez(
        folder / "nihr_t3_seed0.npz",
        states=rng.normal(size=(20, 3, 4)),
        labels=np.arange(20) % 10,
    )
    plotted = {}

    def fake_plot(states, labels, steps, path, *, title):
        plotted["steps"] = steps
        plotted["states"] = states
        return path

    monkeypatch.setattr(autoencoder_report.plots, "plot_pca_grid", fake_plot)
    autoencoder_report.plot_trajectory(tmp_path, [1, 5, 10])
    assert plotted["steps"] == [1, 3]
    assert plotted["states"].shape == (20, 2, 4)
