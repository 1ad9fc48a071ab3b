// write_h5ad: writes a small AnnData .h5ad (anndata 0.8 layout) from an in-memory CSR matrix,
// as CSR, CSC or dense, with obs/var indexes and string obs columns. For tests and benchmark
// fixtures (layouts the bundled files lack, bad inputs); not a general AnnData writer.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "graph/status.h"
#include "store/cells/cell_matrix.h"

namespace sccello {

struct H5adWriteSpec {
  enum class Layout { kCsr, kCsc, kDense } layout = Layout::kCsr;
  int64_t num_genes = 0;
  RowBlock matrix;                       // all rows, first_row 0
  std::vector<std::string> cell_ids;     // obs index
  std::vector<std::string> gene_ids;     // var index
  std::vector<std::pair<std::string, std::vector<std::string>>> obs_columns;  // string columns
  bool write_x = true;                   // false: no X at all (a bad input)
  bool write_var_index = true;           // false: var without ids (a bad input)
};

Status write_h5ad(const std::string& path, const H5adWriteSpec& spec);

}  // namespace sccello
