#!/usr/bin/env bash
# Check the VNN-LIB 2.0 support against the standard's own PyPI packages
# (`vnnlib`, the standard's parser; `vnnlib-test-solver`, the reference of
# the solver command line), installed into target/vnnlib2-venv. `make
# vnnlib2-conformance` runs it on the release build; see
# scripts/vnnlib2-conformance.py for what is checked. The ACAS Xu
# properties are included when the benchmark folder (argument 2, default
# ../shared/benchmarks/acasxu) exists.
#
# usage: scripts/vnnlib2-conformance.sh [BIN] [ACASXU_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-target/release/reluverify}
acas=${2:-../shared/benchmarks/acasxu}
venv=target/vnnlib2-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check "vnnlib>=1.0.2,<2" "vnnlib-test-solver==2.0.1"
if [ -d "$acas" ]; then
    exec "$venv/bin/python" scripts/vnnlib2-conformance.py "$bin" "$acas"
fi
echo "note: $acas not found; the ACAS Xu properties are left out"
exec "$venv/bin/python" scripts/vnnlib2-conformance.py "$bin"
