#!/usr/bin/env bash
# Start-up of whole commands, side by side in one run (hyperfine, warm page cache, median of 10+):
# `sccello` (no LibTorch, HDF5 or BLAS loaded) beside `sccello-model` (the same commands in the
# executable that links LibTorch: what every command cost when there was one binary).
# Usage: bench/startup.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
S="$BUILD/cli/sccello"
M="$BUILD/cli/sccello-model"
STORE=$(mktemp -d "${TMPDIR:-/tmp}/sccello-startup.XXXXXX")
trap 'rm -rf "$STORE"' EXIT
"$S" --store "$STORE/s" ontology import data/ontology/cl-basic-2022-12-15.obo >/dev/null
command -v hyperfine >/dev/null || { echo "hyperfine is needed (apt install hyperfine)"; exit 1; }
for cmd in "--version" "--store $STORE/s ontology ancestors CL:0000236" "--store $STORE/s targets show CL:0000624 CL:0000625"; do
  echo "== sccello $cmd"
  hyperfine -N --warmup 3 --min-runs 10 --style basic --export-json "$STORE/h.json" "$S $cmd" "$M $cmd" >/dev/null
  /usr/bin/python3 - "$STORE/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
for x in r:
    t = sorted(x["times"])
    print("  %-14s min %6.1f ms  median %6.1f ms  max %6.1f ms" % (x["command"].split()[0].rsplit("/", 1)[1],
          1000 * t[0], 1000 * x["median"], 1000 * t[-1]))
print("  ratio of medians: %.0fx" % (r[1]["median"] / r[0]["median"]))
PY
done
