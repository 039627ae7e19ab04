#!/bin/bash
# Shard an instance list over an Indexed Job, then merge:
#   IMAGE=registry/reluverify:tag deploy/k8s/run-bench.sh LIST SHARDS OUT EXPECTED
# with LIST, OUT and EXPECTED relative to the volume (e.g. acasxu/acasxu_instances.csv
# acasxu-out acasxu/expected.csv). Needs kubectl and envsubst (gettext).
set -euo pipefail
here=$(dirname "$(realpath "$0")")
export IMAGE=${IMAGE:?set IMAGE to the image built from the Dockerfile} LIST=$1 SHARDS=$2 OUT=$3 EXPECTED=$4
export TIMEOUT_CAP=${TIMEOUT_CAP:-116}
# Only these are filled in: $JOB_COMPLETION_INDEX is for the pods' shell.
vars='${IMAGE} ${LIST} ${SHARDS} ${OUT} ${EXPECTED} ${TIMEOUT_CAP} ${MODEL} ${SPEC} ${PARTS} ${DIR} ${TIMEOUT}'
kubectl apply -f "$here/pvc.yaml"
kubectl delete job reluverify-shards reluverify-merge --ignore-not-found
envsubst "$vars" < "$here/bench-shards.yaml" | kubectl apply -f -
kubectl wait --for=condition=complete --timeout=24h job/reluverify-shards
envsubst "$vars" < "$here/bench-merge.yaml" | kubectl apply -f -
kubectl wait --for=condition=complete --timeout=1h job/reluverify-merge || true
kubectl logs job/reluverify-merge
