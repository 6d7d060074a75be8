"""Clean MNIST and CIFAR-10 and their corrupted test sets.

Importing this package loads neither Keras nor TensorFlow. tfds is imported
only by the functions that read through it.
"""

from applications.data.catalog import corruption_names
from applications.data.catalog import corruption_pairs
from applications.data.catalog import severities
from applications.data.catalog import tfds_name
from applications.data.corrupted import SOURCES
from applications.data.corrupted import load_corrupted
from applications.data.generator import generate_corrupted
from applications.data.loaders import load_cifar10
from applications.data.loaders import load_dataset
from applications.data.loaders import load_mnist
from applications.data.loaders import subset_indices
from applications.data.npz_files import resolve_data_dir

__all__ = [
    "SOURCES",
    "corruption_names",
    "corruption_pairs",
    "generate_corrupted",
    "load_cifar10",
    "load_corrupted",
    "load_dataset",
    "load_mnist",
    "resolve_data_dir",
    "severities",
    "subset_indices",
    "tfds_name",
]
