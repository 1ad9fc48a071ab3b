#include "store/formats/tenx_reader.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <numeric>

#include "store/formats/hdf5_chunks.h"
#include "store/formats/hdf5_util.h"
#include "store/safe_text.h"
#include "store/text_lines.h"

namespace sccello {
namespace {

using h5::Handle;

// Parses a whole field as an integer / a number; false when anything else is there.
bool parse_int(const char** p, int64_t* out) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(*p, &end, 10);
  if (end == *p || errno == ERANGE || (*end != ' ' && *end != '\t' && *end != '\0')) return false;
  *out = v;
  *p = end;
  return true;
}

bool parse_float(const char** p, float* out) {
  char* end = nullptr;
  double v = std::strtod(*p, &end);
  if (end == *p || (*end != ' ' && *end != '\t' && *end != '\0')) return false;
  *out = static_cast<float>(v);
  *p = end;
  return true;
}

bool only_blanks(const char* p) {
  while (*p == ' ' || *p == '\t') ++p;
  return *p == '\0';
}

// "%%MatrixMarket matrix coordinate (integer|real) general", case-insensitive.
bool is_mtx_banner(std::string line) {
  std::transform(line.begin(), line.end(), line.begin(), [](unsigned char c) { return std::tolower(c); });
  auto f = split_fields(line, ' ');
  f.erase(std::remove(f.begin(), f.end(), ""), f.end());
  return f.size() == 5 && f[0] == "%%matrixmarket" && f[1] == "matrix" && f[2] == "coordinate" &&
         (f[3] == "integer" || f[3] == "real") && f[4] == "general";
}

std::string first_existing(const std::string& dir, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (file_exists(dir + "/" + n)) return dir + "/" + n;
  return "";
}

Status read_column(const std::string& path, size_t field, std::vector<std::string>* out) {
  TextLines in;
  SCCELLO_RETURN_IF_ERROR(in.open(path));
  std::string line;
  while (in.next(&line)) {
    auto f = split_fields(line, '\t');
    auto where = [&] { return path + ":" + std::to_string(in.line_number()); };  // made for an error only
    if (f.size() <= field)
      return Status::corruption(where() + ": expected at least " + std::to_string(field + 1) + " fields");
    if (!is_valid_utf8(f[field])) return check_utf8(f[field], where(), "field");
    out->push_back(f[field]);
  }
  return in.error();
}

class TenxBase : public CellMatrixReader {
 public:
  int64_t num_cells() const override { return static_cast<int64_t>(barcodes_.size()); }
  int64_t num_genes() const override { return static_cast<int64_t>(gene_ids_.size()); }
  const std::vector<std::string>& gene_ids() const override { return gene_ids_; }
  Result<std::vector<std::string>> cell_ids(int64_t first, int64_t count) override {
    return std::vector<std::string>(barcodes_.begin() + first, barcodes_.begin() + first + count);
  }
  std::vector<std::string> columns() const override { return {}; }
  Result<std::vector<std::string>> column_values(const std::string& column, int64_t, int64_t) override {
    return column_not_found(column, source_, columns());
  }
  std::string describe() const override { return description_; }

 protected:
  std::string source_, description_;
  std::vector<std::string> gene_ids_, barcodes_;
};

// matrix.mtx: genes x cells coordinates, 1-based, streamed cell by cell.
class MtxReader : public TenxBase {
 public:
  Status init(const std::string& path);
  bool next_block(int64_t max_rows, RowBlock* block) override;

