// CellMatrixReader: a cells x genes count matrix read sequentially in row blocks (h5ad, 10x MTX,
// 10x HDF5), plus its gene ids and per-cell annotations. Memory is bounded by the block size,
// not the number of cells. A reader owns its open file; use one per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "graph/status.h"

namespace sccello {

// CSR rows [first_row, first_row + num_rows()): columns ascending within a row.
struct RowBlock {
  int64_t first_row = 0;
  std::vector<int64_t> indptr{0};
  std::vector<int32_t> indices;
  std::vector<float> data;
  int64_t num_rows() const { return static_cast<int64_t>(indptr.size()) - 1; }
  void clear(int64_t first) {
    first_row = first;
    indptr.assign(1, 0);
    indices.clear();
    data.clear();
  }
};

class CellMatrixReader {
 public:
  virtual ~CellMatrixReader() = default;
  virtual int64_t num_cells() const = 0;
  virtual int64_t num_genes() const = 0;
  // Gene ids in column order as the file names them (Ensembl ids or symbols).
  virtual const std::vector<std::string>& gene_ids() const = 0;
  // Next block of up to `max_rows` rows; false at the end (check `status`).
  virtual bool next_block(int64_t max_rows, RowBlock* block) = 0;
  const Status& status() const { return status_; }
  // Cell ids (barcodes / obs index) of rows [first, first + count).
  virtual Result<std::vector<std::string>> cell_ids(int64_t first, int64_t count) = 0;
  // Annotation columns there are, and their values as text for rows [first, first + count)
  // ("" for missing). NotFound lists the columns there are.
  virtual std::vector<std::string> columns() const = 0;
  virtual Result<std::vector<std::string>> column_values(const std::string& column, int64_t first,
                                                         int64_t count) = 0;
  // Where the counts come from, e.g. "raw/X (CSR float32)".
  virtual std::string describe() const = 0;

 protected:
  // Validates a block this reader produced, before anyone indexes with it (check_row_block),
  // naming the cell (its id) and the gene in errors; `what` names the file and matrix.
  Status check_block(RowBlock* block, const std::string& what);
  Status status_;
};

// Checks a CSR block as read from a file: indptr starts at 0, never decreases and ends at the
// number of entries (= data size); every column lies in [0, num_cols); a row whose columns are
// not ascending is sorted (scipy allows unsorted rows), after which a column seen twice in one
// row is an error; every value is finite and non-negative. Errors name `what`, the row
// (first_row-based), `cell_name(row)` and `gene_name(col)` when given, and say what to do.
Status check_row_block(RowBlock* block, int64_t num_cols, const std::string& what,
                       const std::function<std::string(int64_t row)>& cell_name = {},
                       const std::function<std::string(int64_t col)>& gene_name = {});

// Names the columns in a NotFound message: "column 'x' not found in F; columns: a, b, c".
Status column_not_found(const std::string& column, const std::string& file, const std::vector<std::string>& columns);

}  // namespace sccello
