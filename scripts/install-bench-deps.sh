#!/usr/bin/env bash
# Optional: the Python packages the comparison scripts in bench/ use (networkx for PPR parity,
# numpy/scipy/h5py/anndata for the tokenization reference). Not needed to build or test sccello.
# `--chromium` (or SCCELLO_INSTALL_CHROMIUM=1) also installs Debian's chromium, which the report
# test (tests/eval/report_test.cc) uses to render the HTML report headlessly; without it that
# test is skipped.
set -euo pipefail
packages=(python3 python3-numpy python3-scipy python3-h5py python3-anndata python3-networkx hdf5-tools)
if [ "${1:-}" = "--chromium" ] || [ "${SCCELLO_INSTALL_CHROMIUM:-0}" = "1" ]; then
  packages+=(chromium)
fi
exec "$(dirname "$0")/apt-install-missing.sh" "${packages[@]}"
