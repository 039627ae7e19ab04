#!/usr/bin/env bash
# Check every instance of a VNN-COMP instance list once per neuron-bounds
# method, the methods in turn for each instance so that they share the
# machine's conditions, and write one CSV row per instance and method:
# onnx,vnnlib,method,verdict,seconds,unstable (unstable neurons on the
# whole region under that method's bounds).
#
# OPTION is the flag that takes the method: --split-bounds (default; the
# input-splitting search, ACAS Xu), --phase-bounds (the root of the
# phase-splitting search, MNIST-FC) or --bounds (the MILP strategy's big-M
# bounds). A summary per method goes to stderr.
#
# usage: scripts/compare-bounds.sh INSTANCES.csv CAP_SECONDS THREADS [OPTION] > out.csv
set -euo pipefail
csv=${1:?instances csv}; cap=${2:-5}; threads=${3:-2}; option=${4:---split-bounds}
root=$(dirname "$csv")
bin=${RELUVERIFY:-target/release/reluverify}
field() { sed -n "s/.*\"$1\": *\"\{0,1\}\([a-z0-9.e-]*\).*/\1/p" | head -1; }
echo "onnx,vnnlib,method,verdict,seconds,unstable"
while IFS=, read -r onnx vnnlib _ || [ -n "$onnx" ]; do
  [ -z "$onnx" ] && continue
  for method in interval symbolic optimised lp; do
    json=$("$bin" check "$root/$onnx" "$root/$vnnlib" "$option" "$method" --timeout "$cap" \
      --threads "$threads" --json 2>/dev/null | tr ',' '\n' || true)
    verdict=$(printf '%s' "$json" | field verdict)
    seconds=$(printf '%s' "$json" | field seconds)
    unstable=$(printf '%s' "$json" | field unstable)
    echo "$(basename "$onnx"),$(basename "$vnnlib"),$method,${verdict:-error},${seconds:-},${unstable:-}"
  done
done < "$csv" | tee >(awk -F, '
  { n[$3]++; t[$3] += $5; u[$3] += $6; if ($4 != "unknown" && $4 != "error") a[$3]++ }
  END { for (m in n) printf "%-9s %4d instances, %4d answered, total %.1f s, mean unstable %.1f\n", m, n[m], a[m], t[m], u[m] / n[m] > "/dev/stderr" }')
