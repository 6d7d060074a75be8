"""Model builders of the study: autoencoders and ResNet-18."""
