"""Figures of the ResNet robustness experiment.

Matplotlib runs with the non-interactive Agg backend, so the figures are
written to files without a display.
"""

import keras
import matplotlib
import numpy as np

matplotlib.use("Agg")

from matplotlib import pyplot  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402

from applications.resnet_report import MODEL_TITLES  # noqa: E402


def plot_per_corruption(statistics, path, title):
    """Draw a grouped bar chart of accuracy per test set and model.

    Args:
        statistics: rows of `resnet_report.per_corruption_statistics`,
            with `model`, `name`, `mean` and `std` (fractions).
        path: output PNG file.
        title: figure title.
    """
    models = []
    names = []
    for row in statistics:
        if row["model"] not in models:
            models.append(row["model"])
        if row["name"] not in names:
            names.append(row["name"])
    by_key = {(row["model"], row["name"]): row for row in statistics}
    positions = np.arange(len(names))
    bar_width = 0.8 / max(1, len(models))
    figure, axes = pyplot.subplots(
        figsize=(max(6.0, 0.55 * len(names) + 2.0), 4.2)
    )
    for index, model in enumerate(models):
        means = []
        stds = []
        for name in names:
            row = by_key.get((model, name))
            means.append(np.nan if row is None else 100.0 * row["mean"])
            stds.append(0.0 if row is None else 100.0 * row["std"])
        offset = (index - (len(models) - 1) / 2) * bar_width
        axes.bar(
            positions + offset,
            means,
            bar_width,
            yerr=stds,
            capsize=2,
            label=MODEL_TITLES.get(model, model),
        )
    axes.set_xticks(positions)
    axes.set_xticklabels(names, rotation=45, ha="right")
    axes.set_ylabel("accuracy (%)")
    axes.set_ylim(0, 100)
    axes.set_title(title)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def retrieval_features(model, layer_name, images, batch_size=256):
    """Return the features entering and leaving a retrieval layer.

    The layer acts on every spatial position. Each image is summarized by
    the mean over positions of its channel vectors, before and after
    retrieval.

    Returns:
        `(before, after)`, float arrays of shape `(num_images, channels)`.
    """
    layer = model.get_layer(layer_name)
    extractor = keras.Model(model.inputs, [layer.input, layer.output])
    before, after = extractor.predict(images, batch_size=batch_size, verbose=0)
    before = np.asarray(before, dtype=np.float64)
    after = np.asarray(after, dtype=np.float64)
    spatial_axes = tuple(range(1, before.ndim - 1))
    return before.mean(axis=spatial_axes), after.mean(axis=spatial_axes)


def plot_feature_pca(rows, path, title):
    """Draw features before and after retrieval on their top two PCs.

    Args:
        rows: list of `(row_title, before, after, labels)`: features of
            shape `(N, channels)` from `retrieval_features` and their int
            class labels. Each panel fits its own PCA.
        path: output PNG file.
        title: figure title.
    """
    figure, axes = pyplot.subplots(
        len(rows), 2, figsize=(9.0, 4.0 * len(rows)), squeeze=False
    )
    colormap = matplotlib.colormaps["tab10"]
    for row_index, (row_title, before, after, labels) in enumerate(rows):
        for column, (stage, features) in enumerate(
            (("before NIHR", before), ("after NIHR", after))
        ):
            panel = axes[row_index, column]
            projected, explained = _project(features)
            panel.scatter(
                projected[:, 0],
                projected[:, 1],
                c=np.asarray(labels) % 10,
                cmap=colormap,
                vmin=-0.5,
                vmax=9.5,
                s=6,
                alpha=0.7,
            )
            panel.set_title(f"{row_title}: {stage}")
            panel.set_xlabel(f"PC1 ({100 * explained[0]:.0f}% variance)")
            panel.set_ylabel(f"PC2 ({100 * explained[1]:.0f}% variance)")
    handles = [
        Line2D(
            [], [], marker="o", linestyle="", color=colormap(k), label=str(k)
        )
        for k in range(10)
    ]
    figure.legend(handles=handles, title="class", loc="center right")
    figure.suptitle(title)
    figure.tight_layout(rect=(0, 0, 0.92, 1))
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def _project(features):
    # A set whose features are all equal has no principal direction, so
    # it is drawn at the origin instead of failing inside PCA.
    num_components = min(2, features.shape[0], features.shape[1])
    projected = np.zeros((features.shape[0], 2))
    explained = np.zeros(2)
    if num_components == 0 or np.allclose(features, features[0]):
        return projected, explained
    pca = PCA(n_components=num_components)
    projected[:, :num_components] = pca.fit_transform(features)
    explained[:num_components] = pca.explained_variance_ratio_
    return projected, explained
