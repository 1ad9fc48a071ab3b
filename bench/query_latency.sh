#!/usr/bin/env bash
# `sccello query` end to end (whole process, warm page cache; hyperfine when installed) on an index of N cells
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
# hyperfine when installed; else 21 runs each, median / min / max of the wall time.
time_runs() {
  if command -v hyperfine >/dev/null; then
    hyperfine -N --warmup 3 --min-runs 20 --style basic "$*"
    return
  fi
  "$@" >/dev/null
  for _ in $(seq 21); do
    local s e
    s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N)
    echo $(((e - s) / 10000))
  done | sort -n | awk -v what="$*" '{ a[NR] = $1 } END {
    printf "%s\n  median %.1f ms  (min %.1f, max %.1f, %d runs)\n", what, a[int((NR + 1) / 2)] / 100, a[1] / 100, a[NR] / 100, NR }'
}
time_runs "$S" --store "$STORE" query big --cell "big/$CELL" --k 20
time_runs "$S" --store "$STORE" query big --cell "big/$CELL" --k 20 --under CL:0000623
time_runs "$S" --store "$STORE" query big --cell "big/$CELL" --k 20 --exact
time_runs "$S" --store "$STORE" ontology ancestors CL:0000236
