"""Keras callbacks that evaluate models during `model.fit`."""
