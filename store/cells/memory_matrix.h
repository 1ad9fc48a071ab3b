// A CellMatrixReader over a count matrix that already lies in memory (a scipy CSR matrix or a
// dense row-major array handed over by the Python module): rows are copied into RowBlocks one
// block at a time, so the matrix itself is never copied whole. The caller owns the arrays, which
// must outlive the reader and not change while it reads. One reader per thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "store/cells/cell_matrix.h"

namespace sccello {

// A cells x genes matrix borrowed from the caller. CSR when `indptr` is set (row r's entries at
// indices/data[indptr[r] .. indptr[r+1])), else dense row-major rows x cols values.
struct BorrowedMatrix {
  int64_t rows = 0, cols = 0;
  const float* data = nullptr;
  const int32_t* indices = nullptr;  // CSR only
  const int64_t* indptr64 = nullptr; // CSR: one of indptr64 / indptr32, rows + 1 entries
  const int32_t* indptr32 = nullptr;
  int64_t nnz = 0;                   // CSR: entries of data and indices
  bool is_csr() const { return indptr64 || indptr32; }
  int64_t row_begin(int64_t r) const { return indptr64 ? indptr64[r] : indptr32[r]; }
};

// What an AnnData holds beside X: var ids, obs names and obs columns as text ("" = missing).
struct MatrixAnnotations {
  std::vector<std::string> gene_ids;                      // cols entries
  std::vector<std::string> cell_ids;                      // rows entries
  std::map<std::string, std::vector<std::string>> obs;   // column -> rows entries
  std::string describe = "in-memory matrix";              // e.g. "adata.raw.X (CSR float32)"
};

// Checks sizes (gene ids, cell ids, obs columns, CSR indptr bounds); errors name what is off.
Result<std::unique_ptr<CellMatrixReader>> open_memory_matrix(const BorrowedMatrix& matrix,
                                                             MatrixAnnotations annotations);

}  // namespace sccello
