#!/usr/bin/env bash
# sccello demo: installs what is missing, builds, then runs the main job end to end on bundled real
# data in a fresh embedded RocksDB store: import the Cell Ontology releases and query them, import and
# tokenize PBMC cells, look at the graph-derived targets, pre-train a small scCello model on CPU for a
# few minutes, embed held-out cells, run an ablation and a run against another release, and end
# with an HTML report (curves, clustering metrics beside the PCA baseline, an embedding map), kept at
# $SCCELLO_DEMO_REPORT (default ${TMPDIR:-/tmp}/sccello-demo-report.html).
# SCCELLO_DEMO_STEPS overrides the number of training steps (default: model/configs/demo.json).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${SCCELLO_BUILD_DIR:-build}
SCCELLO="$BUILD_DIR/cli/sccello"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sccello-demo.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export SCCELLO_STORE="$WORK/store"
ONTO=data/ontology

section() { printf '\n=== %s ===\n' "$*"; }
run() { printf '$ sccello %s\n' "$*"; "$SCCELLO" "$@"; }
# Like run, but shows only the first N lines (without SIGPIPE under pipefail).
run_head() {
  local n=$1; shift
  run "$@" > "$WORK/out.txt"
  head -n "$n" "$WORK/out.txt"
  [ "$(wc -l < "$WORK/out.txt")" -le "$n" ] || echo "..."
}

setup() {
  section "install and build"
  scripts/install-deps.sh
  scripts/build.sh
}

ontology_import() {
  section "import the bundled Cell Ontology releases into a fresh store ($SCCELLO_STORE)"
  for f in cl-basic-2021-12-16.obo cl-basic-2022-12-15.obo CL-ontology-v2024-01-04.json.gz \
           CL-ontology-v2025-01-08.json.gz; do
    run ontology import "$ONTO/$f"
  done
  section "re-importing identical content is a no-op"
  run ontology import "$ONTO/cl-basic-2022-12-15.obo"
  section "releases in the store"
  run ontology list
}

ontology_diff() {
  section "what changed from 2021-12-16 to 2022-12-15"
  run ontology diff 2021-12-16 2022-12-15 --summary
  echo "(a few lines of the full diff)"
  run ontology diff 2021-12-16 2022-12-15 --tsv > "$WORK/diff.tsv"
  awk -F'\t' 'NR == 1 || $1 != last { print; last = $1 }' "$WORK/diff.tsv"
}

ontology_queries() {
  section "queries on release 2022-12-15"
  run ontology ancestors CL:0000236 --release 2022-12-15
  run ontology lca CL:0000624 CL:0000625 --release 2022-12-15
  run_head 6 ontology search "alpha-beta T cell" --release 2022-12-15
  section "migrating terms obsoleted between releases"
  run ontology migrate CL:0000663 CP:0000000 CL:0008029 CL:0000236 --from 2021-12-16 --to 2022-12-15
}

cells_import() {
  section "import and tokenize PBMC 3k (2,638 cells, 9 labelled types) with CL terms from its obs column"
  run cells import data/cells/pbmc3k_seurat/pbmc3k_seurat.h5ad --dataset pbmc3k
  run cells list
  run_head 30 cells stats pbmc3k
  section "cells under T cell (CL:0000084) in release 2022-12-15, through the ontology"
  run_head 4 cells by-term CL:0000084 --descendants --release 2022-12-15
}

targets() {
  section "graph-derived targets: PPR similarity levels (scCello's default) and alternatives"
  run targets list
  run targets show CL:0000624 CL:0000625 --release 2022-12-15
  run targets row CL:0000236 --top 5 --release 2022-12-15
  run targets show --target shortest_path CL:0000624 CL:0000625 --release 2022-12-15
  echo "(all-pairs PPR of the release straight to NumPy: one kernel batch written into the file's matrix)"
  run targets matrix --target ppr --all --raw --release 2022-12-15 --out "$WORK/ppr.npy"
}

