#!/usr/bin/env bash
# The cluster flow on this machine, against the single-process answers
# (`make test-cluster`): N processes stand for a job array's tasks.
#
#   1. ACAS Xu, all 186 instances: `bench --shard I/SHARDS` run PARALLEL-wide,
#      `bench-merge`, and the per-instance verdicts compared with one `bench`.
#   2. ACAS Xu 4_2 and 3_3 property 2: `split --parts PARTS`, the lines of
#      commands.txt run PARALLEL-wide (task N runs line N, as a job array
#      would), `join`, compared with one `check`.
#   3. MNIST-FC 256x2 property 1 (eps 0.03) likewise through phase sets
#      (MNIST_PARTS parts).
#
# Prints the wall times and, for each split, the sum of the parts' times
# against the single time (the overhead of splitting). Exits 1 on any
# disagreement; skips (exit 0, with the reason) without the benchmarks.
set -euo pipefail

BIN=${BIN:-target/release/reluverify}
BENCH_ROOT=${BENCH_ROOT:-../shared/benchmarks}
OUT=${OUT:-target/cluster}
SHARDS=${SHARDS:-4}
PARTS=${PARTS:-8}
MNIST_PARTS=${MNIST_PARTS:-4}
PARALLEL=${PARALLEL:-2}
CAP=${CAP:-116}

acas=$BENCH_ROOT/acasxu
mnist=$BENCH_ROOT/mnistfc
if [[ ! -f $acas/acasxu_instances.csv || ! -f $mnist/mnist-net_256x2.onnx ]]; then
  echo "test-cluster: skipped: no ACAS Xu / MNIST-FC benchmarks under $BENCH_ROOT (set BENCH_ROOT)"
  exit 0
fi
BIN=$(realpath "$BIN")
export PATH="$(dirname "$BIN"):$PATH"
rm -rf "$OUT"
mkdir -p "$OUT"
failed=0

# Seconds since the epoch, with fractions.
now() { date +%s.%N; }
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN { print a - b }'; }
# onnx,vnnlib,verdict of a bench result file, sorted.
verdicts() { tail -n +2 "$1" | cut -d, -f1-3 | sort; }

echo "== ACAS Xu: $SHARDS shards, $PARALLEL at a time, against one run"
t=$(now)
"$BIN" bench "$acas/acasxu_instances.csv" --expected "$acas/expected.csv" --timeout-cap "$CAP" \
  --threads "$PARALLEL" --out "$OUT/acas-single.csv" > "$OUT/acas-single.txt"
single=$(elapsed "$t")
t=$(now)
seq 0 $((SHARDS - 1)) | xargs -P "$PARALLEL" -I{} "$BIN" bench "$acas/acasxu_instances.csv" \
  --timeout-cap "$CAP" --shard "{}/$SHARDS" --out "$OUT/acas-shard-{}.csv" > /dev/null 2>&1 || true
sharded=$(elapsed "$t")
"$BIN" bench-merge "$OUT"/acas-shard-*.csv --instances "$acas/acasxu_instances.csv" \
  --expected "$acas/expected.csv" --out "$OUT/acas-merged.csv" > "$OUT/acas-merged.txt"
tail -1 "$OUT/acas-merged.txt"
if diff <(verdicts "$OUT/acas-single.csv") <(verdicts "$OUT/acas-merged.csv") > "$OUT/acas-diff.txt"; then
  printf 'ACAS Xu: same %d verdicts; one run (%d threads) %.1f s, %d shards %d-wide %.1f s\n' \
    "$(verdicts "$OUT/acas-merged.csv" | wc -l)" "$PARALLEL" "$single" "$SHARDS" "$PARALLEL" "$sharded"
else
  echo "ACAS Xu: VERDICTS DIFFER (see $OUT/acas-diff.txt)"; failed=1
fi

# split_case NAME MODEL SPEC PARTS: split, run PARALLEL-wide, join, compare.
split_case() {
  local name=$1 model=$2 spec=$3 parts=$4 dir=$OUT/$1
  t=$(now)
  set +e
  "$BIN" check "$model" "$spec" --timeout "$CAP" > "$OUT/$name-single.txt"
  local want=$?
  set -e
  local single_s
  single_s=$(elapsed "$t")
  t=$(now)
  "$BIN" split "$model" "$spec" --parts "$parts" --out "$dir" --timeout "$CAP" > /dev/null
  local lines
  lines=$(wc -l < "$dir/commands.txt")
  # Task N runs line N of commands.txt, as a job array does.
  seq 1 "$lines" | xargs -P "$PARALLEL" -I{} sh -c "cd '$dir' && sed -n '{}p' commands.txt | sh"
  set +e
  "$BIN" join "$dir" > "$OUT/$name-join.txt"
  local got=$?
  set -e
  local wall
  wall=$(elapsed "$t")
  local sums
  sums=$(grep '^parts:' "$OUT/$name-join.txt" || echo "settled by the short search, no parts")
  printf '%s: single %s (exit %d) %.2f s; split %s (exit %d), %s; wall %.2f s %d-wide\n' "$name" \
    "$(head -1 "$OUT/$name-single.txt" | cut -d' ' -f1)" "$want" "$single_s" \
    "$(tail -1 "$OUT/$name-join.txt" | cut -d: -f1)" "$got" "$sums" "$wall" "$PARALLEL"
  if [[ $want != "$got" ]]; then
    echo "$name: VERDICTS DIFFER"; failed=1
  fi
}

echo "== split into $PARTS parts, $PARALLEL at a time, against one check"
split_case acas-4_2-prop2 "$acas/ACASXU_run2a_4_2_batch_2000.onnx" "$acas/prop_2.vnnlib" "$PARTS"
split_case acas-3_3-prop2 "$acas/ACASXU_run2a_3_3_batch_2000.onnx" "$acas/prop_2.vnnlib" "$PARTS"
split_case mnist-256x2-prop1 "$mnist/mnist-net_256x2.onnx" "$mnist/prop_1_0.03.vnnlib" "$MNIST_PARTS"

if [[ $failed != 0 ]]; then
  echo "test-cluster: FAILED"
  exit 1
fi
echo "test-cluster: every sharded and split run agrees with the single run"
