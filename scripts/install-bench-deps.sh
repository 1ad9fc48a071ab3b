#!/usr/bin/env bash
# Optional: the Python packages the comparison scripts in bench/ use (networkx for PPR parity,
# numpy/scipy/h5py/anndata for the tokenization reference). Not needed to build or test sccello.
set -euo pipefail
PACKAGES=(python3 python3-numpy python3-scipy python3-h5py python3-anndata python3-networkx hdf5-tools)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-bench-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