 private:
  bool parse_entry(int64_t* gene, int64_t* cell, float* value);
  Status read_header();
  Status check_sorted();
  Status line_error(const std::string& what) const {
    return Status::corruption(matrix_path_ + ":" + std::to_string(lines_->line_number()) + ": " + what);
  }
  std::unique_ptr<TextLines> lines_ = std::make_unique<TextLines>();
  std::string matrix_path_, line_;
  int64_t genes_ = 0, cells_ = 0, nnz_ = 0, next_cell_ = 0;
  bool have_pending_ = false, in_memory_ = false;
  int64_t pend_gene_ = 0, pend_cell_ = 0;
  float pend_value_ = 0;
  std::vector<std::tuple<int64_t, int64_t, float>> all_;  // (cell, gene, value) when unsorted
  size_t all_at_ = 0;
};

Status MtxReader::init(const std::string& path) {
  std::string dir = dir_exists(path) ? path : path.substr(0, path.find_last_of('/'));
  source_ = dir;
  matrix_path_ = dir_exists(path) ? first_existing(dir, {"matrix.mtx.gz", "matrix.mtx"}) : path;
  std::string features = first_existing(dir, {"features.tsv.gz", "features.tsv", "genes.tsv.gz", "genes.tsv"});
  std::string barcodes = first_existing(dir, {"barcodes.tsv.gz", "barcodes.tsv"});
  if (matrix_path_.empty() || features.empty() || barcodes.empty())
    return Status::not_found("'" + dir + "' is not a 10x matrix folder: expected matrix.mtx[.gz], "
                             "features.tsv[.gz] (or genes.tsv) and barcodes.tsv[.gz]");
  SCCELLO_RETURN_IF_ERROR(read_column(features, 0, &gene_ids_));
  SCCELLO_RETURN_IF_ERROR(read_column(barcodes, 0, &barcodes_));
  SCCELLO_RETURN_IF_ERROR(read_header());
  if (genes_ != num_genes() || cells_ != num_cells())
    return Status::corruption("'" + matrix_path_ + "' is " + std::to_string(genes_) + " x " + std::to_string(cells_) +
                              " but the folder lists " + std::to_string(num_genes()) + " features and " +
                              std::to_string(num_cells()) + " barcodes");
  description_ = "10x MTX " + matrix_path_;
  return check_sorted();
}

// Opens the matrix and reads its banner and size line; the next line is the first entry.
Status MtxReader::read_header() {
  lines_ = std::make_unique<TextLines>();
  SCCELLO_RETURN_IF_ERROR(lines_->open(matrix_path_));
  if (!lines_->next(&line_)) {
    SCCELLO_RETURN_IF_ERROR(lines_->error());
    return Status::corruption(matrix_path_ + ": empty file; expected a MatrixMarket matrix");
  }
  if (!is_mtx_banner(line_))
    return line_error("expected the banner '%%MatrixMarket matrix coordinate integer general' (or real), got '" +
                      replace_invalid_utf8(line_.substr(0, 80)) + "'");
  while (lines_->next(&line_) && (line_.empty() || line_[0] == '%')) {}
  SCCELLO_RETURN_IF_ERROR(lines_->error());
  const char* p = line_.c_str();
  if (!parse_int(&p, &genes_) || !parse_int(&p, &cells_) || !parse_int(&p, &nnz_) || !only_blanks(p) ||
      genes_ < 0 || cells_ < 0 || nnz_ < 0)
    return line_error("expected the size line 'genes cells entries' (three non-negative integers), got '" +
                      replace_invalid_utf8(line_.substr(0, 80)) + "'");
  return Status::ok();
}

bool MtxReader::parse_entry(int64_t* gene, int64_t* cell, float* value) {
  do {
    if (!lines_->next(&line_)) {
      if (!lines_->error().is_ok()) status_ = lines_->error();
      return false;
    }
  } while (only_blanks(line_.c_str()));
  const char* p = line_.c_str();
  if (!parse_int(&p, gene) || !parse_int(&p, cell) || !parse_float(&p, value) || !only_blanks(p)) {
    status_ = line_error("expected an entry 'gene cell value' (two integers and a number), got '" +
                         replace_invalid_utf8(line_.substr(0, 80)) + "'");
    return false;
  }
  if (*gene < 1 || *gene > genes_ || *cell < 1 || *cell > cells_) {
    status_ = line_error("entry out of range (the matrix is " + std::to_string(genes_) + " x " +
                         std::to_string(cells_) + ", 1-based): '" + replace_invalid_utf8(line_) + "'");
    return false;
  }
  return true;
}

// 10x writes entries grouped by cell; anything else is read whole and sorted.
Status MtxReader::check_sorted() {
  int64_t g, c, prev = 0, entries = 0;
  float v;
  bool sorted = true;
  while (parse_entry(&g, &c, &v)) {
    if (c < prev) sorted = false;
    prev = c;
    if (++entries > nnz_) return line_error("more entries than the " + std::to_string(nnz_) + " the size line declares");
  }
  SCCELLO_RETURN_IF_ERROR(status_);
  SCCELLO_RETURN_IF_ERROR(lines_->error());
  if (entries != nnz_)
    return Status::corruption(matrix_path_ + ": " + std::to_string(entries) + " entries but the size line declares " +
                              std::to_string(nnz_) + "; the file is truncated or corrupt");
  SCCELLO_RETURN_IF_ERROR(read_header());
  if (sorted) return Status::ok();
  in_memory_ = true;
  while (parse_entry(&g, &c, &v)) all_.emplace_back(c - 1, g - 1, v);
  std::sort(all_.begin(), all_.end());
  return status_;
}

bool MtxReader::next_block(int64_t max_rows, RowBlock* block) {
  if (!status_.is_ok() || next_cell_ >= cells_) return false;
  int64_t end = std::min(cells_, next_cell_ + max_rows);
  block->clear(next_cell_);
  int64_t row = next_cell_;
  auto emit_until = [&](int64_t cell) {  // close rows up to (not including) `cell`
    while (row < cell && row < end) {
      block->indptr.push_back(static_cast<int64_t>(block->indices.size()));
      ++row;
    }
  };
  while (true) {
    int64_t g, c;
    float v;
    if (in_memory_) {
      if (all_at_ >= all_.size()) break;
      std::tie(c, g, v) = all_[all_at_];
      ++c, ++g;
    } else if (have_pending_) {
      g = pend_gene_, c = pend_cell_, v = pend_value_;
    } else if (!parse_entry(&g, &c, &v)) {
      break;
    }
    if (c - 1 >= end) {
      have_pending_ = !in_memory_;
      pend_gene_ = g, pend_cell_ = c, pend_value_ = v;
      break;
    }
    have_pending_ = false;
    if (in_memory_) ++all_at_;
    emit_until(c - 1);
    block->indices.push_back(static_cast<int32_t>(g - 1));
    block->data.push_back(v);
  }
  if (!status_.is_ok()) return false;
  emit_until(end);
  next_cell_ = end;
  status_ = check_block(block, matrix_path_);
  return status_.is_ok();
}

// filtered_feature_bc_matrix.h5: CSC over genes x cells = CSR over cells.
class TenxH5Reader : public TenxBase {
 public:
  Status init(const std::string& path);
  bool next_block(int64_t max_rows, RowBlock* block) override;

