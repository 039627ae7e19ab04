#!/usr/bin/env bash
# Build the Python package (python/, pyproject.toml) into a virtual
# environment under target/ and run its pytest suite. `make test` runs it
# after `cargo test`, whose optimised build of the library it reuses (the dev
# and test profiles are both opt-level 2, see Cargo.toml).
#
# Needs python3 with the venv module (Debian: python3-venv, which `make deps`
# installs) and PyPI for maturin, numpy and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/python-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check "maturin>=1.5,<2" "numpy>=1.21" "pytest>=7"
# `maturin develop` installs the package into the active virtual environment.
VIRTUAL_ENV="$PWD/$venv" PATH="$PWD/$venv/bin:$PATH" "$venv/bin/maturin" develop -q
"$venv/bin/python" -m pytest -q python/tests "$@"
