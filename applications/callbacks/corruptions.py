"""Classification accuracy on MNIST-C and CIFAR-10-C, during or after fit.

`evaluate_corruptions` measures the accuracy of a classifier on the clean
test set and on each corrupted set. `summarize_corruptions` reduces those
accuracies to the columns of the robustness table:

- `clean`: accuracy on the clean test images.
- `s1` .. `s5` (CIFAR-10-C only): mean accuracy over the corruptions at
  that severity.
- `overall`: mean accuracy over all corrupted sets, each set weighted
  equally. For CIFAR-10-C that is every (corruption, severity) pair. For
  MNIST-C it is every corruption except `identity`, which is the
  uncorrupted test set and is reported on its own.
- `gaussian_noise_s1` .. `gaussian_noise_s5` and `gaussian_noise_overall`
  (CIFAR-10-C, when gaussian_noise was evaluated): the same on the
  Gaussian-noise sets alone, the overall being their mean over severities.

`CorruptionAccuracy` runs the evaluation at the end of `model.fit` and
writes the numbers into `logs`, so History and CSVLogger record them.
"""

import numpy as np
from keras import callbacks
from keras import utils
from keras.src.utils import io_utils

from applications.data import catalog
from applications.data import loaders
from applications.data.corrupted import check_frost_textures
from applications.data.corrupted import corrupted_set

CLEAN = "clean"
REFERENCE_CORRUPTION = "identity"
GAUSSIAN_NOISE = "gaussian_noise"
LOG_PREFIX = "corruption_accuracy_"


def default_corruptions(dataset):
    """Return the corruptions evaluated by default for `dataset`.

    All 16 MNIST-C sets, `identity` included, and the 15 benchmark
    corruptions of CIFAR-10-C without the 4 extra ones, which the
    benchmark's mean corruption accuracy leaves out.
    """
    return catalog.corruption_names(dataset, extras=False)


def load_corruption_sets(
    dataset,
    corruptions=None,
    severities=None,
    *,
    limit=None,
    data_dir=None,
    cache_dir=None,
    source="auto",
    seed=0,
    frost_dir=None,
    clean=None,
    download=True,
):
    """Load the corrupted test sets to evaluate, keyed by corruption.

    Args:
        dataset: `"mnist"` (MNIST-C) or `"cifar10"` (CIFAR-10-C).
        corruptions: corruption names, or None for
            `default_corruptions(dataset)`.
        severities: CIFAR-10-C severities in 1..5, or None for all five.
            Must be None for MNIST-C.
        limit: keep the first `limit` test images of each set, the same
            images as the first `limit` clean test images; None keeps all.
        data_dir, cache_dir, source, seed, frost_dir: passed to
            `applications.data.load_corrupted`. Generated sets are cached
            in `cache_dir`.
        clean: optional uint8 `(images, labels)` of the first `limit`
            clean test images (all of them when `limit` is None). Sets
            that are generated corrupt these images, which saves reading
            the test split once per set.
        download: whether tensorflow-datasets may download the clean
            test set to corrupt when no local folder contains it.
            `source="tfds"` downloads the official sets regardless.

    Returns:
        Dict mapping `(name, severity)` to `(images, labels)`: uint8
        images and int64 labels. Severity is None for MNIST-C.
    """
    if corruptions is None:
        corruptions = default_corruptions(dataset)
    pairs = catalog.corruption_pairs(dataset, corruptions, severities)
    if clean is not None:
        loaders.check_limit(limit, "limit")
        expected = len(clean[1]) if limit is None else limit
        if len(clean[0]) != expected or len(clean[1]) != expected:
            raise ValueError(
                "Invalid value received for argument `clean`. Expected the "
                f"first {expected} clean test images and labels, as many as "
                f"`limit`. Received: {len(clean[0])} images and "
                f"{len(clean[1])} labels."
            )
    check_frost_textures(dataset, pairs, source, data_dir, frost_dir)
    sets = {}
    for name, severity in pairs:
        images, labels, _ = corrupted_set(
            dataset,
            name,
            severity,
            data_dir=data_dir,
            cache_dir=cache_dir,
            source=source,
            limit=limit,
            seed=seed,
            frost_dir=frost_dir,
            download=download,
            clean=clean,
        )
        sets[(name, severity)] = (images, labels)
    return sets


