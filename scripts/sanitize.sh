#!/usr/bin/env bash
# Builds the non-LibTorch libraries, their tests and the light `sccello` CLI with ASan + UBSan
# (-DSCCELLO_SANITIZE=ON, cmake/sanitize.cmake) into build-asan/ (or $SCCELLO_ASAN_DIR) and runs
# ctest there. No LibTorch (-DSCCELLO_WITH_TORCH=OFF), so nothing that needs the model is built
# or run. Extra arguments go to ctest (e.g. -R store). Any sanitizer report fails its test.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${SCCELLO_ASAN_DIR:-build-asan}
JOBS=${SCCELLO_JOBS:-$(nproc)}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSCCELLO_SANITIZE=ON \
    -DSCCELLO_WITH_TORCH=OFF -DSCCELLO_BUILD_BENCH=OFF
fi
cmake --build "$BUILD_DIR" -j "$JOBS"
# detect_leaks=0: RocksDB and libhdf5 keep process-lifetime allocations; halt on the first error.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:halt_on_error=1:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=86}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" "$@"
