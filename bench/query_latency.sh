#!/usr/bin/env bash
# `sccello query` end to end (whole process, warm page cache, hyperfine) on an index of N cells
# (default 100,000) resampled from pbmc3k and embedded by a trained checkpoint, plus the time of
# `index build` itself. Usage: bench/query_latency.sh CHECKPOINT [BUILD_DIR] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
CKPT=$1
BUILD=${2:-build}
N=${3:-100000}
S="$BUILD/cli/sccello"
TMP=${TMPDIR:-/tmp}/sccello-query-latency
mkdir -p "$TMP"
H5AD="$TMP/resampled_$N.h5ad"
[ -f "$H5AD" ] || /usr/bin/python3 bench/make_resampled_h5ad.py data/cells/pbmc3k_seurat/pbmc3k_seurat.h5ad "$H5AD" "$N"
STORE="$TMP/store_$N"
if [ ! -d "$STORE" ]; then
  "$S" --store "$STORE" ontology import data/ontology/cl-basic-2022-12-15.obo >/dev/null
  "$S" --store "$STORE" cells import "$H5AD" --dataset big | head -1
  /usr/bin/time -f "index build: %e s wall, %M KB peak RSS" "$S" --store "$STORE" --threads 1 index build \
    --checkpoint "$CKPT" --name big --datasets big
fi
"$S" --store "$STORE" index list
CELL=$("$S" --store "$STORE" cells show big 12345 | awk 'NR == 1 { print $2 }')
hyperfine -N --warmup 3 --min-runs 20 --style basic \
  "$S --store $STORE query big --cell big/$CELL --k 20" \
  "$S --store $STORE query big --cell big/$CELL --k 20 --under CL:0000623" \
  "$S --store $STORE query big --cell big/$CELL --k 20 --exact"