def accuracy(model, images, labels, batch_size=256):
    """Return the fraction of `images` whose argmax logit equals the label.

    Runs `model.predict` in inference mode, so batch normalization uses
    its moving statistics and NIHR noise is off unless the layer adds it
    at inference.
    """
    if len(images) != len(labels):
        raise ValueError(
            f"Expected as many labels as images. Received {len(images)} "
            f"images and {len(labels)} labels."
        )
    if len(labels) == 0:
        raise ValueError("Cannot measure accuracy on an empty set.")
    logits = model.predict(images, batch_size=batch_size, verbose=0)
    predictions = np.argmax(np.asarray(logits), axis=-1)
    return float(np.mean(predictions == np.asarray(labels)))


def evaluate_corruptions(model, sets, clean=None, *, batch_size=256, verbose=0):
    """Measure the accuracy of `model` on the clean and corrupted sets.

    Args:
        model: a Keras classifier that returns one logit per class.
        sets: dict mapping `(name, severity)` to `(images, labels)`, as
            returned by `load_corruption_sets`.
        clean: optional `(images, labels)` of the clean test set.
        batch_size: prediction batch size.
        verbose: 0 is silent. 1 shows a progress bar over the sets.

    Returns:
        List of dicts with keys `corruption` (`"clean"` for the clean
        set), `severity` (None for the clean set and MNIST-C), `accuracy`
        (fraction in [0, 1]) and `num_images`, clean set first.
    """
    named_sets = []
    if clean is not None:
        named_sets.append((CLEAN, None, clean))
    for (name, severity), arrays in sets.items():
        named_sets.append((name, severity, arrays))
    progress = utils.Progbar(len(named_sets), verbose=1 if verbose else 0)
    records = []
    for index, (name, severity, (images, labels)) in enumerate(named_sets):
        records.append(
            {
                "corruption": name,
                "severity": severity,
                "accuracy": accuracy(model, images, labels, batch_size),
                "num_images": len(labels),
            }
        )
        progress.update(index + 1)
    return records


def summarize_corruptions(records):
    """Reduce per-set accuracies to the robustness table's columns.

    Args:
        records: the list returned by `evaluate_corruptions`.

    Returns:
        Dict with `clean`, `overall` and, for CIFAR-10-C, `s1` .. `s5`
        and the `gaussian_noise_*` entries described in the module
        docstring. A column without any set is left out.
    """
    summary = {}
    corrupted = []
    for record in records:
        if record["corruption"] == CLEAN:
            summary[CLEAN] = record["accuracy"]
        elif record["corruption"] != REFERENCE_CORRUPTION:
            corrupted.append(record)
    if corrupted:
        summary["overall"] = _mean(corrupted)
    levels = sorted({r["severity"] for r in corrupted} - {None})
    for level in levels:
        at_level = [r for r in corrupted if r["severity"] == level]
        summary[f"s{level}"] = _mean(at_level)
    gaussian = [
        r
        for r in corrupted
        if r["corruption"] == GAUSSIAN_NOISE and r["severity"] is not None
    ]
    for record in gaussian:
        summary[f"{GAUSSIAN_NOISE}_s{record['severity']}"] = record["accuracy"]
    if gaussian:
        summary[f"{GAUSSIAN_NOISE}_overall"] = _mean(gaussian)
    return summary


def _mean(records):
    return float(np.mean([record["accuracy"] for record in records]))


def set_key(name, severity):
    """Return the name of one set in logs: `fog` or `fog_s3`."""
    return name if severity is None else f"{name}_s{severity}"