 private:
  Status check_pointers(const std::string& what);
  Handle file_, data_, indices_, indptr_;
  h5::ChunkedArray data_chunks_, indices_chunks_;  // shuffle + deflate chunks inflated by libdeflate
  std::string group_;
  int64_t next_cell_ = 0;
};

Status TenxH5Reader::init(const std::string& path) {
  source_ = path;
  h5::silence_errors();
  if (H5Fis_hdf5(path.c_str()) <= 0)
    return Status::corruption("'" + path + "' is not a readable HDF5 file (missing, corrupt or truncated?)");
  file_ = Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file_.valid()) return Status::corruption("'" + path + "': HDF5 open failed");
  group_ = "matrix";
  if (!h5::exists(file_.get(), "matrix/indptr"))  // v2: one group per genome
    for (const std::string& g : h5::member_names(file_.get()))
      if (h5::exists(file_.get(), g + "/indptr")) group_ = g;
  std::string ids = h5::exists(file_.get(), group_ + "/features/id") ? group_ + "/features/id" : group_ + "/genes";
  for (const std::string& p : {group_ + "/indptr", group_ + "/indices", group_ + "/data", group_ + "/barcodes", ids})
    if (!h5::exists(file_.get(), p)) return Status::corruption("'" + path + "' is not a 10x HDF5 matrix: missing " + p);
  Handle idd(H5Dopen2(file_.get(), ids.c_str(), H5P_DEFAULT)), bc(H5Dopen2(file_.get(), (group_ + "/barcodes").c_str(), H5P_DEFAULT));
  SCCELLO_RETURN_IF_ERROR(h5::read_strings(idd.get(), 0, h5::length(idd.get()), &gene_ids_, path + ":" + ids));
  SCCELLO_RETURN_IF_ERROR(h5::read_strings(bc.get(), 0, h5::length(bc.get()), &barcodes_, path + ":barcodes"));
  data_ = Handle(H5Dopen2(file_.get(), (group_ + "/data").c_str(), H5P_DEFAULT));
  indices_ = Handle(H5Dopen2(file_.get(), (group_ + "/indices").c_str(), H5P_DEFAULT));
  indptr_ = Handle(H5Dopen2(file_.get(), (group_ + "/indptr").c_str(), H5P_DEFAULT));
  data_chunks_ = h5::ChunkedArray(data_.get());
  indices_chunks_ = h5::ChunkedArray(indices_.get());
  for (const auto& id : gene_ids_)  // the location is made for a bad value only, as in the h5ad reader
    if (!is_valid_utf8(id)) return check_utf8(id, path + ":" + ids, "gene id");
  for (const auto& b : barcodes_)
    if (!is_valid_utf8(b)) return check_utf8(b, path + ":" + group_ + "/barcodes", "barcode");
  description_ = "10x HDF5 " + path + ":" + group_;
  return check_pointers(path + ":" + group_);
}

