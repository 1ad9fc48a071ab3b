#!/usr/bin/env bash
# Pre-trains a small scCello model on CPU for a few minutes, embeds the held-out (validation)
# cells, and prints the loss curve summary and validation accuracies.
# Usage: scripts/demo-train.sh [BUILD_DIR] [STORE] [OUT_DIR]
#   BUILD_DIR  a built tree (default: build)          STORE  a store with a CL release and the
#   OUT_DIR    where runs go (default: demo-out)              dataset imported (default: sccello-store)
# Environment: SCCELLO_DEMO_DATASET (pbmc3k), SCCELLO_DEMO_STEPS (from model/configs/demo.json),
#              SCCELLO_DEMO_THREADS (number of cores), SCCELLO_DEMO_RELEASE (newest imported).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
STORE=${2:-sccello-store}
OUT=${3:-demo-out}
SCCELLO="$BUILD/cli/sccello"
DATASET=${SCCELLO_DEMO_DATASET:-pbmc3k}
THREADS=${SCCELLO_DEMO_THREADS:-$(nproc)}
RELEASE_ARGS=()
[ -n "${SCCELLO_DEMO_RELEASE:-}" ] && RELEASE_ARGS=(--release "$SCCELLO_DEMO_RELEASE")
STEP_ARGS=()
[ -n "${SCCELLO_DEMO_STEPS:-}" ] && STEP_ARGS=(--steps "$SCCELLO_DEMO_STEPS")

[ -x "$SCCELLO" ] || { echo "demo-train: $SCCELLO not found (build first)" >&2; exit 1; }
rm -rf "$OUT/run"
mkdir -p "$OUT"

echo "== pre-training a small scCello model on '$DATASET' (model/configs/demo.json, $THREADS threads)"
start=$(date +%s)
"$SCCELLO" --store "$STORE" "${RELEASE_ARGS[@]}" --threads "$THREADS" train --config model/configs/demo.json \
  --datasets "$DATASET" "${STEP_ARGS[@]}" --out "$OUT/run"
echo "   training took $(( $(date +%s) - start )) s; metrics: $OUT/run/metrics.jsonl"

echo "== embedding the held-out cells"
"$SCCELLO" --store "$STORE" "${RELEASE_ARGS[@]}" --threads "$THREADS" embed --checkpoint "$OUT/run" \
  --dataset "$DATASET" --split val --out "$OUT/heldout_embeddings.h5ad"
"$SCCELLO" --store "$STORE" "${RELEASE_ARGS[@]}" --threads "$THREADS" embed --checkpoint "$OUT/run" \
  --dataset "$DATASET" --split val --out "$OUT/heldout_embeddings.tsv" > /dev/null

echo "== ablation: the same run with MGP only, 20 steps"
"$SCCELLO" --store "$STORE" "${RELEASE_ARGS[@]}" --threads "$THREADS" train --config model/configs/demo.json \
  --datasets "$DATASET" --losses mgp --steps 20 --out "$OUT/run-mgp" | grep -E "^(loss:|validation:)"
echo "== done: $OUT/heldout_embeddings.h5ad (obsm/X_sccello), $OUT/heldout_embeddings.tsv"
