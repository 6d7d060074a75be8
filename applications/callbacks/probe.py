"""Linear-probe accuracy of latents of noisy images, as a callback."""

import numbers

import keras
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from applications.callbacks.noisy_evaluation import DEFAULT_NOISE_LEVELS
from applications.callbacks.noisy_evaluation import NoisyEvaluation
from applications.callbacks.noisy_evaluation import add_pixel_noise
from applications.callbacks.noisy_evaluation import check_images
from applications.models.autoencoders import LATENT_LAYER_NAME


def _check_labels(labels, images, argument):
    labels = np.asarray(labels)
    if labels.shape != (len(images),) or not np.issubdtype(
        labels.dtype, np.integer
    ):
        raise ValueError(
            f"Invalid value received for argument `{argument}`. Expected "
            f"{len(images)} integer class labels, one per image. Received: "
            f"shape={labels.shape}, dtype={labels.dtype}"
        )
    return labels


class LinearProbe(NoisyEvaluation):
    """Score a linear classifier on latents of noisy test images.

    At each scheduled epoch end the callback reads the output of the
    model's layer `latent_layer` (by default the decoder input of the
    builders in `applications.models.autoencoders`), fits a multinomial
    logistic regression (scikit-learn `LogisticRegression`, L2 penalty
    C=1, after `StandardScaler`) on the latents of the clean training
    images, and scores its accuracy on the latents of the test images with
    Gaussian pixel noise of each standard deviation sigma (on the [0, 1]
    pixel scale, clipped to [0, 1]). The accuracy goes into
    `logs["probe_accuracy_sigma_0.30"]` and so on. The model runs in
    inference mode (`model.predict`), so stochastic layers that are only
    active in training do not change the latents.

    Place the callback before `CSVLogger` or `TensorBoard` in the
    `callbacks` list, so they see its values.

    Args:
        train_images: Clean images the probe is fitted on, float
            `(N, H, W, C)` in [0, 1].
        train_labels: Integer class labels of `train_images`, shape `(N,)`.
            At least two classes.
        test_images: Clean test images, float `(M, H, W, C)` in [0, 1],
            noised before scoring.
        test_labels: Integer class labels of `test_images`, shape `(M,)`.
        noise_levels: Sequence of pixel noise standard deviations on the
            [0, 1] scale. Default: 0, 0.1, ..., 1.0.
        latent_layer: Name of the layer whose output is the latent.
        frequency: None to evaluate only after the last epoch, or an int k
            to evaluate after every k-th epoch and after the last one. The
            other epochs log NaN under the same keys.
        seed: Int >= 0, seed of the pixel noise.
        batch_size: Positive int, the batch size of `model.predict`.
        max_iter: Positive int, the iteration limit of the logistic
            regression solver (L-BFGS).
        verbose: 0 for silence, 1 to print one line per evaluation.

    Attributes:
        results: Dict from noise level to the test accuracy of the latest
            evaluation, in [0, 1].
    """

    metric = "probe_accuracy"

    def __init__(
        self,
        train_images,
        train_labels,
        test_images,
        test_labels,
        noise_levels=DEFAULT_NOISE_LEVELS,
        latent_layer=LATENT_LAYER_NAME,
        frequency=None,
        seed=0,
        batch_size=256,
        max_iter=1000,
        verbose=0,
    ):
        super().__init__(noise_levels, frequency, seed, batch_size, verbose)
        self.train_images = check_images(train_images, "train_images")
        self.test_images = check_images(test_images, "test_images")
        self.train_labels = _check_labels(
            train_labels, self.train_images, "train_labels"
        )
        self.test_labels = _check_labels(
            test_labels, self.test_images, "test_labels"
        )
        if len(np.unique(self.train_labels)) < 2:
            raise ValueError(
                "Invalid value received for argument `train_labels`. "
                "Expected at least two classes to fit a classifier. "
                f"Received only class {self.train_labels[0]}"
            )
        if not isinstance(latent_layer, str):
            raise ValueError(
                "Invalid value received for argument `latent_layer`. "
                "Expected a layer name. Received: "
                f"latent_layer={latent_layer!r}"
            )
        if (
            not isinstance(max_iter, numbers.Integral)
            or isinstance(max_iter, bool)
            or max_iter < 1
        ):
            raise ValueError(
                "Invalid value received for argument `max_iter`. Expected an "
                f"int >= 1. Received: max_iter={max_iter!r}"
            )
        self.latent_layer = latent_layer
        self.max_iter = max_iter

    def latent_model(self):
        """Return a model from the model inputs to the latent layer output."""
        try:
            layer = self.model.get_layer(self.latent_layer)
        except ValueError as error:
            raise ValueError(
                f"The model {self.model.name!r} has no layer named "
                f"{self.latent_layer!r}, which `LinearProbe` reads the latents "
                "from. Pass the name of its bottleneck layer as "
                "`latent_layer`."
            ) from error
        return keras.Model(self.model.inputs, layer.output)

    def evaluate(self):
        encoder = self.latent_model()
        train_latents = self._latents(encoder, self.train_images)
        probe = make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=self.max_iter)
        )
        probe.fit(train_latents, self.train_labels)
        results = {}
        for level in self.noise_levels:
            noisy = add_pixel_noise(self.test_images, level, self.seed)
            test_latents = self._latents(encoder, noisy)
            results[level] = float(probe.score(test_latents, self.test_labels))
        return results

    def _latents(self, encoder, images):
        latents = self._predict(encoder, images)
        return np.reshape(latents, (len(images), -1))