// indptr: one entry per barcode plus one, from 0 to the number of entries (data and indices
// alike); the rows in between are checked block by block.
Status TenxH5Reader::check_pointers(const std::string& what) {
  int64_t len = h5::length(indptr_.get()), nnz = h5::length(indices_.get());
  if (len != num_cells() + 1)
    return Status::corruption(what + "/indptr: " + std::to_string(len) + " entries for " +
                              std::to_string(num_cells()) + " barcodes (expected one more); the file is corrupt");
  if (h5::length(data_.get()) != nnz)
    return Status::corruption(what + ": " + std::to_string(h5::length(data_.get())) + " values but " +
                              std::to_string(nnz) + " indices; the file is corrupt");
  std::vector<int64_t> first, last;
  SCCELLO_RETURN_IF_ERROR(h5::read_int64(indptr_.get(), 0, 1, &first, what + "/indptr"));
  SCCELLO_RETURN_IF_ERROR(h5::read_int64(indptr_.get(), len - 1, 1, &last, what + "/indptr"));
  if (first[0] != 0 || last[0] != nnz)
    return Status::corruption(what + "/indptr: runs from " + std::to_string(first[0]) + " to " +
                              std::to_string(last[0]) + ", expected 0 to " + std::to_string(nnz) +
                              " (the number of entries); the file is corrupt");
  return Status::ok();
}

bool TenxH5Reader::next_block(int64_t max_rows, RowBlock* block) {
  if (!status_.is_ok() || next_cell_ >= num_cells()) return false;
  int64_t n = std::min(max_rows, num_cells() - next_cell_);
  std::vector<int64_t> ptr;
  std::string what = source_ + ":" + group_;
  status_ = h5::read_int64(indptr_.get(), next_cell_, n + 1, &ptr, what + "/indptr");
  if (!status_.is_ok()) return false;
  if (ptr[0] < 0 || ptr[n] < ptr[0] || ptr[n] > h5::length(indices_.get())) {
    status_ = Status::corruption(what + "/indptr: cells " + std::to_string(next_cell_) + ".." +
                                 std::to_string(next_cell_ + n) + " point to entries " + std::to_string(ptr[0]) + ".." +
                                 std::to_string(ptr[n]) + ", outside the " + std::to_string(h5::length(indices_.get())) +
                                 " there are; the file is corrupt");
    return false;
  }
  block->first_row = next_cell_;  // indices and data are resized by the reads below
  block->indptr.resize(n + 1);
  for (int64_t i = 0; i <= n; ++i) block->indptr[i] = ptr[i] - ptr[0];
  status_ = h5::read_chunked(indices_chunks_, ptr[0], ptr[n] - ptr[0], &block->indices, what + "/indices");
  if (status_.is_ok())
    status_ = h5::read_chunked(data_chunks_, ptr[0], ptr[n] - ptr[0], &block->data, what + "/data");
  if (status_.is_ok()) status_ = check_block(block, what);
  if (!status_.is_ok()) return false;
  next_cell_ += n;
  return true;
}

}  // namespace

Result<std::unique_ptr<CellMatrixReader>> open_tenx_mtx(const std::string& path) {
  auto reader = std::make_unique<MtxReader>();
  SCCELLO_RETURN_IF_ERROR(reader->init(path));
  return std::unique_ptr<CellMatrixReader>(std::move(reader));
}

Result<std::unique_ptr<CellMatrixReader>> open_tenx_h5(const std::string& path) {
  auto reader = std::make_unique<TenxH5Reader>();
  SCCELLO_RETURN_IF_ERROR(reader->init(path));
  return std::unique_ptr<CellMatrixReader>(std::move(reader));
}

}  // namespace sccello
