#!/usr/bin/env bash
# The zero-shot quality study of docs/quality.md, on bundled data only. Each configuration is
# pre-trained on one labelled PBMC dataset and its embeddings of two datasets it never saw are
# scored with `sccello eval clustering` (scib NMI/ARI/ASW, AvgBio, kNN purity per label), beside
# the PCA-of-HVGs baseline:
#   split 3k: train pbmc3k (Seurat labels)  -> evaluate pbmc4k (clustifyr labels), pbmc68k_reduced (FACS)
#   split 4k: train pbmc4k (clustifyr->CL)   -> evaluate pbmc3k (Seurat labels),   pbmc68k_reduced (FACS)
# The PCA baseline is scored beside every run with the run's Leiden seed. Runs go two at a time,
# one thread each. One TSV row per (split, config, seed, evaluation set) is
# appended to OUT/results.tsv; bench/quality_table.py turns it into the table (mean ± sd).
# Usage: bench/quality_study.sh OUT [BUILD_DIR]
#   CONFIGS="full mgp none"  SEEDS="1 2 3"  SPLITS="3k 4k"  JOBS=2 (environment)
# Configuration names (flags added to `sccello train --config model/configs/demo.json`):
#   full     all four losses, PPR targets (the scCello recipe at demo size, 600 steps, L = 128)
#   mgp      masked gene prediction only (--losses mgp)
#   none     all losses, target none (coherence without the ontology's levels)
#   sp       shortest-path targets;  ic: information-content targets
#   L256 / L512   full with max_len (and position table) 256 / 512
#   long     full, 1,500 steps (long-none, long-mgp: the two ablations at 1,500 steps); long3k / long6k: 3,000 / 6,000
#   long3k-none / long3k-mgp: the two ablations at 3,000 steps; long3k-wide: hidden 128, FFN 256
#   long3k-wide-lr: long3k-wide at lr 1e-3 (3e-3 does not train at that width); -none / -mgp: its ablations
#   long3k-drop: long3k with dropout 0.1 (hidden and attention; the demo model's is 0.02)
#   lr1e3: full at lr 1e-3;  big: 6x256 (scCello default size), 300 steps
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: bench/quality_study.sh OUT [BUILD_DIR]}
BUILD=${2:-build}
SCCELLO="$(cd "$BUILD" && pwd)/cli/sccello"  # BUILD_DIR relative or absolute
CONFIGS=${CONFIGS:-full mgp none}
SEEDS=${SEEDS:-1 2 3}
SPLITS=${SPLITS:-3k 4k}
JOBS=${JOBS:-2}
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
STORE="$OUT/store"
P3K=data/cells/pbmc3k_seurat/pbmc3k_seurat.h5ad
P4K=data/cells/pbmc4k_soupx/pbmc4k_soupx.h5ad
P68K=data/cells/pbmc68k_reduced/10x_pbmc68k_reduced.h5ad

config_flags() {
  case "$1" in
    full) echo "" ;;
    mgp) echo "--losses mgp" ;;
    none) echo "--target none" ;;
    sp) echo "--target shortest_path" ;;
    ic) echo "--target ic" ;;
    L256) echo "--max-len 256 --max-positions 256" ;;
    L512) echo "--max-len 512 --max-positions 512" ;;
    long) echo "--steps 1500 --warmup 100" ;;
    long-none) echo "--steps 1500 --warmup 100 --target none" ;;
    long-mgp) echo "--steps 1500 --warmup 100 --losses mgp" ;;
    long3k) echo "--steps 3000 --warmup 200" ;;
    long6k) echo "--steps 6000 --warmup 400" ;;
    long3k-drop) echo "--steps 3000 --warmup 200 --dropout 0.1" ;;
    long3k-wide) echo "--steps 3000 --warmup 200 --hidden 128 --heads 4 --ffn 256" ;;
    long3k-wide-lr) echo "--steps 3000 --warmup 200 --hidden 128 --heads 4 --ffn 256 --lr 0.001" ;;
    long3k-wide-lr-none) echo "--steps 3000 --warmup 200 --hidden 128 --heads 4 --ffn 256 --lr 0.001 --target none" ;;
    long3k-wide-lr-mgp) echo "--steps 3000 --warmup 200 --hidden 128 --heads 4 --ffn 256 --lr 0.001 --losses mgp" ;;
    long3k-none) echo "--steps 3000 --warmup 200 --target none" ;;
    long3k-mgp) echo "--steps 3000 --warmup 200 --losses mgp" ;;
    lr1e3) echo "--lr 0.001" ;;
    big) echo "--layers 6 --hidden 256 --heads 8 --ffn 512 --steps 300 --lr 0.001" ;;
    *) echo "unknown configuration '$1'" >&2; return 1 ;;
  esac
}

