"""One (model, seed) run of the autoencoder experiment: build, fit, record.

Used by `python -m applications.autoencoder`, whose module documents the
command line.
"""

import dataclasses
import logging
import pathlib
import time

import keras
import numpy as np

from applications.callbacks.noisy_evaluation import metric_key
from applications.callbacks.probe import LinearProbe
from applications.callbacks.reconstruction import ReconstructionSSIM
from applications.models import autoencoders
from applications.models import nihr_warmup
from keras_nihr.diagnostics import num_memories_in_use

logger = logging.getLogger("applications.autoencoder")

MODEL_KINDS = ("ae", "vae", "vqvae", "nihr")
_TITLES = {"ae": "AE", "vae": "VAE", "vqvae": "VQ-VAE", "nihr": "NIHR"}


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One model variant: its kind and, for NIHR, the iterations T."""

    kind: str
    iterations: int | None = None

    @property
    def label(self):
        """Name in tables and plots, e.g. `NIHR T=5`."""
        if self.iterations is None:
            return _TITLES[self.kind]
        return f"{_TITLES[self.kind]} T={self.iterations}"

    @property
    def key(self):
        """Name in file names, e.g. `nihr_t5`."""
        if self.iterations is None:
            return self.kind
        return f"{self.kind}_t{self.iterations}"

    def run_name(self, seed):
        """Return the name of the run of this model with `seed`."""
        return f"{self.key}_seed{seed}"


def model_specs(kinds, iterations):
    """Expand model kinds into specs, one NIHR spec per T in `iterations`."""
    unknown = [kind for kind in kinds if kind not in MODEL_KINDS]
    if unknown:
        raise ValueError(
            f"Unknown model(s) {unknown}. Expected names from "
            f"{', '.join(MODEL_KINDS)}."
        )
    specs = []
    for kind in MODEL_KINDS:
        if kind not in kinds:
            continue
        if kind == "nihr":
            specs.extend(
                ModelSpec(kind, int(t)) for t in sorted(set(iterations))
            )
        else:
            specs.append(ModelSpec(kind))
    return specs


def build_model(spec, settings, seed):
    """Build the model of `spec` with the sizes in `settings`."""
    common = {
        "latent_dim": settings["latent_dim"],
        "filters": tuple(settings["filters"]),
        "name": spec.key,
    }
    if spec.kind == "ae":
        return autoencoders.build_autoencoder(**common)
    if spec.kind == "vae":
        return autoencoders.build_vae(
            kl_weight=settings["kl_weight"], seed=seed, **common
        )
    if spec.kind == "vqvae":
        return autoencoders.build_vqvae(
            num_codes=settings["num_codes"],
            commitment_cost=settings["commitment_cost"],
            **common,
        )
    return autoencoders.build_nihr_autoencoder(
        num_memories=settings["num_memories"],
        iterations=spec.iterations,
        beta=settings["beta"],
        noise_stddev=settings["noise_stddev"],
        seed=seed,
        **common,
    )


@dataclasses.dataclass
class ExperimentData:
    """Images in [0, 1] and labels that every run uses."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    # Indices into the training images that fit the linear probe.
    probe_indices: np.ndarray
    # Indices into the test images of the PCA trajectory figure.
    pca_indices: np.ndarray


def retrieval_trajectory(model, images, batch_size=256):
    """Return the NIHR retrieval state after every step, without noise.

    Args:
        model: A model from `build_nihr_autoencoder`.
        images: float images `(N, 28, 28, 1)` in [0, 1].
        batch_size: images per forward pass.

    Returns:
        float32 array `(N, iterations, latent_dim)`.
    """
    retrieval = model.get_layer(f"{model.name}_retrieval")
    encoder = keras.Model(model.inputs, retrieval.input)
    queries = encoder.predict(images, batch_size=batch_size, verbose=0)
    chunks = []
    for start in range(0, len(queries), batch_size):
        _, trajectory = retrieval(
            queries[start : start + batch_size],
            training=False,
            return_trajectory=True,
        )
        chunks.append(keras.ops.convert_to_numpy(trajectory))
    return np.concatenate(chunks).astype(np.float32)


def memories_in_use(spec, model, images, batch_size=256):
    """Count the VQ-VAE codes or NIHR memories that `images` select.

    For VQ-VAE, the distinct nearest codes of the encoder outputs; for
    NIHR, the memories that win the attention argmax at the last step
    (`keras_nihr.diagnostics.num_memories_in_use`). A count far below the
    codebook size or P signals collapse. Returns None for AE and VAE.
    """
    if spec.kind == "vqvae":
        layer = model.get_layer(f"{model.name}_quantizer")
    elif spec.kind == "nihr":
        layer = model.get_layer(f"{model.name}_retrieval")
    else:
        return None
    encoder = keras.Model(model.inputs, layer.input)
    queries = encoder.predict(images, batch_size=batch_size, verbose=0)
    if spec.kind == "vqvae":
        indices = keras.ops.convert_to_numpy(layer.code_indices(queries))
        return int(len(np.unique(indices)))
    _, weights = layer(queries, training=False, return_attention_weights=True)
    return int(num_memories_in_use(weights))


