"""Record order of a real tfds build, made offline from generated data.

Imports TensorFlow, so this file takes about 10 s on 2 CPU cores.
"""

import numpy as np
import pytest

from applications.data import tfds_source

NUM_EXAMPLES = 300


def _builder_class(tfds):
    class NihrOrderCheck(tfds.core.GeneratorBasedBuilder):
        """300 tiny images keyed 0..299, label 7 * key mod 10."""

        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            features = tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(4, 4, 1)),
                    "label": tfds.features.ClassLabel(num_classes=10),
                }
            )
            return tfds.core.DatasetInfo(
                builder=self,
                features=features,
                supervised_keys=("image", "label"),
            )

        def _split_generators(self, dl_manager):
            return {"test": self._generate_examples()}

        def _generate_examples(self):
            for key in range(NUM_EXAMPLES):
                image = np.full((4, 4, 1), key % 256, np.uint8)
                yield key, {"image": image, "label": (7 * key) % 10}

    return NihrOrderCheck


def test_restores_generation_order(tmp_path):
    pytest.importorskip("tensorflow")
    tfds = pytest.importorskip("tensorflow_datasets")
    builder = _builder_class(tfds)(data_dir=str(tmp_path))
    # Several shards, so that reading them in order matters too.
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(
            num_shards=4, try_download_gcs=False
        )
    )
    raw_images, _ = tfds.as_numpy(
        builder.as_dataset(split="test", batch_size=-1, as_supervised=True)
    )
    keys = np.arange(NUM_EXAMPLES)
    # Without the reordering the records are shuffled.
    assert not np.array_equal(raw_images[:, 0, 0, 0], keys % 256)
    images, labels = tfds_source.load_split(
        "nihr_order_check", "test", download=False, data_dir=tmp_path
    )
    np.testing.assert_array_equal(images[:, 0, 0, 0], keys % 256)
    np.testing.assert_array_equal(labels, (7 * keys) % 10)
