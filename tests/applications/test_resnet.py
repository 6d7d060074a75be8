import contextlib
import csv
import dataclasses
import io
import json
import os
import pathlib
import tempfile

import keras
import numpy as np
import pytest

from applications import distribute
from applications import resnet
from applications import resnet_training
from tests.applications import synthetic_data
from tests.multi_device import requires_data_parallel
from tests.multi_device import run_with_cpu_devices

TINY = [
    "--width",
    "0.125",
    "--epochs",
    "1",
    "--batch-size",
    "50",
    "--eval-batch-size",
    "20",
    "--num-memories",
    "4",
    "--iterations",
    "2",
    "--verbose",
    "0",
    "--no-download",
]


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    synthetic_data.isolate_environment(monkeypatch, tmp_path)


def _read_csv(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def test_mnist_command_writes_outputs_and_resumes(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    synthetic_data.write_mnist_npz(data_dir, num_train=100, num_test=40)
    output = tmp_path / "out"
    argv = [
        "--dataset",
        "mnist",
        "--data-dir",
        str(data_dir),
        "--output",
        str(output),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--corruption-source",
        "generate",
        "--corruptions",
        "identity,shot_noise,fog",
        "--test-limit",
        "20",
        "--seeds",
        "0",
        *TINY,
    ]
    records = resnet.main(argv)

    for name in (
        "results.json",
        "results.csv",
        "results.md",
        "per_corruption.png",
        "pca.png",
        "runs/resnet_seed0.json",
        "runs/resnet_nihr_seed0.json",
        "models/resnet_nihr_seed0.keras",
    ):
        assert (output / name).is_file(), name
    rows = _read_csv(output / "results.csv")
    assert list(rows[0]) == [
        "dataset",
        "model",
        "seed",
        "kind",
        "name",
        "severity",
        "accuracy",
        "num_images",
    ]
    sets = [(r["model"], r["name"]) for r in rows if r["kind"] == "set"]
    assert sets == [
        (model, name)
        for model in ("resnet", "resnet_nihr")
        for name in ("clean", "identity", "shot_noise", "fog")
    ]
    for row in rows:
        if row["kind"] == "set":
            assert row["num_images"] == "20"
    summary = {
        (r["model"], r["name"]): float(r["accuracy"])
        for r in rows
        if r["kind"] == "summary"
    }
    set_accuracy = {
        (r["model"], r["name"]): float(r["accuracy"])
        for r in rows
        if r["kind"] == "set"
    }
    for model in ("resnet", "resnet_nihr"):
        expected = (
            set_accuracy[(model, "shot_noise")] + set_accuracy[(model, "fog")]
        ) / 2
        assert summary[(model, "overall")] == pytest.approx(expected)
    assert len(records) == len(rows)

    table = (output / "results.md").read_text()
    assert "| Dataset | Model | Clean | s1 | s2 | s3 | s4 | s5 | Overall |" in (
        table
    )
    assert "| MNIST-C | ResNet |" in table
    assert "| MNIST-C | ResNet+NIHR |" in table
    results = json.loads((output / "results.json").read_text())
    assert results["settings"]["nihr_after"] == [1]
    assert results["command"].startswith(
        "python -m applications.resnet --dataset mnist --data-dir "
    )
    assert results["environment"]["backend"]
    assert [run["run"] for run in results["runs"]] == [
        "resnet_seed0",
        "resnet_nihr_seed0",
    ]

    # A restart with the same output trains nothing.
    def fail(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(resnet, "train_and_evaluate", fail)
    assert resnet.main(argv) == records

    # Other settings must not be mixed into the same results.
    with pytest.raises(ValueError, match="other settings"):
        resnet.main([*argv, "--beta", "2.0"])


def test_cifar10_command_table(tmp_path, monkeypatch):
    synthetic_data.install_fake_cifar10_c(monkeypatch)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    synthetic_data.write_cifar10_npz(data_dir, num_train=100, num_test=40)
    output = tmp_path / "out"

    resnet.main(
        [
            "--dataset",
            "cifar10",
            "--data-dir",
            str(data_dir),
            "--output",
            str(output),
            "--corruption-source",
            "generate",
            "--corruptions",
            "gaussian_noise,contrast",
            "--severities",
            "1,5",
            "--test-limit",
            "20",
            "--seeds",
            "0",
            "--models",
            "resnet_nihr",
            *TINY,
        ]
    )

    table = (output / "results.md").read_text()
    lines = [line for line in table.splitlines() if "ResNet+NIHR |" in line]
    assert lines[0].startswith("| CIFAR-10-C | ResNet+NIHR |")
    assert lines[1].startswith("| CIFAR-10-C gaussian_noise | ResNet+NIHR |")
    cells = [cell.strip() for cell in lines[1].strip("|").split("|")]
    # Columns s2, s3 and s4 have no evaluated set.
    assert cells[4:7] == ["-", "-", "-"]
    assert cells[3] != "-"

    results = json.loads((output / "results.json").read_text())
    assert results["settings"]["nihr_after"] == [8]
    names = {
        (r["name"], r["severity"])
        for r in results["records"]
        if r["kind"] == "set"
    }
    assert names == {
        ("clean", None),
        ("gaussian_noise", 1),
        ("gaussian_noise", 5),
        ("contrast", 1),
        ("contrast", 5),
    }
    assert (output / "pca.png").is_file()


@pytest.mark.parametrize(
    "extra",
    [
        ["--dataset", "mnist", "--severities", "1"],
        ["--dataset", "mnist", "--corruptions", "gaussian_noise"],
        ["--dataset", "cifar10", "--severities", "6"],
        ["--dataset", "cifar10", "--nihr-after", "9"],
        ["--dataset", "mnist", "--models", "vit"],
        ["--dataset", "mnist", "--width", "0"],
        ["--dataset", "mnist", "--beta", "0"],
        ["--dataset", "mnist", "--noise-stddev", "-0.1"],
        ["--dataset", "mnist", "--num-memories", "0"],
        ["--dataset", "mnist", "--no-download", "--corruption-source", "tfds"],
    ],
)
def test_invalid_arguments(extra, tmp_path, capsys):
    with pytest.raises(SystemExit):
        resnet.main(["--output", str(tmp_path), *extra])
    assert "error" in capsys.readouterr().err


def test_missing_data_is_one_line_error(tmp_path, capsys):
    argv = ["--dataset", "mnist", "--output", str(tmp_path / "out")]
    argv += ["--data-dir", str(tmp_path), "--no-download"]
    with pytest.raises(SystemExit) as error:
        resnet.main(argv)
    assert error.value.code == 2
    message = capsys.readouterr().err
    assert "Traceback" not in message
    assert str(tmp_path) in message


def _config(**changes):
    config = resnet_training.TrainingConfig(
        width=0.25,
        nihr_after=(1,),
        num_memories=4,
        iterations=1,
        beta=1.0,
        noise_stddev=0.0,
        optimizer="sgd",
        learning_rate=0.1,
        schedule="cosine",
        weight_decay=5e-4,
        epochs=2,
        batch_size=10,
        eval_batch_size=10,
    )
    return dataclasses.replace(config, **changes)


def test_cosine_schedule_spans_training():
    optimizer = resnet_training.make_optimizer(_config(), steps_per_epoch=5)
    assert optimizer.weight_decay == pytest.approx(5e-4)
    # 2 epochs of 5 steps: 0.1 * (1 + cos(pi * step / 10)) / 2.
    for step, expected in ((0, 0.1), (5, 0.05), (10, 0.0)):
        optimizer.iterations.assign(step)
        assert float(optimizer.learning_rate) == pytest.approx(
            expected, abs=1e-7
        )


def test_constant_schedule():
    optimizer = resnet_training.make_optimizer(
        _config(optimizer="adam", schedule="constant"), steps_per_epoch=5
    )
    optimizer.iterations.assign(7)
    assert float(optimizer.learning_rate) == pytest.approx(0.1)


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"optimizer": "lion"}, "optimizer"),
        ({"schedule": "step"}, "schedule"),
        ({"learning_rate": 0.0}, "learning_rate"),
    ],
)
def test_make_optimizer_rejects(changes, match):
    with pytest.raises(ValueError, match=match):
        resnet_training.make_optimizer(_config(**changes), steps_per_epoch=5)