def warm_up_nihr(model, data, settings, seed, verbose, eval_batch_size=256):
    """Train a NIHR autoencoder without retrieval, then set its memories.

    Fits `nihr_warmup.build_retrieval_bypass(model)` for
    `settings["nihr_warmup_epochs"]` epochs with its own Adam optimizer,
    then sets the memories to the k-means centroids of the unit-norm
    latents of all training images (`random_state=seed`), encoded in
    batches of `eval_batch_size`.

    Returns:
        The `History.history` dict of the warm-up fit.
    """
    epochs = settings["nihr_warmup_epochs"]
    bypass = nihr_warmup.build_retrieval_bypass(model)
    bypass.compile(
        optimizer=keras.optimizers.Adam(settings["learning_rate"]),
        loss="binary_crossentropy",
    )
    logger.info(
        "Warm-up of %s: %d epoch(s) with the retrieval bypassed",
        model.name,
        epochs,
    )
    history = bypass.fit(
        data.x_train,
        data.x_train,
        epochs=epochs,
        batch_size=settings["batch_size"],
        shuffle=True,
        verbose=verbose,
    )
    nihr_warmup.set_memories_from_kmeans(
        model, data.x_train, seed, batch_size=eval_batch_size
    )
    logger.info(
        "Set %d memories to k-means centroids of %d unit-norm latents",
        settings["num_memories"],
        len(data.x_train),
    )
    return history.history


def train_and_evaluate(
    spec, seed, data, settings, output_dir, verbose, eval_batch_size=256
):
    """Train one model with `model.fit` and evaluate it under pixel noise.

    A NIHR model with `settings["nihr_warmup_epochs"] > 0` first goes
    through `warm_up_nihr` and then trains for the remaining epochs.
    Every `predict` of the evaluation uses batches of `eval_batch_size`.

    Writes `models/<run>.keras`, `histories/<run>.csv` (the `CSVLogger`
    file) and, for NIHR, `trajectories/<run>.npz` under `output_dir`.

    Returns:
        `(records, metadata)`: one record per pixel noise level with the
        SSIM and linear-probe accuracy of the last epoch, and a dict with
        the full history and timings.
    """
    run_name = spec.run_name(seed)
    output_dir = pathlib.Path(output_dir)
    keras.utils.set_random_seed(seed)
    model = build_model(spec, settings, seed)
    model.compile(
        optimizer=keras.optimizers.Adam(settings["learning_rate"]),
        loss="binary_crossentropy",
    )
    callback_verbose = 1 if verbose else 0
    ssim = ReconstructionSSIM(
        data.x_test,
        noise_levels=settings["noise_levels"],
        seed=seed,
        batch_size=eval_batch_size,
        verbose=callback_verbose,
    )
    probe = LinearProbe(
        data.x_train[data.probe_indices],
        data.y_train[data.probe_indices],
        data.x_test,
        data.y_test,
        noise_levels=settings["noise_levels"],
        seed=seed,
        batch_size=eval_batch_size,
        verbose=callback_verbose,
    )
    history_path = output_dir / "histories" / f"{run_name}.csv"
    history_path.parent.mkdir(parents=True, exist_ok=True)
    logger.info(
        "Training %s (seed %d): %d epoch(s) on %d images, %d parameters",
        spec.label,
        seed,
        settings["epochs"],
        len(data.x_train),
        model.count_params(),
    )
    start = time.perf_counter()
    # The warm-up epochs count towards `settings["epochs"]`, so every model
    # trains for the same number of epochs.
    warmup_epochs = 0
    warmup_history = None
    if spec.kind == "nihr" and settings["nihr_warmup_epochs"] > 0:
        warmup_epochs = settings["nihr_warmup_epochs"]
        warmup_history = warm_up_nihr(
            model, data, settings, seed, verbose, eval_batch_size
        )
    warmup_seconds = time.perf_counter() - start
    history = model.fit(
        data.x_train,
        data.x_train,
        epochs=settings["epochs"] - warmup_epochs,
        batch_size=settings["batch_size"],
        shuffle=True,
        callbacks=[ssim, probe, keras.callbacks.CSVLogger(str(history_path))],
        verbose=verbose,
    )
    seconds = time.perf_counter() - start

    model_path = output_dir / "models" / f"{run_name}.keras"
    model_path.parent.mkdir(parents=True, exist_ok=True)
    model.save(model_path)
    if spec.kind == "nihr":
        states = retrieval_trajectory(
            model, data.x_test[data.pca_indices], eval_batch_size
        )
        trajectory_path = output_dir / "trajectories" / f"{run_name}.npz"
        trajectory_path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            trajectory_path,
            states=states,
            labels=data.y_test[data.pca_indices],
        )

    in_use = memories_in_use(spec, model, data.x_test, eval_batch_size)
    logs = history.history
    records = []
    for level in settings["noise_levels"]:
        records.append(
            {
                "model": spec.kind,
                "label": spec.label,
                "iterations": spec.iterations,
                "seed": seed,
                "sigma": level,
                # The callbacks evaluate after the last epoch, so the last
                # History entry contains their values.
                "ssim": logs[metric_key(ssim.metric, level)][-1],
                "probe_accuracy": logs[metric_key(probe.metric, level)][-1],
                "final_loss": logs["loss"][-1],
                "memories_in_use": in_use,
            }
        )
    metadata = {
        "label": spec.label,
        "seed": seed,
        "fit_seconds": seconds,
        "warmup_epochs": warmup_epochs,
        "warmup_seconds": warmup_seconds,
        "warmup_history": warmup_history,
        "num_parameters": model.count_params(),
        # NaN marks epochs without evaluation. JSON has no NaN, so it becomes
        # None.
        "history": {
            key: [None if np.isnan(value) else value for value in values]
            for key, values in logs.items()
        },
    }
    return records, metadata
