import csv
import logging
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from applications.data.__main__ import main
from tests.applications.synthetic_data import random_split

COLUMNS = [
    "dataset",
    "corruption",
    "severity",
    "origin",
    "images",
    "mean_abs_diff_0_255",
    "file",
]


def read_summary(path):
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        return reader.fieldnames, list(reader)


def test_mnist_end_to_end(mnist_dir, fake_generators, tmp_path, capsys):
    output = tmp_path / "out"
    status = main(
        [
            "--dataset",
            "mnist",
            "--data-dir",
            str(mnist_dir),
            "--output",
            str(output),
            "--corruptions",
            "identity,fog,zigzag",
            "--limit",
            "20",
        ]
    )
    assert status == 0

    folder = output / "mnist_c"
    columns, rows = read_summary(folder / "summary.csv")
    assert columns == COLUMNS
    assert [row["corruption"] for row in rows] == ["identity", "fog", "zigzag"]
    assert all(row["severity"] == "" for row in rows)
    assert all(row["images"] == "20" for row in rows)
    assert all(row["origin"] == "generated" for row in rows)
    assert float(rows[0]["mean_abs_diff_0_255"]) == 0.0

    clean, labels = random_split(50, (28, 28), seed=2)
    with np.load(folder / "fog.npz") as archive:
        fog = archive["x_test"]
        np.testing.assert_array_equal(archive["y_test"], labels[:20])
    expected = np.abs(fog[..., 0].astype(float) - clean[:20]).mean()
    assert float(rows[1]["mean_abs_diff_0_255"]) == pytest.approx(expected)
    assert fog.shape == (20, 28, 28, 1)

    with Image.open(folder / "examples.png") as image:
        assert image.format == "PNG"
        assert image.width > 100

    printed = capsys.readouterr().out
    assert "pixel scale 0-255" in printed
    assert "zigzag" in printed


def test_cifar10_end_to_end_uses_cache(
    cifar_split_dir, fake_generators, tmp_path
):
    arguments = [
        "--dataset",
        "cifar10",
        "--data-dir",
        str(cifar_split_dir),
        "--output",
        str(tmp_path / "out"),
        "--corruptions",
        "gaussian_noise,contrast",
        "--severities",
        "1,3",
        "--seed",
        "5",
        "--cache-dir",
        str(tmp_path / "cache_here"),
    ]
    assert main(arguments) == 0
    assert len(fake_generators) == 4

    folder = tmp_path / "out" / "cifar10_c"
    names = sorted(path.name for path in folder.glob("*.npz"))
    assert names == [
        "contrast_1.npz",
        "contrast_3.npz",
        "gaussian_noise_1.npz",
        "gaussian_noise_3.npz",
    ]
    _, first_rows = read_summary(folder / "summary.csv")
    assert [row["severity"] for row in first_rows] == ["1", "3", "1", "3"]

    # A second run reads every set from the cache.
    assert main(arguments) == 0
    assert len(fake_generators) == 4
    _, rows = read_summary(folder / "summary.csv")
    assert all(row["origin"] == "cache" for row in rows)
    for first, again in zip(first_rows, rows, strict=True):
        assert first["mean_abs_diff_0_255"] == again["mean_abs_diff_0_255"]
    assert (folder / "examples.png").is_file()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--severities", "2"], "--severities applies to cifar10 only"),
        (["--corruptions", "fogg"], "--corruptions: unknown for mnist: fogg"),
        (["--limit", "0"], "--limit: Expected an integer >= 1"),
        (["--seed", "-1"], "--seed: Expected an integer >= 0"),
    ],
)
def test_invalid_options_name_the_flag(
    mnist_dir, tmp_path, capsys, extra, message
):
    argv = ["--dataset", "mnist", "--data-dir", str(mnist_dir)]
    with pytest.raises(SystemExit) as error:
        main([*argv, "--output", str(tmp_path), *extra])
    assert error.value.code == 2
    assert message in capsys.readouterr().err


def test_cifar_severities_out_of_range(tmp_path, capsys):
    argv = ["--dataset", "cifar10", "--output", str(tmp_path)]
    with pytest.raises(SystemExit):
        main([*argv, "--severities", "1,6"])
    assert "--severities must be in 1..5" in capsys.readouterr().err


def test_missing_data_reported(tmp_path, caplog):
    caplog.set_level(logging.ERROR)
    status = main(
        [
            "--dataset",
            "mnist",
            "--data-dir",
            str(tmp_path),
            "--output",
            str(tmp_path / "x"),
            "--no-download",
        ]
    )
    assert status == 1
    assert "mnist.npz" in caplog.text
    assert not (tmp_path / "x").exists()


def test_help_names_units():
    result = subprocess.run(
        [sys.executable, "-m", "applications.data", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--limit" in result.stdout
    assert "1..5" in result.stdout
    assert "KERAS_NIHR_CACHE_DIR" in result.stdout


def test_tfds_source_rejects_no_download(tmp_path, capsys):
    argv = ["--dataset", "mnist", "--output", str(tmp_path)]
    argv += ["--source", "tfds", "--no-download"]
    with pytest.raises(SystemExit) as error:
        main(argv)
    assert error.value.code == 2
    message = capsys.readouterr().err
    assert "--source tfds" in message
    assert "--no-download" in message


def test_missing_frost_fails_before_generating(
    cifar_split_dir, fake_generators, tmp_path, caplog
):
    arguments = ["--dataset", "cifar10", "--data-dir", str(cifar_split_dir)]
    arguments += ["--output", str(tmp_path / "out"), "--severities", "1"]
    arguments += ["--corruptions", "gaussian_noise,frost", "--source"]
    arguments += ["generate", "--cache-dir", str(tmp_path / "cache")]
    with caplog.at_level(logging.ERROR):
        assert main(arguments) == 1
    assert fake_generators == []
    assert str(cifar_split_dir / "frost") in caplog.text
