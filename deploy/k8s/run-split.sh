#!/bin/bash
# Split one instance, run its parts as an Indexed Job, then join:
#   IMAGE=registry/reluverify:tag deploy/k8s/run-split.sh MODEL SPEC PARTS DIR [TIMEOUT]
# with MODEL, SPEC and DIR relative to the volume. PARTS must be what split
# writes (phase sets of a region with few unstable neurons can be fewer).
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
envsubst "$vars" < "$here/split-parts.yaml" | kubectl apply -f -
kubectl wait --for=condition=complete --timeout=24h job/reluverify-parts
envsubst "$vars" < "$here/split-join.yaml" | kubectl apply -f -
kubectl wait --for=condition=complete --timeout=1h job/reluverify-join || true
kubectl logs job/reluverify-join