def test_real_mnist_smoke(real_data_dir, tmp_path):
    output = tmp_path / "out"
    resnet.main(
        [
            "--dataset",
            "mnist",
            "--data-dir",
            str(real_data_dir),
            "--output",
            str(output),
            "--corruption-source",
            "generate",
            "--corruptions",
            "identity,impulse_noise",
            "--train-limit",
            "100",
            "--test-limit",
            "20",
            "--seeds",
            "0",
            "--models",
            "resnet_nihr",
            *TINY,
        ]
    )
    rows = _read_csv(output / "results.csv")
    clean = [r for r in rows if r["name"] == "clean"]
    identity = [r for r in rows if r["name"] == "identity"]
    # Generated identity images equal the clean test images.
    assert clean[0]["accuracy"] == identity[0]["accuracy"]
    labels = np.load(real_data_dir / "mnist.npz")["y_test"][:20]
    assert len(labels) == int(clean[0]["num_images"])


def _distributed_argv(data_dir, output, batch_size):
    return [
        "--dataset",
        "mnist",
        "--data-dir",
        str(data_dir),
        "--output",
        str(output),
        "--corruption-source",
        "generate",
        "--corruptions",
        "identity",
        "--seeds",
        "0",
        "--models",
        "resnet_nihr",
        *TINY,
        "--width",
        "0.125",
        "--batch-size",
        str(batch_size),
        "--eval-batch-size",
        "10",
        "--distribute",
    ]


