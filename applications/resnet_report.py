"""Records and tables of the ResNet robustness experiment.

Each (model, seed) run yields one record per evaluated test set
(`kind="set"`: the clean test set or one corrupted set) and one record per
summary column (`kind="summary"`: `clean`, `s1` .. `s5`, `overall` and the
`gaussian_noise_*` columns defined in `applications.callbacks.corruptions`).
Tables report the mean ± sample standard deviation of these accuracies
over seeds, in percent.
"""

from applications import runs
from applications.callbacks import corruptions

MODEL_TITLES = {"resnet": "ResNet", "resnet_nihr": "ResNet+NIHR"}
DATASET_TITLES = {"mnist": "MNIST-C", "cifar10": "CIFAR-10-C"}
TABLE_HEADERS = (
    "Dataset",
    "Model",
    "Clean",
    "s1",
    "s2",
    "s3",
    "s4",
    "s5",
    "Overall",
)
SEVERITY_COLUMNS = ("s1", "s2", "s3", "s4", "s5")
RECORD_KEYS = (
    "dataset",
    "model",
    "seed",
    "kind",
    "name",
    "severity",
    "accuracy",
    "num_images",
)


def run_records(dataset, model, seed, set_records):
    """Return the records of one run: its sets, then its summary.

    Args:
        dataset: `"mnist"` or `"cifar10"`.
        model: model key, e.g. `"resnet"` or `"resnet_nihr"`.
        seed: the run's seed.
        set_records: the list returned by
            `corruptions.evaluate_corruptions`.

    Returns:
        List of flat dicts with keys `dataset`, `model`, `seed`, `kind`,
        `name`, `severity`, `accuracy` and `num_images`. Summary records
        have `severity` and `num_images` None.
    """
    records = []
    for record in set_records:
        records.append(
            {
                "dataset": dataset,
                "model": model,
                "seed": seed,
                "kind": "set",
                "name": record["corruption"],
                "severity": record["severity"],
                "accuracy": record["accuracy"],
                "num_images": record["num_images"],
            }
        )
    summary = corruptions.summarize_corruptions(set_records)
    for key, value in summary.items():
        records.append(
            {
                "dataset": dataset,
                "model": model,
                "seed": seed,
                "kind": "summary",
                "name": key,
                "severity": None,
                "accuracy": value,
                "num_images": None,
            }
        )
    return records


def ordered_records(runs_payloads, models, seeds):
    """Collect the records of the wanted runs from stored run payloads.

    Args:
        runs_payloads: payloads of `RunStore.load_runs()`.
        models: model keys to keep, in table order.
        seeds: seeds to keep, in table order.

    Returns:
        `(records, payloads)`: the records of the selected runs, models in the
        order of `models` and seeds in the order of `seeds`, each record
        with the keys of `RECORD_KEYS` in that order, and the selected
        payloads in the same order.
    """
    by_run = {}
    for payload in runs_payloads:
        first = payload["records"][0]
        by_run[(first["model"], first["seed"])] = payload
    selected = [
        by_run[(model, seed)]
        for model in models
        for seed in seeds
        if (model, seed) in by_run
    ]
    records = [
        {key: record.get(key) for key in RECORD_KEYS}
        for payload in selected
        for record in payload["records"]
    ]
    return records, selected


def summary_statistics(records):
    """Return mean, std and seed count of every summary column per model.

    Returns:
        Dict mapping `(model, column)` to a dict with `mean`, `std` and
        `count`, accuracies as fractions.
    """
    summary = [r for r in records if r["kind"] == "summary"]
    rows = runs.summarize(summary, ("model", "name"), "accuracy")
    return {(row["model"], row["name"]): row for row in rows}


def models_in(records):
    """Return the model keys present in `records`, in first-seen order."""
    models = []
    for record in records:
        if record["model"] not in models:
            models.append(record["model"])
    return models


def robustness_rows(dataset, records):
    """Return the rows of the robustness table as lists of cells.

    The first row group averages over all corruptions. For CIFAR-10-C a
    second group, titled `CIFAR-10-C gaussian_noise`, has the same columns
    on the Gaussian-noise sets alone. MNIST-C has no severities, so its
    s1 .. s5 cells are `-`.
    """
    statistics = summary_statistics(records)
    groups = [(DATASET_TITLES[dataset], "")]
    if any(key[1].startswith(corruptions.GAUSSIAN_NOISE) for key in statistics):
        title = f"{DATASET_TITLES[dataset]} {corruptions.GAUSSIAN_NOISE}"
        groups.append((title, f"{corruptions.GAUSSIAN_NOISE}_"))
    rows = []
    for title, prefix in groups:
        for model in models_in(records):
            cells = [title, MODEL_TITLES.get(model, model)]
            cells.append(_cell(statistics.get((model, "clean"))))
            for column in SEVERITY_COLUMNS + ("overall",):
                cells.append(_cell(statistics.get((model, prefix + column))))
            rows.append(cells)
    return rows


def robustness_table(dataset, records):
    """Return the robustness table as GitHub Markdown."""
    return runs.markdown_table(TABLE_HEADERS, robustness_rows(dataset, records))


def per_corruption_statistics(records):
    """Return per-corruption accuracy statistics over seeds, per model.

    For each run, the accuracy of a corruption is its mean over the
    evaluated severities (one set for MNIST-C). The clean set is listed
    as `clean`.

    Returns:
        List of dicts with `model`, `name`, `mean`, `std` and `count`, in
        the order the sets were evaluated.
    """
    per_run = {}
    for record in records:
        if record["kind"] != "set":
            continue
        key = (record["model"], record["seed"], record["name"])
        per_run.setdefault(key, []).append(record["accuracy"])
    averaged = [
        {
            "model": model,
            "seed": seed,
            "name": name,
            "accuracy": sum(values) / len(values),
        }
        for (model, seed, name), values in per_run.items()
    ]
    return runs.summarize(averaged, ("model", "name"), "accuracy")


def per_corruption_table(records):
    """Return a Markdown table with one row per test set name, one column
    per model."""
    statistics = per_corruption_statistics(records)
    models = models_in(records)
    names = []
    for row in statistics:
        if row["name"] not in names:
            names.append(row["name"])
    by_key = {(row["model"], row["name"]): row for row in statistics}
    headers = ["Corruption"] + [MODEL_TITLES.get(m, m) for m in models]
    rows = [
        [name] + [_cell(by_key.get((model, name))) for model in models]
        for name in names
    ]
    return runs.markdown_table(headers, rows)


def _cell(statistic):
    if statistic is None:
        return "-"
    return runs.format_mean_std(statistic["mean"], statistic["std"], 100.0)
