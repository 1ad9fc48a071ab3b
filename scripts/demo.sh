#!/usr/bin/env bash
# sccello demo: installs what is missing, builds, then walks through the ontology store on the
# bundled Cell Ontology releases in a fresh temporary store. Each section is a function so later
# parts of the project (cells, targets, training) can add their own.
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
  run ontology diff 2021-12-16 2022-12-15 --tsv | awk -F'\t' 'NR == 1 || ($1 != last && ++n) { print; last = $1 }'
}

ontology_queries() {
  section "queries on release 2022-12-15"
  run ontology ancestors CL:0000236 --release 2022-12-15
  run ontology lca CL:0000624 CL:0000625 --release 2022-12-15
  run ontology search "alpha-beta T cell" --release 2022-12-15 | head -6 || true
  section "migrating terms obsoleted between releases"
  run ontology migrate CL:0000663 CP:0000000 CL:0008029 CL:0000236 --from 2021-12-16 --to 2022-12-15
}

setup
ontology_import
ontology_diff
ontology_queries
section "done"
