"""Noise-Injected Hopfield Retrieval (NIHR) for Keras 3."""

from keras_nihr import diagnostics
from keras_nihr import layers
from keras_nihr import ops
from keras_nihr.diagnostics import memory_usage
from keras_nihr.diagnostics import num_memories_in_use
from keras_nihr.layers import HopfieldRetrieval
from keras_nihr.ops import energy
from keras_nihr.ops import retrieval_step

__version__ = "0.1.0"

__all__ = [
    "HopfieldRetrieval",
    "diagnostics",
    "energy",
    "layers",
    "memory_usage",
    "num_memories_in_use",
    "ops",
    "retrieval_step",
]
