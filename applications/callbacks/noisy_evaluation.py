"""Shared parts of the callbacks that evaluate under Gaussian pixel noise.

Noise levels are standard deviations on the [0, 1] pixel scale: a noisy
image is `clip(x + sigma * n, 0, 1)` with `n ~ N(0, I)`. The callbacks
store one value per level in `logs` under `metric_key(metric, sigma)`,
e.g. `ssim_sigma_0.30`, so `History`, `CSVLogger` and `TensorBoard` record
them when they come after the callback in the `callbacks` list (`History`
always does, because `model.fit` appends it last). After epochs without an
evaluation the keys hold NaN: `CSVLogger` fixes its columns at the first
epoch, and `History` lists stay aligned with the epochs.
"""

import logging
import math
import numbers
import sys

import keras
import numpy as np

logger = logging.getLogger(__name__)

# 0, 0.1, ..., 1.0 on the [0, 1] pixel scale.
DEFAULT_NOISE_LEVELS = tuple(round(0.1 * step, 1) for step in range(11))


def metric_key(metric, stddev):
    """Return the `logs` key of `metric` at pixel noise `stddev`.

    Two decimals keep the keys stable and sortable: `ssim_sigma_0.30`.
    """
    return f"{metric}_sigma_{stddev:.2f}"


def add_pixel_noise(images, stddev, seed):
    """Add Gaussian noise on the [0, 1] pixel scale and clip to [0, 1].

    Args:
        images: float array with values in [0, 1].
        stddev: non-negative float, the noise standard deviation.
        seed: int. The noise depends only on `seed`, `stddev` and the shape
            of `images`, so every callback and every epoch with the same
            seed gets the same noisy images.

    Returns:
        A float32 array of the shape of `images`.
    """
    images = np.asarray(images, dtype=np.float32)
    if stddev == 0:
        return images.copy()
    # The level enters the seed in micro-units so that 0.1 and 0.10000001
    # share a stream but 0.1 and 0.2 do not.
    rng = np.random.default_rng([seed, int(round(stddev * 1e6))])
    noise = rng.standard_normal(images.shape, dtype=np.float32)
    return np.clip(images + np.float32(stddev) * noise, 0.0, 1.0)


def check_noise_levels(noise_levels, metric):
    """Return `noise_levels` as a tuple of floats after checking them."""
    try:
        levels = tuple(noise_levels)
    except TypeError:
        levels = None
    valid = bool(levels) and all(
        isinstance(level, numbers.Real)
        and not isinstance(level, bool)
        and math.isfinite(level)
        and level >= 0
        for level in levels
    )
    if not valid:
        raise ValueError(
            "Invalid value received for argument `noise_levels`. Expected a "
            "non-empty sequence of finite floats >= 0, standard deviations "
            "on the [0, 1] pixel scale. Received: "
            f"noise_levels={noise_levels!r}"
        )
    levels = tuple(float(level) for level in levels)
    keys = [metric_key(metric, level) for level in levels]
    if len(set(keys)) != len(keys):
        raise ValueError(
            "Invalid value received for argument `noise_levels`. Expected "
            "levels that differ at two decimals, because each one is "
            f"stored under a key like {keys[0]!r}. Received: "
            f"noise_levels={noise_levels!r}"
        )
    return levels


def check_images(images, argument):
    """Return `images` as float32 `(N, H, W, C)` after checking the range."""
    array = np.asarray(images)
    if array.ndim != 4 or len(array) == 0:
        raise ValueError(
            f"Invalid value received for argument `{argument}`. Expected a "
            "non-empty array of images of shape (num_images, height, width, "
            f"channels). Received: shape={array.shape}"
        )
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(
            f"Invalid value received for argument `{argument}`. Expected "
            "float pixel values in [0, 1], e.g. from load_mnist(..., "
            f"dtype='float32'). Received: dtype={array.dtype}"
        )
    array = array.astype(np.float32, copy=False)
    if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 1:
        raise ValueError(
            f"Invalid value received for argument `{argument}`. Expected "
            "finite pixel values in [0, 1]. Received values in "
            f"[{array.min()}, {array.max()}]"
        )
    return array


def _check_optional_positive_int(name, value):
    if value is None:
        return
    if (
        not isinstance(value, numbers.Integral)
        or isinstance(value, bool)
        or value < 1
    ):
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected None "
            f"or an int >= 1. Received: {name}={value!r}"
        )


class NoisyEvaluation(keras.callbacks.Callback):
    """Base class: evaluate at each pixel noise level on a schedule.

    Subclasses set `metric` and implement `evaluate()`, which returns a
    dict from noise level to value.

    Args:
        noise_levels: Sequence of non-negative floats, the pixel noise
            standard deviations on the [0, 1] scale.
        frequency: None to evaluate only after the last epoch, or an int k
            to evaluate after every k-th epoch and after the last one. The
            other epochs log NaN under the same keys.
        seed: Int, seed of the pixel noise.
        batch_size: Positive int, the batch size of `model.predict`.
        verbose: 0 for silence, 1 to print one line per evaluation.
    """

    metric = None

    def __init__(self, noise_levels, frequency, seed, batch_size, verbose):
        super().__init__()
        self.noise_levels = check_noise_levels(noise_levels, self.metric)
        _check_optional_positive_int("frequency", frequency)
        _check_optional_positive_int("batch_size", batch_size)
        if (
            not isinstance(seed, numbers.Integral)
            or isinstance(seed, bool)
            or seed < 0
        ):
            raise ValueError(
                "Invalid value received for argument `seed`. Expected an int "
                f">= 0. Received: seed={seed!r}"
            )
        if verbose not in (0, 1, 2, True, False):
            raise ValueError(
                "Invalid value received for argument `verbose`. Expected 0, "
                f"1 or 2. Received: verbose={verbose!r}"
            )
        self.frequency = frequency
        self.seed = int(seed)
        self.batch_size = batch_size
        self.verbose = int(verbose)
        # The values of the latest evaluation, keyed by noise level.
        self.results = {}

    def keys(self):
        """Return the `logs` keys that this callback writes, in order."""
        return [metric_key(self.metric, level) for level in self.noise_levels]

    def evaluate(self):
        """Return `{noise_level: value}` for the current model."""
        raise NotImplementedError

    def _is_scheduled(self, epoch):
        last_epoch = self.params.get("epochs", epoch + 1) - 1
        if epoch >= last_epoch:
            return True
        return self.frequency is not None and (epoch + 1) % self.frequency == 0

    def on_epoch_end(self, epoch, logs=None):
        if not self._is_scheduled(epoch):
            if logs is not None:
                logs.update(dict.fromkeys(self.keys(), float("nan")))
            return
        self.results = self.evaluate()
        values = {
            metric_key(self.metric, level): float(value)
            for level, value in self.results.items()
        }
        if logs is not None:
            logs.update(values)
        if self.verbose:
            summary = ", ".join(
                f"{level:g}: {value:.4f}"
                for level, value in self.results.items()
            )
            _print_message(
                f"Epoch {epoch + 1}: {self.metric} by pixel noise sigma: "
                f"{summary}"
            )

    def _predict(self, model, images):
        return model.predict(images, batch_size=self.batch_size, verbose=0)


def _print_message(message):
    # The same channel as Keras' own callback messages: standard output
    # when interactive logging is on, the logger otherwise.
    if keras.config.is_interactive_logging_enabled():
        sys.stdout.write(message + "\n")
        sys.stdout.flush()
    else:
        logger.info(message)
