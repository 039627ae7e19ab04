#!/usr/bin/env bash
# Check every instance of a VNN-COMP instance list once per neuron-bounds
# method of the input-splitting search (--split-bounds), the methods in turn
# for each instance so that they share the machine's conditions, and write
# one CSV row per instance and method: onnx,vnnlib,method,verdict,seconds.
#
# usage: scripts/compare-split-bounds.sh INSTANCES.csv CAP_SECONDS THREADS > out.csv
set -euo pipefail
csv=${1:?instances csv}; cap=${2:-5}; threads=${3:-2}
root=$(dirname "$csv")
bin=${RELUVERIFY:-target/release/reluverify}
echo "onnx,vnnlib,method,verdict,seconds"
while IFS=, read -r onnx vnnlib _; do
  [ -z "$onnx" ] && continue
  for method in interval symbolic lp; do
    json=$("$bin" check "$root/$onnx" "$root/$vnnlib" --split-bounds "$method" --timeout "$cap" \
      --threads "$threads" --json 2>/dev/null || true)
    verdict=$(printf '%s' "$json" | sed -n 's/.*"verdict": *"\([a-z]*\)".*/\1/p' | head -1)
    seconds=$(printf '%s' "$json" | sed -n 's/.*"seconds": *\([0-9.e-]*\).*/\1/p' | head -1)
    echo "$(basename "$onnx"),$(basename "$vnnlib"),$method,${verdict:-error},${seconds:-}"
  done
done < "$csv"
