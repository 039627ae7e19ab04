#!/usr/bin/env bash
# Build the Python package (python/, pyproject.toml) into the virtual
# environment target/python-venv, creating it if needed, with maturin, numpy
# and pytest and any further PyPI requirements given as arguments (e.g.
# `onnxruntime`). Shared by scripts/test-python.sh and `make check-forward`.
#
# Needs python3 with the venv module (Debian: python3-venv, which `make deps`
# installs) and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/python-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check "maturin>=1.5,<2" "numpy>=1.21" "pytest>=7" "$@"
# `maturin develop` installs the package into the active virtual environment.
VIRTUAL_ENV="$PWD/$venv" PATH="$PWD/$venv/bin:$PATH" "$venv/bin/maturin" develop -q
