#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz with clang (ASan + UBSan) into build-fuzz/ and
# runs each for SECONDS seconds (default 60) on its seed corpus (tests/data/bad and bundled
# data), keeping what it learns in build-fuzz/corpus/<harness>. Findings: build-fuzz/crash-*.
# Usage: scripts/fuzz.sh [SECONDS] [HARNESS...]   (harnesses: obo cellxgene_json mtx h5ad checkpoint serve)
# `checkpoint` (model/checkpoint.cc, the checkpoint reader) links Debian's LibTorch (not
# instrumented itself; the reader and the harness are); its seed is tests/fuzz/seeds/.
# `serve` (the HTTP service's request handling over a real store) is built by CMake with clang in
# build-fuzz-serve/ (-DSCCELLO_FUZZ=ON, ASan + UBSan, no LibTorch); its first build takes minutes.
# allocator_may_return_null=1: a huge malloc inside libhdf5 (a corrupt size field) returns NULL,
# as it does outside ASan, and HDF5 reports an error; only a crash after that is a finding.
# h5ad runs in libFuzzer's fork mode (-fork=1, -ignore_crashes=1): libhdf5 1.10.8 itself hangs
# or crashes on some corrupt files (contained in the CLI by store/formats/hdf5_guard.h); those
# inputs are still saved as crash-*/timeout-* in build-fuzz/ for triage, the run goes on.
# Full logs: build-fuzz/<harness>.log.
# Needs clang-14 and libclang-rt-14-dev (Debian), libhdf5-dev, zlib, nlohmann-json3-dev.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/build-fuzz"
SECONDS_PER="${1:-60}"
shift || true
HARNESSES=("${@:-obo cellxgene_json mtx h5ad}")
read -r -a HARNESSES <<< "${HARNESSES[*]}"
CXX="${CXX:-clang++-14}"
FLAGS=(-std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I"$ROOT" -I/usr/include/hdf5/serial)
LIBS=(-L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5 -lz -lpthread)
COMMON=(graph/status.cc graph/ontology_graph.cc store/safe_text.cc store/text_lines.cc
        store/formats/obo_reader.cc store/formats/cellxgene_json_reader.cc)
MATRIX=(store/cells/cell_matrix.cc store/formats/hdf5_util.cc store/formats/h5ad_reader.cc
        store/formats/tenx_reader.cc)
mkdir -p "$OUT/obj" "$OUT/corpus"

compile() {  # object files, rebuilt when the source is newer
  local objs=()
  for src in "$@"; do
    local obj="$OUT/obj/${src//\//_}.o"
    if [[ ! -f "$obj" || "$ROOT/$src" -nt "$obj" ]]; then
      "$CXX" "${FLAGS[@]}" -c "$ROOT/$src" -o "$obj"
    fi
    objs+=("$obj")
  done
  echo "${objs[@]}"
}

seed() {  # seed corpus of one harness
  local dir="$OUT/corpus/$1"
  mkdir -p "$dir"
  case "$1" in
    obo) cp "$ROOT"/tests/data/bad/*.obo "$dir"/ ; head -c 60000 "$ROOT/data/ontology/cl-basic-2022-12-15.obo" > "$dir/cl_head.obo" ;;
    cellxgene_json) cp "$ROOT"/tests/data/bad/*.json "$dir"/ ;;
    mtx) for d in "$ROOT"/tests/data/bad/mtx_*/; do cp "$d/matrix.mtx" "$dir/$(basename "$d").mtx"; done ;;
    h5ad) cp "$ROOT"/tests/data/bad/*.h5ad "$ROOT"/tests/data/bad/*.h5 "$dir"/ ;;
    checkpoint) cp "$ROOT"/tests/fuzz/seeds/checkpoint_* "$dir"/ ;;
  esac
}

fuzz_serve() {
  local dir="$ROOT/build-fuzz-serve"
  if [ ! -f "$dir/build.ninja" ]; then
    CC=clang-14 CXX=clang++-14 cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DSCCELLO_WITH_TORCH=OFF -DSCCELLO_BUILD_BENCH=OFF -DSCCELLO_SANITIZE=ON -DSCCELLO_FUZZ=ON \
      -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link" -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link" > /dev/null
  fi
  echo "== building serve"
  cmake --build "$dir" --target serve_fuzz -j "$(nproc)"
  mkdir -p "$OUT/corpus/serve"
  printf '\x00/v1/terms/CL:0000236/ancestors\nrelease=2022-12-15\n' > "$OUT/corpus/serve/ancestors"
  printf '\x01/v1/search\n\n{"cell": "pbmc3k/0", "k": 5, "under": ["CL:0000084"]}' > "$OUT/corpus/serve/search"
  printf '\x01/v1/annotate\n\n{"embeddings": [[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]], "k": 3}' > "$OUT/corpus/serve/annotate"
  printf '\x00/v1/targets/row\nterm=CL:0000236&top=3\n' > "$OUT/corpus/serve/row"
  printf '\x00/v1/migrate\nterms=CL:0000663&from=2021-12-16&to=2022-12-15\n' > "$OUT/corpus/serve/migrate"
  echo "== running serve for ${SECONDS_PER}s"
  (cd "$OUT" && ASAN_OPTIONS=detect_leaks=0 "$dir/tests/serve_fuzz" -max_total_time="$SECONDS_PER" -max_len=4096 \
      -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 corpus/serve > "$OUT/serve.log" 2>&1 || true)
  tail -n 25 "$OUT/serve.log"
}

for h in "${HARNESSES[@]}"; do
  if [[ "$h" == serve ]]; then
    fuzz_serve
    continue
  fi
  srcs=("${COMMON[@]}")
  libs=("${LIBS[@]}")
  [[ "$h" == mtx || "$h" == h5ad ]] && srcs+=("${MATRIX[@]}")
  if [[ "$h" == checkpoint ]]; then
    srcs=(graph/status.cc store/safe_text.cc model/model_config.cc model/checkpoint.cc)
    libs=(-ltorch -ltorch_cpu -lc10 -lpthread)
  fi
  echo "== building $h"
  # shellcheck disable=SC2046
  "$CXX" "${FLAGS[@]}" "$ROOT/tests/fuzz/${h}_fuzz.cc" $(compile "${srcs[@]}") "${libs[@]}" -o "$OUT/${h}_fuzz"
  seed "$h"
  extra=()
  [[ "$h" == h5ad ]] && extra=(-fork=1 -ignore_crashes=1)
  echo "== running $h for ${SECONDS_PER}s"
  (cd "$OUT" && ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 "./${h}_fuzz" -max_total_time="$SECONDS_PER" -max_len=65536 \
      -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 "${extra[@]}" "corpus/$h" > "$OUT/${h}.log" 2>&1 || true)
  tail -n 25 "$OUT/${h}.log"
done
