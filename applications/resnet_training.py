"""Training of one ResNet run: optimizer, schedule, fit and evaluation."""

import dataclasses
import logging
import math
import time

import keras

from applications.callbacks.corruptions import CorruptionAccuracy
from applications.models.resnet import build_resnet18

logger = logging.getLogger(__name__)

OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULES = ("cosine", "constant")
MODELS = ("resnet", "resnet_nihr")


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """Settings shared by every run of one experiment.

    Attributes:
        width: channel multiplier of ResNet-18.
        nihr_after: residual blocks (1..8) followed by a retrieval layer
            in the NIHR model.
        num_memories, iterations, beta, noise_stddev: retrieval layer
            arguments, see `HopfieldRetrieval`.
        optimizer: one of `OPTIMIZERS`. `adamw` and `sgd` (momentum 0.9,
            Nesterov) apply decoupled weight decay, `adam` applies none.
        learning_rate: initial learning rate.
        schedule: `cosine` decays the learning rate to 0 over all steps,
            `constant` keeps it.
        weight_decay: decoupled weight decay factor of `adamw` and `sgd`.
        epochs: training epochs.
        batch_size: training batch size.
        eval_batch_size: prediction batch size of the evaluation.
        synchronized_batch_norm: whether the batch normalization layers
            use the statistics of the global batch under `tf.distribute`
            (`DataParallelSetup.synchronized_batch_norm`).
    """

    width: float
    nihr_after: tuple
    num_memories: int
    iterations: int
    beta: float
    noise_stddev: float
    optimizer: str
    learning_rate: float
    schedule: str
    weight_decay: float
    epochs: int
    batch_size: int
    eval_batch_size: int
    synchronized_batch_norm: bool = False


def make_optimizer(config, steps_per_epoch):
    """Create the optimizer of `config` with its learning-rate schedule."""
    if config.optimizer not in OPTIMIZERS:
        raise ValueError(
            "Invalid value received for argument `optimizer`. Expected one "
            f"of {OPTIMIZERS}. Received: optimizer={config.optimizer!r}"
        )
    if config.schedule not in SCHEDULES:
        raise ValueError(
            "Invalid value received for argument `schedule`. Expected one "
            f"of {SCHEDULES}. Received: schedule={config.schedule!r}"
        )
    if not (math.isfinite(config.learning_rate) and config.learning_rate > 0):
        raise ValueError(
            "Invalid value received for argument `learning_rate`. Expected "
            f"a finite float > 0. Received: {config.learning_rate!r}"
        )
    learning_rate = config.learning_rate
    if config.schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            config.learning_rate,
            decay_steps=max(1, steps_per_epoch * config.epochs),
        )
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(
            learning_rate, weight_decay=config.weight_decay
        )
    if config.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate)
    return keras.optimizers.SGD(
        learning_rate,
        momentum=0.9,
        nesterov=True,
        weight_decay=config.weight_decay or None,
    )


def build_model(model_key, config, input_shape, num_classes, seed):
    """Build and compile the plain (`resnet`) or NIHR (`resnet_nihr`)
    model for one run."""
    if model_key not in MODELS:
        raise ValueError(
            "Invalid value received for argument `model_key`. Expected one "
            f"of {MODELS}. Received: model_key={model_key!r}"
        )
    nihr_after = config.nihr_after if model_key == "resnet_nihr" else None
    return build_resnet18(
        input_shape,
        num_classes,
        width=config.width,
        nihr_after=nihr_after,
        num_memories=config.num_memories,
        iterations=config.iterations,
        beta=config.beta,
        noise_stddev=config.noise_stddev,
        nihr_seed=seed,
        synchronized_batch_norm=config.synchronized_batch_norm,
    )


def train_and_evaluate(
    model_key, config, seed, train, test, sets, *, verbose=1
):
    """Train one model on clean data and evaluate it on corrupted sets.

    Args:
        model_key: `"resnet"` or `"resnet_nihr"`.
        config: the `TrainingConfig`.
        seed: int seed of weights, shuffling and retrieval noise.
        train: `(images, labels)` of the clean training set.
        test: `(images, labels)` of the clean test set.
        sets: corrupted sets from `load_corruption_sets`.
        verbose: Keras verbosity of `fit` and of the evaluation.

    Returns:
        `(model, set_records, history, seconds)`: the trained model, the
        per-set accuracies of `evaluate_corruptions`, the `History.history`
        dict of loss and accuracy and the wall time of training plus
        evaluation in seconds.
    """
    keras.utils.set_random_seed(seed)
    images, labels = train
    input_shape = images.shape[1:]
    model = build_model(model_key, config, input_shape, 10, seed)
    steps_per_epoch = math.ceil(len(labels) / config.batch_size)
    model.compile(
        optimizer=make_optimizer(config, steps_per_epoch),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    evaluation = CorruptionAccuracy(
        sets,
        clean=test,
        batch_size=config.eval_batch_size,
        verbose=verbose,
    )
    start = time.monotonic()
    history = model.fit(
        images,
        labels,
        batch_size=config.batch_size,
        epochs=config.epochs,
        callbacks=[evaluation],
        verbose=verbose,
    )
    seconds = time.monotonic() - start
    curves = {
        key: [float(value) for value in values]
        for key, values in history.history.items()
        if key in ("loss", "accuracy")
    }
    return model, evaluation.records, curves, seconds