def _worker_distributed_command():
    """Run the command with `--distribute` in a child with two devices."""
    with tempfile.TemporaryDirectory(prefix="resnet_distribute_") as name:
        return _distributed_command(pathlib.Path(name))


def _distributed_command(folder):
    os.environ.pop("KERAS_NIHR_DATA_DIR", None)
    os.environ["KERAS_NIHR_CACHE_DIR"] = str(folder / "cache")
    os.environ["TFDS_DATA_DIR"] = str(folder / "no_tfds")
    data_dir = folder / "data"
    data_dir.mkdir()
    synthetic_data.write_mnist_npz(data_dir, num_train=40, num_test=20)

    trained = []
    train_and_evaluate = resnet.train_and_evaluate

    def record_training(*args, **kwargs):
        trained.append(args[0])
        return train_and_evaluate(*args, **kwargs)

    resnet.train_and_evaluate = record_training
    # 7 examples per batch do not split over 2 devices.
    stderr = io.StringIO()
    exit_code = None
    with contextlib.redirect_stderr(stderr):
        try:
            resnet.main(_distributed_argv(data_dir, folder / "bad", 7))
        except SystemExit as error:
            exit_code = error.code
    rejected = {
        "exit_code": exit_code,
        "message": stderr.getvalue(),
        "trained": list(trained),
    }

    output = folder / "out"
    resnet.main(_distributed_argv(data_dir, output, 8))
    return {
        "rejected": rejected,
        "trained": trained,
        "files": sorted(
            str(path.relative_to(output))
            for path in output.rglob("*")
            if path.is_file()
        ),
        "results": json.loads((output / "results.json").read_text()),
        "run": json.loads((output / "runs/resnet_nihr_seed0.json").read_text()),
    }


@pytest.fixture(scope="module")
def distributed_command():
    return run_with_cpu_devices(__name__, "_worker_distributed_command")


@requires_data_parallel
def test_distributed_command_writes_outputs(distributed_command):
    files = distributed_command["files"]
    for name in (
        "results.json",
        "results.csv",
        "results.md",
        "per_corruption.png",
        "pca.png",
        "runs/resnet_nihr_seed0.json",
        "models/resnet_nihr_seed0.keras",
    ):
        assert name in files
    assert distributed_command["trained"] == ["resnet_nihr"]


@requires_data_parallel
def test_distributed_command_records_devices(distributed_command):
    environment = distributed_command["results"]["environment"]
    assert environment["distribute"] is True
    assert environment["num_devices"] == 2
    assert len(environment["devices"]) == 2
    run_info = distributed_command["results"]["runs"][0]
    assert run_info["distribute"] is True
    assert run_info["num_devices"] == 2
    assert distributed_command["run"]["num_devices"] == 2


@requires_data_parallel
def test_distributed_command_rejects_uneven_batch(distributed_command):
    rejected = distributed_command["rejected"]
    assert rejected["exit_code"] == 2
    assert (
        "--batch-size: 7 does not split evenly over 2" in (rejected["message"])
    )
    assert rejected["trained"] == []


def test_check_batch_sizes_names_eval_option():
    setup = distribute.DataParallelSetup("jax", ("cpu:0", "cpu:1"))
    args = resnet.build_parser().parse_args(
        ["--dataset", "mnist", "--output", "x", "--eval-batch-size", "10"]
    )
    args.batch_size = 8
    train = (np.zeros((40, 28, 28)), np.zeros(40))
    test = (np.zeros((20, 28, 28)), np.zeros(20))
    # 15 test images leave a last batch of 5, which does not split.
    short = (np.zeros((15, 28, 28)), np.zeros(15))
    resnet.check_batch_sizes(setup, args, train, test, {("fog", None): test})
    with pytest.raises(ValueError, match="--eval-batch-size") as error:
        resnet.check_batch_sizes(
            setup, args, train, test, {("fog", None): short}
        )
    assert "--test-limit" in str(error.value)
    assert "has 5 examples" in str(error.value)


@pytest.mark.skipif(
    keras.backend.backend() in distribute.SUPPORTED_BACKENDS,
    reason="this backend supports --distribute",
)
def test_distribute_on_unsupported_backend_exits(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        resnet.main(
            ["--dataset", "mnist", "--output", str(tmp_path), "--distribute"]
        )
    assert exit_info.value.code == 2
    message = capsys.readouterr().err
    assert "--distribute is not supported" in message
    assert "KERAS_BACKEND=jax" in message
    assert not (tmp_path / "runs").exists()
