"""Summary table and example figure of corrupted test sets."""

import csv
import pathlib

import numpy as np

SUMMARY_COLUMNS = (
    "dataset",
    "corruption",
    "severity",
    "origin",
    "images",
    "mean_abs_diff_0_255",
    "file",
)


def mean_abs_difference(corrupted, clean):
    """Return the mean absolute pixel difference on the 0-255 scale."""
    if corrupted.shape != clean.shape:
        raise ValueError(
            f"Corrupted images have shape {corrupted.shape} but clean "
            f"images have shape {clean.shape}. Expected equal shapes."
        )
    difference = corrupted.astype(np.int16) - clean.astype(np.int16)
    return float(np.mean(np.abs(difference)))


def write_summary(rows, path):
    """Write summary rows (dicts keyed by `SUMMARY_COLUMNS`) as CSV."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=SUMMARY_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def format_summary(rows):
    """Return the summary as an aligned text table."""
    header = ("corruption", "severity", "origin", "mean |corrupted - clean|")
    lines = [f"{header[0]:<20} {header[1]:>8} {header[2]:>10}  {header[3]}"]
    lines.append(" " * 43 + "(pixel scale 0-255)")
    for row in rows:
        severity = "-" if row["severity"] == "" else str(row["severity"])
        lines.append(
            f"{row['corruption']:<20} {severity:>8} {row['origin']:>10}  "
            f"{row['mean_abs_diff_0_255']:.3f}"
        )
    return "\n".join(lines)


def plot_examples(path, clean_image, examples, title):
    """Save a PNG grid of one test image under every corruption.

    With several severities, each row is one corruption: the clean image,
    then one panel per severity. With one severity per corruption (MNIST-C)
    the panels fill rows of six, the clean image first.

    Args:
        path: PNG file to write.
        clean_image: uint8 image (H, W, C).
        examples: dict `{(name, severity): image}` in display order.
        title: figure title.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    levels = sorted({s for _, s in examples if s is not None})
    if levels:
        names = list(dict.fromkeys(name for name, _ in examples))
        grid = []
        for name in names:
            row = [("clean", clean_image)]
            for level in levels:
                image = examples.get((name, level))
                row.append((f"{name} {level}", image))
            grid.append(row)
    else:
        panels = [("clean", clean_image)]
        panels += [(name, image) for (name, _), image in examples.items()]
        grid = [panels[i : i + 6] for i in range(0, len(panels), 6)]
    num_rows = len(grid)
    num_cols = max(len(row) for row in grid)
    figure = Figure(
        figsize=(1.6 * num_cols, 1.7 * num_rows + 0.4), layout="constrained"
    )
    FigureCanvasAgg(figure)
    figure.suptitle(title)
    axes = figure.subplots(num_rows, num_cols, squeeze=False)
    for row_axes, row in zip(axes, grid, strict=True):
        for column, axis in enumerate(row_axes):
            axis.set_axis_off()
            if column >= len(row) or row[column][1] is None:
                continue
            label, image = row[column]
            if image.shape[-1] == 1:
                axis.imshow(image[..., 0], cmap="gray", vmin=0, vmax=255)
            else:
                axis.imshow(image)
            axis.set_title(label, fontsize=7)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
