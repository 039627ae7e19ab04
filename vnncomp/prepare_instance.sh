#!/usr/bin/env bash
# VNN-COMP convention: prepare_instance.sh v1 CATEGORY ONNX VNNLIB
# Checks that the model and property load; builds reluverify first (through
# install_tool.sh) if install_tool.sh has not been run.
set -euo pipefail
[ "$#" -eq 4 ] || { echo "usage: $0 v1 CATEGORY ONNX VNNLIB" >&2; exit 1; }
[ "$1" = "v1" ] || { echo "unsupported interface version '$1' (expected v1)" >&2; exit 1; }
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/target/release/reluverify"
if [ ! -x "$bin" ]; then
    bash "$root/vnncomp/install_tool.sh" v1 >&2
fi
# A 1 ms check loads and parses both files; exit code 2 means they are unusable.
set +e
"$bin" check "$3" "$4" --timeout 0.001 >/dev/null 2>&1
code=$?
set -e
[ "$code" -ne 2 ] || { echo "cannot load $3 or $4" >&2; exit 1; }
exit 0
