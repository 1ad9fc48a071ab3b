#include "store/cells/cell_matrix.h"

#include <algorithm>
#include <cfloat>
#include <climits>
#include <cmath>

#include "store/safe_text.h"

namespace sccello {
namespace {

std::string number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// Sorts one row's (column, value) pairs by column.
void sort_row(int32_t* cols, float* vals, int64_t n) {
  std::vector<std::pair<int32_t, float>> tmp(n);
  for (int64_t i = 0; i < n; ++i) tmp[i] = {cols[i], vals[i]};
  std::stable_sort(tmp.begin(), tmp.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (int64_t i = 0; i < n; ++i) {
    cols[i] = tmp[i].first;
    vals[i] = tmp[i].second;
  }
}

// Names a row, and a column, for messages.
struct Namer {
  const std::string& what;
  const RowBlock& block;
  const std::function<std::string(int64_t)>& cell_name;
  const std::function<std::string(int64_t)>& gene_name;

  std::string row(int64_t r) const {
    int64_t at = block.first_row + r;
    std::string id = cell_name ? cell_name(at) : "";
    return "row " + std::to_string(at) + (id.empty() ? "" : " (cell '" + replace_invalid_utf8(id) + "')");
  }
  std::string col(int64_t c) const {
    std::string id = gene_name ? gene_name(c) : "";
    return "column " + std::to_string(c) + (id.empty() ? "" : " (gene '" + replace_invalid_utf8(id) + "')");
  }
};

Status check_indptr(const RowBlock& b, const Namer& name) {
  const auto& p = b.indptr;
  if (p.empty() || p[0] != 0) return Status::corruption(name.what + "/indptr: does not start at 0; the file is corrupt");
  for (size_t r = 0; r + 1 < p.size(); ++r)
    if (p[r + 1] < p[r])
      return Status::corruption(name.what + "/indptr: decreases at " + name.row(static_cast<int64_t>(r)) + " (" +
                                std::to_string(p[r]) + " then " + std::to_string(p[r + 1]) +
                                "); indptr must never decrease: the file is corrupt, re-export it");
  if (p.back() != static_cast<int64_t>(b.indices.size()) || b.indices.size() != b.data.size())
    return Status::corruption(name.what + "/indptr: ends at " + std::to_string(p.back()) + " but there are " +
                              std::to_string(b.indices.size()) + " indices and " + std::to_string(b.data.size()) +
                              " values; the file is corrupt, re-export it");
  return Status::ok();
}

// The common case in one branch-free pass (the compiler vectorises it): columns in [0, num_cols)
// and strictly ascending, values finite and non-negative (NaN fails v >= 0).
bool row_is_clean(const int32_t* cols, const float* vals, int64_t n, int64_t num_cols) {
  if (n == 0) return true;
  const int32_t limit = static_cast<int32_t>(std::min<int64_t>(num_cols, INT32_MAX));  // 32-bit lanes
  int ok = (cols[0] >= 0) & (cols[n - 1] < limit);  // ascending: the ends bound every column
  for (int64_t i = 0; i < n; ++i) ok &= (vals[i] >= 0.0f) & (vals[i] <= FLT_MAX);
  for (int64_t i = 1; i < n; ++i) ok &= cols[i] > cols[i - 1];
  return ok != 0;
}

Status check_row(RowBlock* b, int64_t r, int64_t num_cols, const Namer& name) {
  int64_t s = b->indptr[r], e = b->indptr[r + 1];
  int32_t* cols = b->indices.data();
  if (row_is_clean(cols + s, b->data.data() + s, e - s, num_cols)) return Status::ok();
  // Something to sort or to report: the checks one by one, in the order their messages rank.
  for (int64_t i = s; i < e; ++i)
    if (cols[i] < 0 || cols[i] >= num_cols)
      return Status::corruption(name.what + "/indices: " + name.row(r) + " has column " + std::to_string(cols[i]) +
                                ", outside the matrix's " + std::to_string(num_cols) + " columns; the file is corrupt");
  if (!std::is_sorted(cols + s, cols + e)) sort_row(cols + s, b->data.data() + s, e - s);
  for (int64_t i = s + 1; i < e; ++i)
    if (cols[i] == cols[i - 1])
      return Status::invalid(name.what + "/indices: " + name.row(r) + " has " + name.col(cols[i]) +
                             " more than once; duplicate entries are refused: sum them first "
                             "(scipy: X.sum_duplicates()) and re-export");
  for (int64_t i = s; i < e; ++i) {
    float v = b->data[i];
    if (!std::isfinite(v) || v < 0)
      return Status::invalid(name.what + "/data: " + name.row(r) + ", " + name.col(cols[i]) + " holds " + number(v) +
                             "; counts must be finite and non-negative: point sccello at raw counts "
                             "(raw/X when present, or --layer counts)");
  }
  return Status::ok();
}

}  // namespace

Status check_row_block(RowBlock* block, int64_t num_cols, const std::string& what,
                       const std::function<std::string(int64_t)>& cell_name,
                       const std::function<std::string(int64_t)>& gene_name) {
  Namer name{what, *block, cell_name, gene_name};
  SCCELLO_RETURN_IF_ERROR(check_indptr(*block, name));
  for (int64_t r = 0; r < block->num_rows(); ++r) SCCELLO_RETURN_IF_ERROR(check_row(block, r, num_cols, name));
  return Status::ok();
}

Status CellMatrixReader::check_block(RowBlock* block, const std::string& what) {
  auto cell = [this](int64_t row) -> std::string {
    if (row < 0 || row >= num_cells()) return "";
    auto ids = cell_ids(row, 1);
    return ids.is_ok() && !ids->empty() ? ids->front() : "";
  };
  auto gene = [this](int64_t col) -> std::string {
    return col >= 0 && col < static_cast<int64_t>(gene_ids().size()) ? gene_ids()[col] : "";
  };
  return check_row_block(block, num_genes(), what, cell, gene);
}

}  // namespace sccello
