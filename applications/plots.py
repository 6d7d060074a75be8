"""PNG figures of the experiments, drawn with matplotlib's Agg canvas.

The functions build `matplotlib.figure.Figure` objects directly instead of
going through `pyplot`, so they need no display and leave no global figure
state behind.
"""

import pathlib

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.decomposition import PCA


def _save(figure, path):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    return path


def plot_metric_against_noise(series, path, *, ylabel, title):
    """Draw one line per model of a metric against the pixel noise level.

    Args:
        series: Dict from a line label (e.g. `"NIHR T=5"`) to a list of
            `(sigma, mean, std)` tuples. The band around each line spans
            mean +- std (over seeds).
        path: Output PNG path. Parent folders are created.
        ylabel: Label of the y axis, e.g. `"SSIM"`.
        title: Figure title.

    Returns:
        The `pathlib.Path` written.
    """
    if not series:
        raise ValueError("Expected at least one series to plot. Received none.")
    figure = Figure(figsize=(6.4, 4.2))
    axes = figure.add_subplot()
    for label, points in series.items():
        points = sorted(points)
        sigmas = np.array([point[0] for point in points])
        means = np.array([point[1] for point in points])
        stds = np.array([point[2] for point in points])
        (line,) = axes.plot(
            sigmas, means, marker="o", markersize=3, label=label
        )
        axes.fill_between(
            sigmas,
            means - stds,
            means + stds,
            color=line.get_color(),
            alpha=0.15,
            linewidth=0,
        )
    axes.set_xlabel("Gaussian pixel noise sigma (pixel scale [0, 1])")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    return _save(figure, path)


def plot_pca_grid(states, labels, steps, path, *, title):
    """Draw latents after several refinement steps, projected by PCA.

    Each panel fits its own two-component PCA to the states of one step
    and scatters the projections, coloured by class.

    Args:
        states: Array `(num_images, len(steps), dim)`: the latent of each
            image after each step in `steps`.
        labels: Integer class labels, shape `(num_images,)`.
        steps: Sequence of ints, the step number of each panel.
        path: Output PNG path. Parent folders are created.
        title: Figure title.

    Returns:
        The `pathlib.Path` written.
    """
    states = np.asarray(states, dtype=np.float64)
    labels = np.asarray(labels)
    steps = list(steps)
    if (
        states.ndim != 3
        or states.shape[0] < 2
        or states.shape[1] != len(steps)
        or states.shape[2] < 2
    ):
        raise ValueError(
            "Expected `states` of shape (num_images, len(steps), dim) with "
            f"len(steps)={len(steps)}, at least 2 images and dim >= 2. "
            f"Received: shape={states.shape}"
        )
    if labels.shape != (states.shape[0],):
        raise ValueError(
            f"Expected {states.shape[0]} labels, one per image. Received: "
            f"shape={labels.shape}"
        )
    columns = min(len(steps), 4)
    rows = -(-len(steps) // columns)
    figure = Figure(figsize=(3.2 * columns, 3.2 * rows + 0.6))
    classes = np.unique(labels)
    colours = {label: f"C{index % 10}" for index, label in enumerate(classes)}
    for index, step in enumerate(steps):
        axes = figure.add_subplot(rows, columns, index + 1)
        points = states[:, index]
        if points.var(axis=0).sum() > 0:
            pca = PCA(n_components=2)
            projected = pca.fit_transform(points)
            explained = 100 * pca.explained_variance_ratio_
        else:
            # Every image reached the same state, so there is no direction
            # to project on.
            projected = np.zeros((len(points), 2))
            explained = np.zeros(2)
        for label in classes:
            member = labels == label
            axes.scatter(
                projected[member, 0],
                projected[member, 1],
                s=4,
                color=colours[label],
                label=str(label),
                rasterized=True,
            )
        axes.set_title(f"after t={step} step{'s' if step != 1 else ''}")
        axes.set_xlabel(f"PC1 ({explained[0]:.0f}% var.)")
        axes.set_ylabel(f"PC2 ({explained[1]:.0f}% var.)")
        axes.set_xticks([])
        axes.set_yticks([])
    handles, names = figure.axes[0].get_legend_handles_labels()
    figure.legend(
        handles,
        names,
        loc="lower center",
        ncol=min(len(classes), 10),
        markerscale=3,
        fontsize="small",
        title="class",
    )
    figure.suptitle(title)
    figure.subplots_adjust(
        top=1 - 0.2 / rows, bottom=0.22 / rows, wspace=0.15, hspace=0.35
    )
    return _save(figure, path)
