#!/usr/bin/env bash
# Whole-process import speed, side by side in one run: `sccello cells import` (fresh store each
# time) vs the reference-style Python tokenizer (bench/tokenize_reference_style.py: anndata +
# scipy, per-cell argsort), on pbmc3k (2,638 cells) and files resampled from it to 12k and 50k
# cells (built into $TMPDIR once by bench/make_resampled_h5ad.py). Prints min/median/max wall
# seconds of RUNS runs per side, the ratio of medians, and sccello's marginal cells/s with 2
# threads between the 12k and 50k files, the 1-thread import pinned to one core, and the peak
# RSS and CPU use of a 1-thread import. Usage: bench/import_speed.sh [BUILD_DIR] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
RUNS=${2:-3}
SCCELLO="$BUILD/cli/sccello"
PY=/usr/bin/python3
TMP=${TMPDIR:-/tmp}/sccello-import-speed
mkdir -p "$TMP"
PBMC=data/cells/pbmc3k_seurat/pbmc3k_seurat.h5ad
for n in 12000 50000; do
  [ -f "$TMP/resampled_$n.h5ad" ] || $PY bench/make_resampled_h5ad.py "$PBMC" "$TMP/resampled_$n.h5ad" "$n" >/dev/null
done

# `--threads 1` is one tokenizer thread; the next block is read (chunks inflated) and the
# previous one written on threads of their own. The "1 core" column pins that same command to
# one CPU (taskset -c 0), where the three take turns, as the Python reference runs.
ONE_CORE=""
command -v taskset >/dev/null && ONE_CORE="taskset -c 0"

# wall seconds of one command, its output discarded
wall() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
stats() { sort -g | awk '{v[NR]=$1} END {printf "%.3f %.3f %.3f", v[1], v[int((NR+1)/2)], v[NR]}'; }
import_once() {  # file threads [command prefix]
  rm -rf "$TMP/store"
  wall ${3:-} "$SCCELLO" --store "$TMP/store" --threads "$2" cells import "$1" --dataset d
}

printf "%-18s %8s  %-26s %-26s %8s\n" file cells "sccello s (min/med/max)" "python s (min/med/max)" ratio
declare -A MED2
for f in "$PBMC" "$TMP/resampled_12000.h5ad" "$TMP/resampled_50000.h5ad"; do
  cells=$($PY -c "import h5py,sys; f=h5py.File(sys.argv[1]); print(f['obs'][f['obs'].attrs['_index']].shape[0])" "$f")
  s=$(for i in $(seq "$RUNS"); do import_once "$f" 1; done | stats)
  p=$(for i in $(seq "$RUNS"); do wall $PY bench/tokenize_reference_style.py "$f" data/vocab; done | stats)
  s2=$(for i in $(seq "$RUNS"); do import_once "$f" 2; done | stats)
  s1=$(for i in $(seq "$RUNS"); do import_once "$f" 1 "$ONE_CORE"; done | stats)
  MED2[$cells]=$(echo "$s2" | awk '{print $2}')
  pmed=$(echo "$p" | awk '{print $2}')
  ratio=$(echo "$pmed / $(echo "$s" | awk '{print $2}')" | bc -l)
  ratio1=$(echo "$pmed / $(echo "$s1" | awk '{print $2}')" | bc -l)
  rm -rf "$TMP/store"  # peak RSS and CPU use of one more 1-thread import: RSS should not grow with the cells
  read -r rss cpu < <(/usr/bin/time -f "%M %P" "$SCCELLO" --store "$TMP/store" --threads 1 cells import "$f" --dataset d 2>&1 >/dev/null | tail -1)
  printf "%-18s %8s  %-26s %-26s %7.1fx   (CPU %s; 1 core: %s = %.1fx; 2 threads: %s; peak RSS %d MB)\n" \
    "$(basename "$f")" "$cells" "$s" "$p" "$ratio" "$cpu" "$s1" "$ratio1" "$s2" $((rss / 1024))
done
marginal=$(echo "(50000 - 12000) / (${MED2[50000]} - ${MED2[12000]})" | bc -l)
printf "marginal rate with 2 threads (12k -> 50k cells): %.0f cells/s\n" "$marginal"
