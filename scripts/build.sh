#!/usr/bin/env bash
# Configures and builds sccello into build/ (or $SCCELLO_BUILD_DIR) with Ninja and ccache.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${SCCELLO_BUILD_DIR:-build}
JOBS=${SCCELLO_JOBS:-$(nproc)}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release ${SCCELLO_CMAKE_ARGS:-}
fi
cmake --build "$BUILD_DIR" -j "$JOBS"
