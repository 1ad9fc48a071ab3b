// H5adReader: reads an AnnData .h5ad through the HDF5 C API, streaming X in row blocks. Counts
// come from `layers/<layer>` when asked, else `raw/X` when present, else `X`; X may be CSR, CSC
// or dense. CSC is streamed through a temporary row-bucketed copy on disk (two passes over the
// column-major data; memory bounded by the bucket buffers). obs columns of every encoding
// (categorical new/old, strings, numbers, booleans) are read by row range.
#pragma once

#include <memory>
#include <string>

#include "store/cells/cell_matrix.h"

namespace sccello {

struct H5adOptions {
  std::string layer;        // "" = raw/X when present, else X
  bool prefer_raw = true;   // use raw/X (and raw/var) when present and no layer was asked for
  std::string var_column;   // "" = the var index (the dataset named by var's `_index` attribute)
  int64_t csc_bucket_rows = 4096;  // rows per bucket of the on-disk transpose of a CSC matrix
};

// Opens `path`; errors name the file and say what is missing (X, var ids, ...) or corrupt.
Result<std::unique_ptr<CellMatrixReader>> open_h5ad(const std::string& path, const H5adOptions& options);

}  // namespace sccello
