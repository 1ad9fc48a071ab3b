#!/usr/bin/env bash
# Installs the Debian packages sccello builds against, only those missing, and selects
# the OpenMP OpenBLAS as libblas.so.3 (LibTorch on Debian uses whatever BLAS is selected:
# the reference BLAS makes a training step >10x slower). Idempotent; safe to run often.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-openmp libgloo-dev
  librocksdb-dev libsqlite3-dev libhdf5-dev zlib1g-dev libdeflate-dev
  libboost-graph-dev
  libbenchmark-dev libgtest-dev
  nlohmann-json3-dev libcli11-dev
  libhnswlib-dev libigraph-dev libcpp-httplib-dev libblas-dev liblapack-dev
  python3-numpy python3-anndata python3-pandas python3-dev pybind11-dev python3-scipy
)

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
"$(dirname "$0")/apt-install-missing.sh" "${PACKAGES[@]}"
# Headless Chromium drives the web page test of `sccello serve` (tests/serve). It is large and
# optional: where it cannot be installed that one test skips with a message, nothing else needs it.
"$(dirname "$0")/apt-install-missing.sh" chromium ||
  echo "install-deps: chromium could not be installed; the serve web page test will be skipped" >&2

# Select OpenMP OpenBLAS for libblas.so.3 and liblapack.so.3 when it is installed.
select_alternative() {
  local name=$1 want
  want=$(update-alternatives --list "$name" 2>/dev/null | grep -m1 'openblas-openmp' || true)
  [ -n "$want" ] || return 0
  if [ "$(readlink -f "/etc/alternatives/$name" 2>/dev/null)" != "$(readlink -f "$want")" ]; then
    $SUDO update-alternatives --set "$name" "$want" >/dev/null
    echo "install-deps: $name -> $want"
  fi
}
select_alternative "libblas.so.3-$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)"
select_alternative "liblapack.so.3-$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)"
exit 0
