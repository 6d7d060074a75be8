from keras_nihr.layers.hopfield_retrieval import HopfieldRetrieval

__all__ = ["HopfieldRetrieval"]
