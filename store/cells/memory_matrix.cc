#include "store/cells/memory_matrix.h"

namespace sccello {
namespace {

class MemoryMatrixReader : public CellMatrixReader {
 public:
  MemoryMatrixReader(const BorrowedMatrix& m, MatrixAnnotations a) : m_(m), a_(std::move(a)) {
    for (const auto& [name, values] : a_.obs) columns_.push_back(name);
  }
  int64_t num_cells() const override { return m_.rows; }
  int64_t num_genes() const override { return m_.cols; }
  const std::vector<std::string>& gene_ids() const override { return a_.gene_ids; }
  std::vector<std::string> columns() const override { return columns_; }
  std::string describe() const override { return a_.describe; }

  bool next_block(int64_t max_rows, RowBlock* block) override {
    if (!status_.is_ok() || next_ >= m_.rows) return false;
    block->clear(next_);
    const int64_t end = std::min(m_.rows, next_ + std::max<int64_t>(1, max_rows));
    for (int64_t r = next_; r < end; ++r) m_.is_csr() ? copy_csr_row(r, block) : copy_dense_row(r, block);
    next_ = end;
    status_ = check_block(block, a_.describe);
    return status_.is_ok();
  }

  Result<std::vector<std::string>> cell_ids(int64_t first, int64_t count) override {
    return slice(a_.cell_ids, first, count);
  }
  Result<std::vector<std::string>> column_values(const std::string& column, int64_t first, int64_t count) override {
    auto it = a_.obs.find(column);
    if (it == a_.obs.end()) return column_not_found(column, "adata.obs", columns_);
    return slice(it->second, first, count);
  }

 private:
  void copy_csr_row(int64_t r, RowBlock* b) const {
    for (int64_t i = m_.row_begin(r); i < m_.row_begin(r + 1); ++i) {
      b->indices.push_back(m_.indices[i]);
      b->data.push_back(m_.data[i]);
    }
    b->indptr.push_back(static_cast<int64_t>(b->data.size()));
  }
  void copy_dense_row(int64_t r, RowBlock* b) const {
    const float* row = m_.data + r * m_.cols;
    for (int64_t c = 0; c < m_.cols; ++c) {
      if (row[c] == 0) continue;
      b->indices.push_back(static_cast<int32_t>(c));
      b->data.push_back(row[c]);
    }
    b->indptr.push_back(static_cast<int64_t>(b->data.size()));
  }
  static std::vector<std::string> slice(const std::vector<std::string>& v, int64_t first, int64_t count) {
    return std::vector<std::string>(v.begin() + first, v.begin() + first + count);
  }

  BorrowedMatrix m_;
  MatrixAnnotations a_;
  std::vector<std::string> columns_;
  int64_t next_ = 0;
};

Status check_sizes(const BorrowedMatrix& m, const MatrixAnnotations& a) {
  auto count = [](const char* what, size_t have, int64_t want) {
    return Status::invalid(std::string(what) + " has " + std::to_string(have) + " entries but the matrix has " +
                           std::to_string(want));
  };
  if (m.rows < 0 || m.cols < 0 || (m.rows * m.cols > 0 && !m.data)) return Status::invalid("matrix without data");
  if (static_cast<int64_t>(a.gene_ids.size()) != m.cols) return count("the gene id list (var)", a.gene_ids.size(), m.cols);
  if (static_cast<int64_t>(a.cell_ids.size()) != m.rows) return count("the cell id list (obs)", a.cell_ids.size(), m.rows);
  for (const auto& [name, values] : a.obs)
    if (static_cast<int64_t>(values.size()) != m.rows) return count(("obs column '" + name + "'").c_str(), values.size(), m.rows);
  if (!m.is_csr()) return Status::ok();
  if (m.nnz > 0 && !m.indices) return Status::invalid(a.describe + ": CSR matrix without indices");
  for (int64_t r = 0; r < m.rows; ++r)
    if (m.row_begin(r) < 0 || m.row_begin(r) > m.row_begin(r + 1))
      return Status::invalid(a.describe + ": CSR indptr decreases at row " + std::to_string(r));
  if (m.row_begin(0) != 0 || m.row_begin(m.rows) != m.nnz)
    return Status::invalid(a.describe + ": CSR indptr must start at 0 and end at the number of entries (" +
                           std::to_string(m.nnz) + ")");
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<CellMatrixReader>> open_memory_matrix(const BorrowedMatrix& matrix, MatrixAnnotations annotations) {
  SCCELLO_RETURN_IF_ERROR(check_sizes(matrix, annotations));
  return std::unique_ptr<CellMatrixReader>(new MemoryMatrixReader(matrix, std::move(annotations)));
}

}  // namespace sccello
