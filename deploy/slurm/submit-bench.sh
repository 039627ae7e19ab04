#!/bin/bash
# Run an instance list as SHARDS array tasks, then merge them:
#   deploy/slurm/submit-bench.sh LIST SHARDS OUT [EXPECTED]
# OUT must be on storage every node sees; `reluverify` must be on the PATH
# of the compute nodes. Extra sbatch options (partition, account, time)
# go in SBATCH_* environment variables or #SBATCH lines.
set -euo pipefail
here=$(dirname "$(realpath "$0")")
LIST=$(realpath "$1") SHARDS=$2 OUT=$(realpath -m "$3") EXPECTED=${4:+$(realpath "$4")}
mkdir -p "$OUT"
export LIST SHARDS OUT EXPECTED TIMEOUT_CAP=${TIMEOUT_CAP:-}
array=$(sbatch --parsable --chdir="$OUT" --array=0-$((SHARDS - 1)) --export=ALL "$here/bench-shard.sbatch")
merge=$(sbatch --parsable --chdir="$OUT" --dependency=afterok:"$array" --export=ALL "$here/bench-merge.sbatch")
echo "shards: job $array; merge: job $merge (its log: $OUT/reluverify-merge-$merge.log)"
