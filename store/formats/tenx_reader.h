// 10x Genomics readers: a Matrix Market folder (matrix.mtx[.gz] + genes.tsv (v2) or
// features.tsv[.gz] (v3) + barcodes.tsv[.gz]) and the HDF5 filtered_feature_bc_matrix.h5 (v3
// `matrix/` group, or the v2 per-genome group). Both stream cells in row blocks; an MTX file not
// sorted by barcode is loaded whole (10x writes it sorted). No per-cell annotations: labels come
// from a TSV joined on barcode (see cell_import.h).
#pragma once

#include <memory>
#include <string>

#include "store/cells/cell_matrix.h"

namespace sccello {

// `path` is the folder, or the matrix.mtx[.gz] file inside it.
Result<std::unique_ptr<CellMatrixReader>> open_tenx_mtx(const std::string& path);
Result<std::unique_ptr<CellMatrixReader>> open_tenx_h5(const std::string& path);

}  // namespace sccello
