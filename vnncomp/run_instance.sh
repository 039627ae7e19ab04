#!/usr/bin/env bash
# VNN-COMP convention: run_instance.sh v1 CATEGORY ONNX VNNLIB RESULTS_FILE TIMEOUT
# Writes sat / unsat / timeout / unknown / error (and a counterexample for sat)
# to RESULTS_FILE.
set -uo pipefail
[ "$#" -eq 6 ] || { echo "usage: $0 v1 CATEGORY ONNX VNNLIB RESULTS_FILE TIMEOUT" >&2; exit 1; }
[ "$1" = "v1" ] || { echo "unsupported interface version '$1' (expected v1)" >&2; exit 1; }
root="$(cd "$(dirname "$0")/.." && pwd)"
threads="$(nproc 2>/dev/null || echo 1)"
"$root/target/release/reluverify" check "$3" "$4" --timeout "$6" --threads "$threads" --results "$5"
# 0 holds, 1 violated, 3 unknown: the result file says which. 2: input error,
# for which check already wrote `error`.
[ -s "$5" ] || echo error > "$5"
exit 0
