#!/bin/bash
# Cut one hard instance into PARTS, check them as an array, then join:
#   deploy/slurm/submit-split.sh MODEL SPEC PARTS DIR [per-part timeout in s]
# DIR must be on storage every node sees. The split itself (a short search,
# root bounds and writing the parts: seconds) runs here; an instance the
# short search settles is joined here at once.
set -euo pipefail
here=$(dirname "$(realpath "$0")")
DIR=$(realpath -m "$4")
reluverify split "$1" "$2" --parts "$3" --out "$DIR" ${5:+--timeout "$5"}
n=$(wc -l < "$DIR/commands.txt")
export DIR
if [[ $n -eq 0 ]]; then
  # split's short search settled the instance: nothing to schedule.
  exec reluverify join "$DIR"
fi
array=$(sbatch --parsable --chdir="$DIR" --array=1-"$n" --export=ALL "$here/split-part.sbatch")
join=$(sbatch --parsable --chdir="$DIR" --dependency=afterok:"$array" --export=ALL "$here/split-join.sbatch")
echo "parts: job $array ($n tasks); join: job $join (its log: $DIR/reluverify-join-$join.log)"
