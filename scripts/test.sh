#!/usr/bin/env bash
# Set up the environment, then run the whole test suite once per backend
# (TensorFlow, JAX, PyTorch), each in its own process. Extra arguments go
# to scripts/run_tests.py, e.g. `--backends jax` or `-- -k energy`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec "${KERAS_NIHR_VENV:-.venv}/bin/python" scripts/run_tests.py "$@"
