"""Result files of the autoencoder experiment: JSON, CSV, tables, plots.

Everything here is rebuilt from the per-run files of a `RunStore`, so a
resumed experiment writes the same outputs as an uninterrupted one.
"""

import logging
import pathlib

import numpy as np

from applications import plots
from applications import runs
from applications.autoencoder_runs import MODEL_KINDS

logger = logging.getLogger("applications.autoencoder")

METRICS = {"ssim": "SSIM", "probe_accuracy": "Linear-probe accuracy"}

RECORD_COLUMNS = (
    "model",
    "label",
    "iterations",
    "seed",
    "sigma",
    "ssim",
    "probe_accuracy",
    "final_loss",
    "memories_in_use",
)

# Settings that are lists or vary per record stay out of the CSV columns.
_NON_COLUMN_SETTINGS = ("noise_levels",)


def _order(record):
    return (MODEL_KINDS.index(record["model"]), record["iterations"] or 0)


def flat_records(store):
    """Return all stored records, each merged with its run's settings."""
    records = []
    for run in store.load_runs():
        settings = {
            key: ",".join(str(item) for item in value)
            if isinstance(value, list)
            else value
            for key, value in run["settings"].items()
            if key not in _NON_COLUMN_SETTINGS
        }
        for record in run["records"]:
            # Identity and metric columns first, then the settings.
            ordered = {key: record.get(key) for key in RECORD_COLUMNS}
            records.append({**ordered, **record, **settings})
    return sorted(records, key=lambda r: (_order(r), r["seed"], r["sigma"]))


def summarize_metric(records, metric):
    """Return `{label: [(sigma, mean, std, count), ...]}` over seeds."""
    series = {}
    for row in runs.summarize(records, ["label", "sigma"], metric):
        series.setdefault(row["label"], []).append(
            (row["sigma"], row["mean"], row["std"], row["count"])
        )
    return series


def markdown_tables(records):
    """Return Markdown tables of SSIM and probe accuracy per sigma.

    One table per metric: a row per model, a column per pixel noise level,
    cells `mean ± std` over seeds (std 0.00 for a single seed).
    """
    if not records:
        return "No finished runs.\n"
    sections = []
    for metric, title in METRICS.items():
        series = summarize_metric(records, metric)
        sigmas = sorted(
            {point[0] for points in series.values() for point in points}
        )
        headers = ["Model", "seeds"] + [f"σ={sigma:g}" for sigma in sigmas]
        rows = []
        for label, points in series.items():
            by_sigma = {point[0]: point for point in points}
            cells = []
            for sigma in sigmas:
                point = by_sigma.get(sigma)
                cells.append(
                    runs.format_mean_std(point[1], point[2], digits=3)
                    if point
                    else "-"
                )
            counts = sorted({point[3] for point in points})
            rows.append([label, "/".join(str(c) for c in counts)] + cells)
        sections.append(f"### {title}\n\n" + runs.markdown_table(headers, rows))
    sections.append(_training_table(records))
    return "\n".join(sections)


def _training_table(records):
    """Final training loss and memories in use per model, over seeds."""
    # One record per run is enough: both values repeat at every sigma.
    first_sigma = min(record["sigma"] for record in records)
    per_run = [record for record in records if record["sigma"] == first_sigma]
    losses = runs.summarize(per_run, ["label"], "final_loss")
    in_use = {
        row["label"]: row
        for row in runs.summarize(per_run, ["label"], "memories_in_use")
    }
    rows = []
    for row in losses:
        used = in_use.get(row["label"])
        rows.append(
            [
                row["label"],
                row["count"],
                runs.format_mean_std(row["mean"], row["std"], digits=4),
                runs.format_mean_std(used["mean"], used["std"], digits=1)
                if used
                else "-",
            ]
        )
    headers = ["Model", "seeds", "final training loss", "memories in use"]
    return (
        "### Training\n\n"
        "Memories in use: distinct VQ-VAE codes, or NIHR memories that win "
        "the attention argmax at the last step, over the clean test "
        "images.\n\n" + runs.markdown_table(headers, rows)
    )


def plot_metrics(records, output_dir):
    """Write `<metric>_vs_sigma.png` for SSIM and probe accuracy."""
    paths = []
    for metric, title in METRICS.items():
        series = {
            label: [point[:3] for point in points]
            for label, points in summarize_metric(records, metric).items()
        }
        paths.append(
            plots.plot_metric_against_noise(
                series,
                pathlib.Path(output_dir) / f"{metric}_vs_sigma.png",
                ylabel=title,
                title=f"{title} under Gaussian pixel noise (mean ± std "
                "over seeds)",
            )
        )
    return paths


def plot_trajectory(output_dir, steps):
    """Write `pca_trajectory.png` from the NIHR run with the largest T.

    The run with the largest T (lowest seed among equals) is used, so one
    model supplies every panel: panel t shows its retrieval states after
    t of its T steps. Steps beyond T are left out, and step T is then
    added so that the final state is shown.

    Returns:
        The path written, or None when no NIHR run has stored states.
    """
    output_dir = pathlib.Path(output_dir)
    candidates = []
    for path in (output_dir / "trajectories").glob("nihr_t*_seed*.npz"):
        iterations, seed = path.stem[len("nihr_t") :].split("_seed")
        candidates.append((-int(iterations), int(seed), path))
    if not candidates:
        return None
    negative_iterations, seed, path = min(candidates)
    iterations = -negative_iterations
    with np.load(path) as stored:
        states = stored["states"]
        labels = stored["labels"]
    shown_steps = [step for step in steps if 1 <= step <= iterations]
    if len(shown_steps) < len(steps):
        # Steps past T are dropped, so the final state T is shown instead.
        if iterations not in shown_steps:
            shown_steps.append(iterations)
        logger.warning(
            "The PCA figure shows steps %s: the largest NIHR model has "
            "T=%d iterations.",
            shown_steps,
            iterations,
        )
    selected = states[:, [step - 1 for step in shown_steps]]
    return plots.plot_pca_grid(
        selected,
        labels,
        shown_steps,
        output_dir / "pca_trajectory.png",
        title=f"NIHR T={iterations} model (seed {seed}): retrieval states "
        f"of {len(labels)} clean test images\nafter t steps, each panel "
        "projected on its top two principal components",
    )


def write_results(output_dir, store, settings, environment, command, steps):
    """Write results.json, results.csv, results.md and the figures.

    Returns:
        The records written.
    """
    output_dir = pathlib.Path(output_dir)
    records = flat_records(store)
    run_info = [
        {
            key: run.get(key)
            for key in (
                "run",
                "label",
                "seed",
                "distribute",
                "num_devices",
                "fit_seconds",
                "finished_at",
            )
        }
        for run in store.load_runs()
    ]
    runs.write_json(
        output_dir / "results.json",
        {
            "description": "SSIM and linear-probe accuracy per model, NIHR "
            "iterations T, seed and Gaussian pixel noise sigma (standard "
            "deviation on the [0, 1] pixel scale).",
            "command": command,
            "settings": settings,
            "environment": environment,
            "runs": run_info,
            "records": records,
        },
    )
    runs.write_csv(output_dir / "results.csv", records)
    header = (
        "# Autoencoder experiment results\n\n"
        "Gaussian pixel noise sigma is a standard deviation on the [0, 1] "
        "pixel scale (noisy images are clipped to [0, 1]). Cells are "
        "mean ± std over seeds.\n\n"
    )
    (output_dir / "results.md").write_text(header + markdown_tables(records))
    if records:
        plot_metrics(records, output_dir)
    plot_trajectory(output_dir, steps)
    return records
