#!/usr/bin/env bash
# Set up the environment and run the main experiment, the MNIST autoencoder
# comparison. Arguments go to `python -m applications.autoencoder`.
#
# Environment variables:
#   KERAS_BACKEND        backend to train with (default: tensorflow, the
#                        fastest of the three for this model on a CPU)
#   KERAS_NIHR_DATA_DIR  folder with mnist.npz; without it and without
#                        --data-dir, tensorflow-datasets downloads MNIST
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export KERAS_BACKEND=${KERAS_BACKEND:-tensorflow}
echo "Running the autoencoder experiment on $KERAS_BACKEND"
exec "${KERAS_NIHR_VENV:-.venv}/bin/python" -m applications.autoencoder \
  --output outputs/autoencoder "$@"