training() {
  section "pre-train a small scCello model (MGP + coherence + ontology alignment) and embed held-out cells"
  scripts/demo-train.sh "$BUILD_DIR" "$SCCELLO_STORE" "$WORK/out"
  section "the same corpus trained against another CL release (2021-12-16), no re-import, 20 steps"
  "$SCCELLO" train --config model/configs/demo.json --datasets pbmc3k --release 2021-12-16 --steps 20 \
    --out "$WORK/out/run-2021" > "$WORK/run-2021.log"
  grep -E "^(trained|loss:|validation:)" "$WORK/run-2021.log"
  section "embeddings of the held-out cells (first rows of the TSV)"
  awk -F'\t' 'NR <= 3 { print $1, $2, $3, $4, $5, "..." }' "$WORK/out/heldout_embeddings.tsv"
}

search_and_annotate() {
  section "cell search: index the pbmc3k cells with the trained model, then ask who is like whom"
  run index build --checkpoint "$WORK/out/run" --name pbmc --datasets pbmc3k
  run index list
  local cell
  cell=$("$SCCELLO" cells show pbmc3k 0 | awk 'NR == 1 { print $2 }')
  run_head 8 query pbmc --cell "pbmc3k/$cell" --k 5
  echo "(only hits under natural killer cell, through the ontology closure)"
  run_head 5 query pbmc --cell "pbmc3k/$cell" --k 3 --under CL:0000623
  section "annotate unseen cells (pbmc4k) with CL terms through the pbmc3k index"
  run annotate --index pbmc --h5ad data/cells/pbmc4k_soupx/pbmc4k_soupx.h5ad --out "$WORK/pbmc4k.annotated.h5ad" \
    --tsv "$WORK/pbmc4k.annotated.tsv"
  if /usr/bin/python3 -c "import anndata" 2>/dev/null; then
    echo "accuracy against pbmc4k's clustifyr labels (bench/annotate_accuracy.py, its own is_a closure):"
    /usr/bin/python3 bench/annotate_accuracy.py "$WORK/pbmc4k.annotated.h5ad" "$ONTO/cl-basic-2022-12-15.obo" \
      clustifyr_label data/cells/pbmc4k_soupx/clustifyr_to_cl.tsv
  fi
}

evaluation_report() {
  section "evaluate the held-out embeddings (scib clustering metrics beside the PCA-on-HVG baseline) and write a report"
  echo "(kNN purity per label: does each cell type, T-cell subtypes included, stay apart?)"
  run eval clustering --embeddings "$WORK/out/heldout_embeddings.h5ad" --label-column label \
    --baseline pca --counts data/cells/pbmc3k_seurat/pbmc3k_seurat.h5ad --per-label
  local args=(eval clustering --embeddings "$WORK/out/heldout_embeddings.h5ad" --label-column label
              --baseline pca --counts data/cells/pbmc3k_seurat/pbmc3k_seurat.h5ad --json)
  printf '$ sccello %s > %s\n' "${args[*]}" "$WORK/eval.json"
  "$SCCELLO" "${args[@]}" > "$WORK/eval.json"
  run report "$WORK/out/run" --eval "$WORK/eval.json" --embeddings "$WORK/out/heldout_embeddings.h5ad" \
    --label-column label --title "sccello demo: pbmc3k" --out "$WORK/report.html"
  local keep=${SCCELLO_DEMO_REPORT:-${TMPDIR:-/tmp}/sccello-demo-report.html}
  cp "$WORK/report.html" "$keep"
  awk '/"model": \{/ { side = "model" } /"pca": \{/ { side = "pca" }
       /"avg_bio"/ { gsub(/[",]/, "", $2); v[side] = $2 }
       END { printf "AvgBio on the held-out cells: model %.3f vs PCA baseline %.3f\n", v["model"], v["pca"] }' \
    "$WORK/eval.json"
  echo "report (loss curves, evaluation table, embedding map): $keep"
}

setup
ontology_import
ontology_diff
ontology_queries
cells_import
targets
training
search_and_annotate
evaluation_report
section "done"