def corruption_logs(records, prefix=LOG_PREFIX):
    """Return the `logs` entries of one evaluation: every set and summary.

    Keys are `prefix` followed by `set_key(name, severity)` for each set
    (`clean` for the clean set) and by each key of `summarize_corruptions`.
    """
    logs = {}
    for record in records:
        key = set_key(record["corruption"], record["severity"])
        logs[prefix + key] = record["accuracy"]
    for key, value in summarize_corruptions(records).items():
        logs[prefix + key] = value
    return logs


class CorruptionAccuracy(callbacks.Callback):
    """Evaluate accuracy on corrupted test sets during `model.fit`.

    By default the evaluation runs once, after the last epoch, and its
    numbers are added to that epoch's `logs` under
    `corruption_accuracy_<key>` (see `corruption_logs`), e.g.
    `logs["corruption_accuracy_overall"]`. When training stops early, the
    evaluation runs in `on_train_end` and is added to its `logs`.

    Args:
        sets: dict mapping `(name, severity)` to `(images, labels)`, as
            returned by `load_corruption_sets`.
        clean: optional `(images, labels)` of the clean test set.
        batch_size: prediction batch size.
        every_n_epochs: None evaluates only after the last epoch. A
            positive int also evaluates after every `every_n_epochs`
            epochs.
        verbose: 0 is silent. 1 shows a progress bar over the sets and a
            summary line, 2 the summary line only.
        prefix: prefix of the keys written into `logs`.

    Attributes:
        records: per-set accuracies of the latest evaluation, as returned
            by `evaluate_corruptions`, or None before the first one.
        summary: `summarize_corruptions(records)` of the latest one.
    """

    def __init__(
        self,
        sets,
        clean=None,
        *,
        batch_size=256,
        every_n_epochs=None,
        verbose=1,
        prefix=LOG_PREFIX,
    ):
        super().__init__()

        if not sets and clean is None:
            raise ValueError(
                "Invalid value received for argument `sets`. Expected at "
                "least one corrupted set or a clean set. Received: no sets "
                "and clean=None."
            )
        if every_n_epochs is not None and (
            isinstance(every_n_epochs, bool)
            or not isinstance(every_n_epochs, int)
            or every_n_epochs < 1
        ):
            raise ValueError(
                "Invalid value received for argument `every_n_epochs`. "
                "Expected None or an int >= 1. Received: "
                f"every_n_epochs={every_n_epochs!r}"
            )
        if verbose not in (0, 1, 2):
            raise ValueError(
                "Invalid value received for argument `verbose`. Expected "
                f"0, 1 or 2. Received: verbose={verbose!r}"
            )

        self.sets = sets
        self.clean = clean
        self.batch_size = batch_size
        self.every_n_epochs = every_n_epochs
        self.verbose = verbose
        self.prefix = prefix
        self.records = None
        self.summary = None
        self._last_epoch = None
        self._evaluated_epoch = None

    def on_train_begin(self, logs=None):
        self._last_epoch = None
        self._evaluated_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        self._last_epoch = epoch
        is_last = (self.params or {}).get("epochs") == epoch + 1
        is_due = (
            self.every_n_epochs is not None
            and (epoch + 1) % self.every_n_epochs == 0
        )
        if is_last or is_due:
            self._evaluate(epoch, logs)

    def on_train_end(self, logs=None):
        if self._last_epoch is None:
            return
        if self._evaluated_epoch != self._last_epoch:
            self._evaluate(self._last_epoch, logs)

    def _evaluate(self, epoch, logs):
        self.records = evaluate_corruptions(
            self.model,
            self.sets,
            self.clean,
            batch_size=self.batch_size,
            verbose=1 if self.verbose == 1 else 0,
        )
        self.summary = summarize_corruptions(self.records)
        self._evaluated_epoch = epoch
        if logs is not None:
            logs.update(corruption_logs(self.records, self.prefix))
        if self.verbose:
            parts = [
                f"{key} {100 * value:.2f}%"
                for key, value in self.summary.items()
            ]
            io_utils.print_msg(
                f"Epoch {epoch + 1}: corruption accuracy: " + ", ".join(parts)
            )
