#!/usr/bin/env bash
# VNN-COMP convention: run_instance.sh v1 CATEGORY ONNX VNNLIB RESULTS_FILE TIMEOUT
# Writes sat / unsat / timeout / unknown / error (and a counterexample for sat)
# to RESULTS_FILE.
set -uo pipefail
[ "$#" -eq 6 ] || { echo "usage: $0 v1 CATEGORY ONNX VNNLIB RESULTS_FILE TIMEOUT" >&2; exit 1; }
[ "$1" = "v1" ] || { echo "unsupported interface version '$1' (expected v1)" >&2; exit 1; }
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/target/release/reluverify"
if [ ! -x "$bin" ]; then
    echo "$bin is missing: run vnncomp/install_tool.sh v1 first" >&2
    echo error > "$5"
    exit 0
fi
threads="$(nproc 2>/dev/null || echo 1)"
"$bin" check "$3" "$4" --timeout "$6" --threads "$threads" --results "$5"
# 0 holds, 1 violated, 3 unknown: the result file says which. 2: input error,
# for which check already wrote `error`.
[ -s "$5" ] || echo error > "$5"
exit 0
