import numpy as np
import pytest
from PIL import Image

from applications import plots


def _png_size(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


def test_metric_plot_writes_png(tmp_path):
    series = {
        "AE": [(0.0, 0.9, 0.01), (0.5, 0.5, 0.02), (1.0, 0.2, 0.03)],
        "NIHR T=5": [(1.0, 0.4, 0.0), (0.0, 0.8, 0.0)],
    }
    path = tmp_path / "plots" / "ssim.png"

    written = plots.plot_metric_against_noise(
        series, path, ylabel="SSIM", title="SSIM"
    )

    assert written == path
    width, height = _png_size(path)
    assert width > 300
    assert height > 200


def test_metric_plot_rejects_empty_series(tmp_path):
    with pytest.raises(ValueError, match="at least one series"):
        plots.plot_metric_against_noise(
            {}, tmp_path / "x.png", ylabel="SSIM", title="SSIM"
        )


def test_pca_grid_writes_png(tmp_path):
    rng = np.random.default_rng(0)
    states = rng.normal(size=(40, 4, 6))
    labels = np.arange(40) % 10
    path = tmp_path / "pca.png"

    plots.plot_pca_grid(states, labels, [1, 5, 10, 15], path, title="PCA")

    width, height = _png_size(path)
    assert width > height


def test_pca_grid_handles_collapsed_states(tmp_path):
    # Every image at the same state: no principal direction exists.
    states = np.ones((10, 1, 3))
    path = tmp_path / "pca.png"

    plots.plot_pca_grid(states, np.arange(10) % 2, [15], path, title="PCA")

    assert path.exists()


@pytest.mark.parametrize(
    "shape, steps, num_labels",
    [
        ((10, 3, 4), [1, 2], 10),
        ((10, 2, 1), [1, 2], 10),
        ((10, 2, 4), [1, 2], 9),
    ],
)
def test_pca_grid_rejects_mismatched_shapes(tmp_path, shape, steps, num_labels):
    with pytest.raises(ValueError, match="Expected"):
        plots.plot_pca_grid(
            np.zeros(shape),
            np.zeros(num_labels, int),
            steps,
            tmp_path / "pca.png",
            title="PCA",
        )
