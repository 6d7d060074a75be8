#!/usr/bin/env bash
# Create the virtual environment with keras-nihr, TensorFlow, JAX, PyTorch,
# the applications' and the tests' dependencies. Safe to run again: pip
# skips what is already installed.
#
# Environment variables:
#   KERAS_NIHR_VENV  folder of the environment (default: .venv)
#   TORCH_SPEC       pip requirement for PyTorch (default: torch==2.13.0).
#                    Set it before an unpinned install pulls a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${KERAS_NIHR_VENV:-.venv}
torch_spec=${TORCH_SPEC:-torch==2.13.0}

if [[ ! -x "$venv/bin/python" ]]; then
  echo "Creating the virtual environment in $venv"
  python3 -m venv "$venv"
fi
python="$venv/bin/python"
# Skip the installs when this pyproject.toml and PyTorch requirement were
# already installed here, so a second run needs no package index.
stamp="$venv/.keras-nihr-setup"
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1) $torch_spec"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]] &&
  "$python" -c "import keras_nihr" 2>/dev/null; then
  echo "Environment $venv is up to date"
  exit 0
fi
"$python" -m pip install --quiet --upgrade pip
# PyTorch first, so that the [all] extra's `torch` requirement is already
# met and pip does not fetch another build.
echo "Installing $torch_spec"
"$python" -m pip install --quiet "$torch_spec"
echo "Installing keras-nihr with all extras"
"$python" -m pip install --quiet --editable ".[all]"
"$python" -c "import keras, keras_nihr; print('keras', keras.__version__, \
'keras_nihr', keras_nihr.__version__)"
echo "$wanted" > "$stamp"
