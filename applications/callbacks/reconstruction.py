"""SSIM of reconstructions of noisy images, as a `model.fit` callback."""

import numpy as np
from skimage.metrics import structural_similarity

from applications.callbacks.noisy_evaluation import DEFAULT_NOISE_LEVELS
from applications.callbacks.noisy_evaluation import NoisyEvaluation
from applications.callbacks.noisy_evaluation import add_pixel_noise
from applications.callbacks.noisy_evaluation import check_images

# Settings of Wang et al. (2004), "Image quality assessment: from error
# visibility to structural similarity": an 11x11 Gaussian window with
# standard deviation 1.5 pixels (scikit-image truncates it at 3.5 sigma)
# and population rather than sample covariances.
SSIM_OPTIONS = {
    "data_range": 1.0,
    "gaussian_weights": True,
    "sigma": 1.5,
    "use_sample_covariance": False,
}


def mean_ssim(references, images):
    """Return the mean SSIM between two batches of `(H, W, C)` images.

    Uses scikit-image `structural_similarity` with `SSIM_OPTIONS` on each
    pair; for several channels SSIM is averaged over the channels. Both
    batches are on the [0, 1] scale. Images must be at least 11 pixels on
    each side.
    """
    references = np.asarray(references, dtype=np.float32)
    images = np.asarray(images, dtype=np.float32)
    if references.shape != images.shape:
        raise ValueError(
            "Expected batches of the same shape. Received: "
            f"references.shape={references.shape}, images.shape="
            f"{images.shape}"
        )
    values = [
        structural_similarity(reference, image, channel_axis=-1, **SSIM_OPTIONS)
        for reference, image in zip(references, images, strict=True)
    ]
    return float(np.mean(values))


class ReconstructionSSIM(NoisyEvaluation):
    """Score reconstructions of noisy images against the clean images.

    At each scheduled epoch end the callback adds Gaussian noise of
    standard deviation sigma to the evaluation images, for each pixel
    noise level sigma (on the [0, 1] pixel scale, clipped to [0, 1]). It
    runs `model.predict` on the noisy images and compares the
    reconstructions with the clean images by SSIM (see `SSIM_OPTIONS`:
    scikit-image `structural_similarity`, `data_range=1.0`, 11x11
    Gaussian window with sigma 1.5). The mean over images goes into
    `logs["ssim_sigma_0.30"]` and so on. SSIM is 1 for a perfect
    reconstruction and lower otherwise.

    Place the callback before `CSVLogger` or `TensorBoard` in the
    `callbacks` list, so they see its values.

    Args:
        images: Clean evaluation images, float, shape `(N, H, W, C)`, values
            in [0, 1]. The model must output images of the same shape.
        noise_levels: Sequence of pixel noise standard deviations on the
            [0, 1] scale. Default: 0, 0.1, ..., 1.0.
        frequency: None to evaluate only after the last epoch, or an int k
            to evaluate after every k-th epoch and after the last one. The
            other epochs log NaN under the same keys.
        seed: Int >= 0, seed of the pixel noise. Every evaluation with the
            same seed uses the same noisy images.
        batch_size: Positive int, the batch size of `model.predict`.
        verbose: 0 for silence, 1 to print one line per evaluation.

    Attributes:
        results: Dict from noise level to mean SSIM of the latest
            evaluation.

    Example:

    >>> ssim = ReconstructionSSIM(x_test[:500], noise_levels=[0.0, 0.5])
    >>> history = model.fit(x_train, x_train, epochs=2, callbacks=[ssim])
    >>> history.history["ssim_sigma_0.50"]  # [nan, SSIM after epoch 2]
    """

    metric = "ssim"

    def __init__(
        self,
        images,
        noise_levels=DEFAULT_NOISE_LEVELS,
        frequency=None,
        seed=0,
        batch_size=256,
        verbose=0,
    ):
        super().__init__(noise_levels, frequency, seed, batch_size, verbose)
        self.images = check_images(images, "images")

    def evaluate(self):
        results = {}
        for level in self.noise_levels:
            noisy = add_pixel_noise(self.images, level, self.seed)
            reconstructions = self._predict(self.model, noisy)
            results[level] = mean_ssim(self.images, reconstructions)
        return results
