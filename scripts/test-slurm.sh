#!/usr/bin/env bash
# The cluster flow through Slurm (`make test-slurm`): the job arrays and
# afterok dependencies of deploy/slurm/, on a one-node Slurm
# (scripts/slurm-single-node.sh sets one up when sbatch is missing), against
# the single-process answers:
#   - ACAS Xu, all 186 instances: SHARDS array tasks, then bench-merge;
#   - ACAS Xu 4_2 property 2: split into PARTS, an array task per part, then join.
# Skips (exit 0, with the reason) without the benchmarks.
set -euo pipefail

BIN=${BIN:-target/release/reluverify}
BENCH_ROOT=${BENCH_ROOT:-../shared/benchmarks}
OUT=$(realpath -m "${OUT:-target/slurm}")
SHARDS=${SHARDS:-4}
PARTS=${PARTS:-8}
CAP=${CAP:-116}

acas=$BENCH_ROOT/acasxu
if [[ ! -f $acas/acasxu_instances.csv ]]; then
  echo "test-slurm: skipped: no ACAS Xu benchmark under $BENCH_ROOT (set BENCH_ROOT)"
  exit 0
fi
if ! command -v sbatch > /dev/null || ! sinfo > /dev/null 2>&1; then
  bash scripts/slurm-single-node.sh
fi
BIN=$(realpath "$BIN")
export PATH="$(dirname "$BIN"):$PATH"
rm -rf "$OUT"
mkdir -p "$OUT"
failed=0

# Wait until none of the jobs named is queued or running.
wait_jobs() {
  while [[ -n $(squeue -h -j "$1" 2> /dev/null) ]]; do sleep 2; done
}
verdicts() { tail -n +2 "$1" | cut -d, -f1-3 | sort; }

echo "== ACAS Xu through sbatch: $SHARDS array tasks, merge after ok"
start=$(date +%s)
submitted=$(TIMEOUT_CAP=$CAP deploy/slurm/submit-bench.sh "$acas/acasxu_instances.csv" "$SHARDS" "$OUT/acas" \
  "$acas/expected.csv")
echo "$submitted"
jobs=$(echo "$submitted" | sed -n 's/^shards: job \([0-9]*\); merge: job \([0-9]*\).*/\1,\2/p')
wait_jobs "$jobs"
echo "slurm wall time: $(($(date +%s) - start)) s"
merge_log=$OUT/acas/reluverify-merge-${jobs#*,}.log
tail -2 "$merge_log"
"$BIN" bench "$acas/acasxu_instances.csv" --timeout-cap "$CAP" --threads 2 --out "$OUT/acas-single.csv" > /dev/null
if [[ -f $OUT/acas/merged.csv ]] && diff <(verdicts "$OUT/acas-single.csv") <(verdicts "$OUT/acas/merged.csv"); then
  echo "ACAS Xu: the merged verdicts of the Slurm run are the single run's"
else
  echo "ACAS Xu: VERDICTS DIFFER or no merged.csv (see $merge_log)"; failed=1
fi

echo "== ACAS Xu 4_2 property 2 through sbatch: $PARTS parts, join after ok"
model=$acas/ACASXU_run2a_4_2_batch_2000.onnx
spec=$acas/prop_2.vnnlib
submitted=$(deploy/slurm/submit-split.sh "$model" "$spec" "$PARTS" "$OUT/split-4_2" "$CAP" | tail -1)
echo "$submitted"
jobs=$(echo "$submitted" | sed -n 's/^parts: job \([0-9]*\) ([0-9]* tasks); join: job \([0-9]*\).*/\1,\2/p')
wait_jobs "$jobs"
join_log=$OUT/split-4_2/reluverify-join-${jobs#*,}.log
cat "$join_log"
set +e
"$BIN" check "$model" "$spec" --timeout "$CAP" > /dev/null
want=$?
set -e
got=$(tail -1 "$join_log" | cut -d: -f1)
if [[ $got == "$(echo holds violated | cut -d' ' -f$((want + 1)))" ]]; then
  echo "4_2 property 2: the join of the Slurm run agrees with the single check ($got)"
else
  echo "4_2 property 2: VERDICTS DIFFER (join: $got, single check exit $want)"; failed=1
fi

if [[ $failed != 0 ]]; then
  echo "test-slurm: FAILED"
  exit 1
fi
echo "test-slurm: the Slurm runs agree with the single runs"
