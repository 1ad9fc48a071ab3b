#!/usr/bin/env bash
# What --global-negatives does to quality: the demo model (model/configs/demo.json) trained twice on
# pbmc3k with 2 Gloo workers (--nproc 2), each rank taking 8 of the 16 cells of a micro-batch, with
# and without the embedding all-gather (the alignment loss sees 16 cells or the rank's 8), then the
# held-out (validation) cells embedded and scored with `sccello eval clustering` (scib NMI/ARI/ASW,
# Leiden) on their CL terms. Same seed, same cells, same steps. Usage:
#   bench/global_negatives_quality.sh [BUILD_DIR] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
STEPS=${2:-300}
SCCELLO="$BUILD/cli/sccello"
TMP=${TMPDIR:-/tmp}/sccello-global-negatives
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296
rm -rf "$TMP" && mkdir -p "$TMP"
"$SCCELLO" --store "$TMP/store" ontology import data/ontology/cl-basic-2022-12-15.obo >/dev/null
"$SCCELLO" --store "$TMP/store" cells import data/cells/pbmc3k_seurat/pbmc3k_seurat.h5ad --dataset pbmc3k >/dev/null

for mode in local global; do
  extra=()
  [ "$mode" = global ] && extra=(--global-negatives)
  "$SCCELLO" --store "$TMP/store" --threads 1 train --config model/configs/demo.json --datasets pbmc3k \
    --steps "$STEPS" --warmup $((STEPS / 10)) --nproc 2 --out "$TMP/$mode" "${extra[@]}" >"$TMP/$mode.log" 2>&1
  "$SCCELLO" --store "$TMP/store" --threads 2 embed --checkpoint "$TMP/$mode" --dataset pbmc3k --split val \
    --out "$TMP/$mode.tsv" >/dev/null
  echo "== $mode negatives: $(grep -o 'loss: step.*' "$TMP/$mode.log")"
  "$SCCELLO" --threads 2 eval clustering --embeddings "$TMP/$mode.tsv" --label-column term_id
done
