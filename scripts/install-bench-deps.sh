#!/usr/bin/env bash
# Optional: the Python packages the comparison scripts in bench/ use (networkx for PPR parity,
# numpy/scipy/h5py/anndata for the tokenization reference). Not needed to build or test sccello.
set -euo pipefail
exec "$(dirname "$0")/apt-install-missing.sh" python3 python3-numpy python3-scipy python3-h5py \
  python3-anndata python3-networkx hdf5-tools python3-sklearn python3-igraph python3-leidenalg hyperfine bc