# Evaluation sets of a split: name, file, label column, extra embed flags.
eval_sets() {
  case "$1" in
    3k) printf '%s\n' "pbmc4k $P4K clustifyr_label -" "pbmc68k $P68K bulk_labels --assume-normalized" ;;
    4k) printf '%s\n' "pbmc3k $P3K cell_type -" "pbmc68k $P68K bulk_labels --assume-normalized" ;;
  esac
}

prepare() {
  [ -f "$OUT/.prepared" ] && return 0
  rm -rf "$STORE"
  "$SCCELLO" --store "$STORE" ontology import data/ontology/cl-basic-2022-12-15.obo >/dev/null
  "$SCCELLO" --store "$STORE" cells import "$P3K" --dataset pbmc3k \
    --cl-map data/cells/pbmc3k_seurat/label_to_cl.tsv >/dev/null
  # The clustifyr map keys its labels by a `clustifyr_label` column; --cl-map reads `label`.
  sed '1s/^clustifyr_label/label/' data/cells/pbmc4k_soupx/clustifyr_to_cl.tsv >"$OUT/pbmc4k_cl_map.tsv"
  "$SCCELLO" --store "$STORE" cells import "$P4K" --dataset pbmc4k --label-column clustifyr_label \
    --cl-map "$OUT/pbmc4k_cl_map.tsv" >/dev/null
  touch "$OUT/.prepared"
}

# One run: train, then embed and score each evaluation set; appends rows to results.tsv.
one_run() {
  local split=$1 config=$2 seed=$3
  local run="$OUT/runs/$split-$config-$seed" train_set=pbmc3k
  [ "$split" = 4k ] && train_set=pbmc4k
  [ -f "$run/done" ] && return 0
  rm -rf "$run" && mkdir -p "$run"
  local start=$(date +%s.%N)
  # shellcheck disable=SC2046
  "$SCCELLO" --store "$STORE" --threads 1 train --config model/configs/demo.json --datasets "$train_set" \
    --seed "$seed" --out "$run/model" $(config_flags "$config") >"$run/train.log" 2>&1
  local train_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
  local cells_s=$(grep -o '[0-9.]* cells/s' "$run/train.log" | tail -1 | cut -d' ' -f1)
  while read -r name file column extra; do
    [ "$extra" = - ] && extra=""
    # shellcheck disable=SC2086
    "$SCCELLO" --store "$STORE" --threads 1 embed --checkpoint "$run/model" --h5ad "$file" $extra \
      --out "$run/$name.tsv" >"$run/embed_$name.log" 2>&1
    # The PCA baseline beside every run, with the run's Leiden seed: its spread is Leiden's noise.
    # shellcheck disable=SC2086
    "$SCCELLO" --threads 1 eval clustering --embeddings "$run/$name.tsv" --obs "$file" --label-column "$column" \
      --baseline pca --counts "$file" $extra --seed "$seed" --json >"$run/eval_$name.json" 2>"$run/eval_$name.err"
    /usr/bin/python3 - "$run/eval_$name.json" "$split" "$config" "$seed" "$name" "$cells_s" "$train_s" \
      >>"$OUT/results.tsv" <<'PY'
import json, sys
path, split, config, seed, name, cells_s, train_s = sys.argv[1:]
report = json.load(open(path))
for side, label in (("model", config), ("pca", "pca")):
    m = report[side]
    purity = json.dumps(m["label_purity"], separators=(",", ":"))
    print("\t".join([split, label, seed, name, "%.4f" % m["nmi"], "%.4f" % m["ari"], "%.4f" % m["asw_label"],
                     "%.4f" % m["avg_bio"], (cells_s or "") if side == "model" else "",
                     "%.0f" % float(train_s) if side == "model" else "", purity]))
PY
  done < <(eval_sets "$split")
  touch "$run/done"
}

export -f one_run config_flags eval_sets
export OUT STORE SCCELLO P3K P4K P68K

prepare
[ -f "$OUT/results.tsv" ] ||
  printf 'split\tconfig\tseed\teval\tnmi\tari\tasw_label\tavg_bio\ttrain_cells_s\ttrain_s\tlabel_purity\n' >"$OUT/results.tsv"
for split in $SPLITS; do for config in $CONFIGS; do for seed in $SEEDS; do
  echo "$split $config $seed"
done; done; done | xargs -P "$JOBS" -L 1 bash -c 'one_run "$0" "$1" "$2" && echo "done: $0 $1 seed $2"'
/usr/bin/python3 bench/quality_table.py "$OUT"
