#!/usr/bin/env bash
# Build the Python package into the virtual environment target/python-venv
# (scripts/python-venv.sh) and run its pytest suite. `make test` runs it
# after `cargo test`, whose optimised build of the library it reuses (the dev
# and test profiles are both opt-level 2, see Cargo.toml).
#
# Needs python3 with the venv module (Debian: python3-venv, which `make deps`
# installs) and PyPI for maturin, numpy and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/python-venv.sh
target/python-venv/bin/python -m pytest -q python/tests "$@"
