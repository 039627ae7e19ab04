#!/bin/bash
# Split one instance, run its parts as an Indexed Job, then join:
#   IMAGE=registry/reluverify:tag deploy/k8s/run-split.sh MODEL SPEC PARTS DIR [TIMEOUT]
# with MODEL, SPEC and DIR relative to the volume. The parts Job gets as
# many completions as split wrote parts (its log's first number: phase sets
# of a region with few unstable neurons can be fewer than PARTS), and none
# when split's short search settled the instance: then the join reports it.
set -euo pipefail
here=$(dirname "$(realpath "$0")")
export IMAGE=${IMAGE:?set IMAGE to the image built from the Dockerfile} MODEL=$1 SPEC=$2 PARTS=$3 DIR=$4
export TIMEOUT=${5:-3600}
# Only these are filled in: $JOB_COMPLETION_INDEX is for the pods' shell.
vars='${IMAGE} ${LIST} ${SHARDS} ${OUT} ${EXPECTED} ${TIMEOUT_CAP} ${MODEL} ${SPEC} ${PARTS} ${DIR} ${TIMEOUT}'
kubectl apply -f "$here/pvc.yaml"
kubectl delete job reluverify-split reluverify-parts reluverify-join --ignore-not-found
envsubst "$vars" < "$here/split.yaml" | kubectl apply -f -
kubectl wait --for=condition=complete --timeout=1h job/reluverify-split
written=$(kubectl logs job/reluverify-split | tail -1)
if [[ $written != settled* ]]; then
  PARTS=${written%% *}
  envsubst "$vars" < "$here/split-parts.yaml" | kubectl apply -f -
  kubectl wait --for=condition=complete --timeout=24h job/reluverify-parts
fi
envsubst "$vars" < "$here/split-join.yaml" | kubectl apply -f -
kubectl wait --for=condition=complete --timeout=1h job/reluverify-join || true
kubectl logs job/reluverify-join
