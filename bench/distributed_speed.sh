#!/usr/bin/env bash
# Data-parallel training speed on this machine (docs/distributed.md): for the demo model
# (model/configs/demo.json) and the default model (ModelConfig defaults, 6 x 256, max_len 256 here),
#   - 1 worker x 2 threads  vs  2 workers (--nproc 2, Gloo) x 1 thread, cells/s of the last log window;
#   - with 2 workers: bytes all-reduced per optimiser step and the time rank 0 is blocked waiting for
#     the all-reduce (what the overlap with backward did not hide, load imbalance included).
# Same cells, same global batch (16 x grad-accum 1), all four losses. Usage:
#   bench/distributed_speed.sh [BUILD_DIR] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
STEPS=${2:-30}
SCCELLO="$BUILD/cli/sccello"
TMP=${TMPDIR:-/tmp}/sccello-distributed-speed
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296
rm -rf "$TMP" && mkdir -p "$TMP"
"$SCCELLO" --store "$TMP/store" ontology import data/ontology/cl-basic-2022-12-15.obo >/dev/null
"$SCCELLO" --store "$TMP/store" cells import data/cells/pbmc3k_seurat/pbmc3k_seurat.h5ad --dataset pbmc3k >/dev/null
cat >"$TMP/default.json" <<'EOF'
{"model": {}, "train": {"max_len": 256, "warmup_steps": 5, "val_fraction": 0.0}}
EOF

LOG_EVERY=$((STEPS / 3))
run() {  # name config threads extra...
  local name=$1 config=$2 threads=$3
  shift 3
  "$SCCELLO" --store "$TMP/store" --threads "$threads" train --config "$config" --datasets pbmc3k \
    --steps "$STEPS" --log-every "$LOG_EVERY" --batch-size 16 --grad-accum 1 --checkpoint-every 100000 \
    --val-fraction 0 --out "$TMP/$name" "$@" >"$TMP/$name.log" 2>&1
  local cells
  cells=$(sed -n 's/.*; \([0-9.]*\) cells\/s$/\1/p' "$TMP/$name.log")
  printf "%-8s %-22s %10s cells/s  %s\n" "$(basename "$config" .json)" "$name" "$cells" \
    "$(grep -o 'data-parallel: .*' "$TMP/$name.log" || true)"
}

echo "steps $STEPS, global batch 16 cells, cells/s of the last $LOG_EVERY steps; nproc $(nproc)"
for config in model/configs/demo.json "$TMP/default.json"; do
  run 1x2threads "$config" 2
  run 2x1thread "$config" 1 --nproc 2
  run 2x1thread-global "$config" 1 --nproc 2 --global-negatives
  run 1x1thread "$config" 1
done
