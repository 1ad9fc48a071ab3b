#include "store/formats/h5ad_reader.h"

#include <unistd.h>

#include <cstdint>
#include <cmath>
#include <cstdio>
#include <map>

#include "store/formats/hdf5_chunks.h"
#include "store/formats/hdf5_util.h"
#include "store/safe_text.h"

namespace sccello {
namespace {

using h5::Handle;

std::string format_number(double v, bool integer) {
  if (std::isnan(v)) return "";
  char buf[40];
  if (integer) std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  else std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// One data frame (obs or var) of an h5ad: columns of every AnnData encoding, read by row range.
class Frame {
 public:
  Frame(hid_t file, std::string path, std::string file_name)
      : file_(file), path_(std::move(path)), file_name_(std::move(file_name)) {}

  std::string index_name() const {
    Handle g = h5::open_object(file_, path_);
    std::string name = g.valid() ? h5::string_attr(g.get(), "_index") : "";
    for (const std::string& n : {name, std::string("_index"), std::string("index")})
      if (!n.empty() && h5::exists(file_, path_ + "/" + n) && !h5::is_group(file_, path_ + "/" + n)) return n;
    return "";
  }

  std::vector<std::string> columns() const {
    Handle g = h5::open_object(file_, path_);
    std::vector<std::string> out;
    if (!g.valid()) return out;
    std::string index = index_name();
    for (const std::string& n : h5::member_names(g.get()))
      if (n != "__categories" && n != index) out.push_back(n);
    return out;
  }

  Status values(const std::string& column, int64_t first, int64_t count, std::vector<std::string>* out) {
    std::string p = path_ + "/" + column;
    if (column.empty() || !h5::exists(file_, p)) return column_not_found(column, file_name_ + " " + path_, columns());
    std::string what = file_name_ + ":" + p;
    if (h5::is_group(file_, p)) return categorical(p + "/categories", p + "/codes", first, count, out, what);
    std::string old = path_ + "/__categories/" + column;
    if (h5::exists(file_, old)) return categorical(old, p, first, count, out, what);
    Handle d(H5Dopen2(file_, p.c_str(), H5P_DEFAULT));
    if (!d.valid()) return Status::corruption(what + ": cannot open");
    if (h5::is_string_type(d.get())) {
      SCCELLO_RETURN_IF_ERROR(h5::read_strings(d.get(), first, count, out, what));
      return check_texts(*out, first, what);
    }
    std::vector<double> nums;
    SCCELLO_RETURN_IF_ERROR(h5::read_doubles(d.get(), first, count, &nums, what));
    bool boolean = h5::is_bool_enum(d.get()), integer = h5::is_integer_like(d.get());
    out->resize(count);
    for (int64_t i = 0; i < count; ++i)
      (*out)[i] = boolean ? (nums[i] != 0 ? "True" : "False") : format_number(nums[i], integer);
    return Status::ok();
  }

  // Every string of a column is UTF-8 (docs/hostile-input.md); errors name the row.
  static Status check_texts(const std::vector<std::string>& values, int64_t first, const std::string& what) {
    for (size_t i = 0; i < values.size(); ++i)  // the message is made for the bad value only
      if (!is_valid_utf8(values[i]))
        return check_utf8(values[i], what + " row " + std::to_string(first + i), "value");
    return Status::ok();
  }

  int64_t length_of(const std::string& column) const {
    std::string p = path_ + "/" + column;
    if (h5::is_group(file_, p)) p += "/codes";
    Handle d(H5Dopen2(file_, p.c_str(), H5P_DEFAULT));
    return d.valid() ? h5::length(d.get()) : -1;
  }

 private:
  Status categorical(const std::string& cats_path, const std::string& codes_path, int64_t first, int64_t count,
                     std::vector<std::string>* out, const std::string& what) {
    auto it = categories_.find(cats_path);
    if (it == categories_.end()) {
      Handle c(H5Dopen2(file_, cats_path.c_str(), H5P_DEFAULT));
      if (!c.valid()) return Status::corruption(what + ": categories missing");
      std::vector<std::string> cats;
      if (h5::is_string_type(c.get())) {
        SCCELLO_RETURN_IF_ERROR(h5::read_strings(c.get(), 0, h5::length(c.get()), &cats, what));
        SCCELLO_RETURN_IF_ERROR(check_texts(cats, 0, what + " categories"));
      } else {
        std::vector<double> nums;
        SCCELLO_RETURN_IF_ERROR(h5::read_doubles(c.get(), 0, h5::length(c.get()), &nums, what));
        for (double v : nums) cats.push_back(format_number(v, h5::is_integer_like(c.get())));
      }
      it = categories_.emplace(cats_path, std::move(cats)).first;
    }
    Handle d(H5Dopen2(file_, codes_path.c_str(), H5P_DEFAULT));
    std::vector<int64_t> codes;
    SCCELLO_RETURN_IF_ERROR(h5::read_int64(d.get(), first, count, &codes, what));
    out->resize(count);
    for (int64_t i = 0; i < count; ++i) {
      int64_t c = codes[i];
      if (c >= static_cast<int64_t>(it->second.size())) return Status::corruption(what + ": code out of range");
      (*out)[i] = c < 0 ? "" : it->second[c];
    }
    return Status::ok();
  }

  hid_t file_;
  std::string path_;
  std::string file_name_;
  std::map<std::string, std::vector<std::string>> categories_;
};

// The on-disk transpose of a CSC matrix: entries bucketed by row block in a temporary file.
class CscBuckets {
 public:
  struct Entry {
    int32_t row;
    int32_t col;
    float value;
  };
  ~CscBuckets() {
    if (tmp_) std::fclose(tmp_);
  }
  Status build(hid_t indptr, hid_t indices, hid_t data, int64_t rows, int64_t bucket_rows, const std::string& what);
  Status read(int64_t bucket, RowBlock* block) const;
  int64_t bucket_rows() const { return bucket_rows_; }

 private:
  Status flush(int64_t b);
  std::FILE* tmp_ = nullptr;
  int64_t rows_ = 0, bucket_rows_ = 0;
  std::vector<int64_t> offset_, count_, written_;
  std::vector<std::vector<Entry>> buffers_;
};

Status CscBuckets::flush(int64_t b) {
  auto& buf = buffers_[b];
  if (buf.empty()) return Status::ok();
  off_t at = static_cast<off_t>((offset_[b] + written_[b]) * sizeof(Entry));
  ssize_t n = ::pwrite(fileno(tmp_), buf.data(), buf.size() * sizeof(Entry), at);
  if (n != static_cast<ssize_t>(buf.size() * sizeof(Entry)))
    return Status::io_error("cannot write the temporary transpose of a CSC matrix (disk full? set TMPDIR)");
  written_[b] += buf.size();
  buf.clear();
  return Status::ok();
}

// A CSC indptr: starts at 0, never decreases, ends at the number of entries.
Status check_column_pointers(const std::vector<int64_t>& indptr, int64_t nnz, const std::string& what) {
  if (indptr.empty() || indptr[0] != 0)
    return Status::corruption(what + "/indptr: does not start at 0; the file is corrupt, re-export it");
  for (size_t c = 0; c + 1 < indptr.size(); ++c)
    if (indptr[c + 1] < indptr[c])
      return Status::corruption(what + "/indptr: decreases at column " + std::to_string(c) + " (" +
                                std::to_string(indptr[c]) + " then " + std::to_string(indptr[c + 1]) +
                                "); the file is corrupt, re-export it");
  if (indptr.back() != nnz)
    return Status::corruption(what + "/indptr: ends at " + std::to_string(indptr.back()) + " but there are " +
                              std::to_string(nnz) + " indices; the file is corrupt, re-export it");
  return Status::ok();
}

Status CscBuckets::build(hid_t indptr_ds, hid_t indices_ds, hid_t data_ds, int64_t rows, int64_t bucket_rows,
                         const std::string& what) {
  rows_ = rows;
  bucket_rows_ = bucket_rows;
  int64_t nb = (rows + bucket_rows - 1) / bucket_rows;
  count_.assign(nb, 0);
  written_.assign(nb, 0);
  buffers_.assign(nb, {});
  int64_t nnz = h5::length(indices_ds);
  const int64_t chunk = 1 << 20;
  std::vector<int64_t> idx;
  for (int64_t at = 0; at < nnz; at += chunk) {  // pass 1: entries per bucket
    SCCELLO_RETURN_IF_ERROR(h5::read_int64(indices_ds, at, std::min(chunk, nnz - at), &idx, what + "/indices"));
    for (int64_t r : idx) {
      if (r < 0 || r >= rows) return Status::corruption(what + "/indices: row " + std::to_string(r) + " out of range");
      ++count_[r / bucket_rows];
    }
  }
  offset_.assign(nb, 0);
  for (int64_t b = 1; b < nb; ++b) offset_[b] = offset_[b - 1] + count_[b - 1];
  tmp_ = std::tmpfile();
  if (!tmp_) return Status::io_error("cannot create a temporary file for a CSC matrix (set TMPDIR)");
  std::vector<int64_t> indptr;
  SCCELLO_RETURN_IF_ERROR(h5::read_int64(indptr_ds, 0, h5::length(indptr_ds), &indptr, what + "/indptr"));
  SCCELLO_RETURN_IF_ERROR(check_column_pointers(indptr, nnz, what));
  std::vector<float> vals;
  int64_t col = 0;
  for (int64_t at = 0; at < nnz; at += chunk) {  // pass 2: scatter to buckets, columns ascending
    int64_t n = std::min(chunk, nnz - at);
    SCCELLO_RETURN_IF_ERROR(h5::read_int64(indices_ds, at, n, &idx, what + "/indices"));
    SCCELLO_RETURN_IF_ERROR(h5::read_floats(data_ds, at, n, &vals, what + "/data"));
    for (int64_t i = 0; i < n; ++i) {
      while (col + 1 < static_cast<int64_t>(indptr.size()) && indptr[col + 1] <= at + i) ++col;
      int64_t b = idx[i] / bucket_rows;
      buffers_[b].push_back({static_cast<int32_t>(idx[i]), static_cast<int32_t>(col), vals[i]});
      if (buffers_[b].size() >= 8192) SCCELLO_RETURN_IF_ERROR(flush(b));
    }
  }
  for (int64_t b = 0; b < nb; ++b) SCCELLO_RETURN_IF_ERROR(flush(b));
  buffers_.clear();
  buffers_.shrink_to_fit();
  return Status::ok();
}

Status CscBuckets::read(int64_t bucket, RowBlock* block) const {
  int64_t first = bucket * bucket_rows_, n_rows = std::min(bucket_rows_, rows_ - first);
  std::vector<Entry> entries(count_[bucket]);
  size_t bytes = entries.size() * sizeof(Entry);
  if (bytes && ::pread(fileno(tmp_), entries.data(), bytes, offset_[bucket] * sizeof(Entry)) != static_cast<ssize_t>(bytes))
    return Status::io_error("cannot read back the temporary transpose of a CSC matrix");
  block->clear(first);
  block->indptr.assign(n_rows + 1, 0);
  for (const Entry& e : entries) ++block->indptr[e.row - first + 1];
  for (int64_t r = 0; r < n_rows; ++r) block->indptr[r + 1] += block->indptr[r];
  std::vector<int64_t> fill(block->indptr.begin(), block->indptr.end() - 1);
  block->indices.resize(entries.size());
  block->data.resize(entries.size());
  for (const Entry& e : entries) {  // stable: columns stay ascending within a row
    int64_t at = fill[e.row - first]++;
    block->indices[at] = e.col;
    block->data[at] = e.value;
  }
  return Status::ok();
}

enum class Layout { kCsr, kCsc, kDense };

// Values of a dense matrix read at once (bounds a block's memory whatever the shape claims).
constexpr int64_t kMaxDenseValues = int64_t{1} << 24;

class H5adReader : public CellMatrixReader {
 public:
  H5adReader(Handle file, std::string path) : file_(std::move(file)), path_(std::move(path)),
      obs_(file_.get(), "obs", path_), var_(file_.get(), "var", path_) {}

  Status init(const H5adOptions& options);
  int64_t num_cells() const override { return rows_; }
  int64_t num_genes() const override { return cols_; }
  const std::vector<std::string>& gene_ids() const override { return gene_ids_; }
  bool next_block(int64_t max_rows, RowBlock* block) override;
  Result<std::vector<std::string>> cell_ids(int64_t first, int64_t count) override;
  std::vector<std::string> columns() const override { return obs_.columns(); }
  Result<std::vector<std::string>> column_values(const std::string& column, int64_t first, int64_t count) override {
    std::vector<std::string> out;
    SCCELLO_RETURN_IF_ERROR(obs_.values(column, first, count, &out));
    return out;
  }
  std::string describe() const override { return description_; }

 private:
  Status choose_matrix(const H5adOptions& options);
  Status open_matrix(const H5adOptions& options);
  Status read_gene_ids(const H5adOptions& options);
  Status check_csr_ends(const std::string& what);
  Status read_csr(int64_t first, int64_t n, RowBlock* block);
  Status read_dense(int64_t first, int64_t n, RowBlock* block);

  Handle file_;
  std::string path_;
  Frame obs_, var_;
  std::string matrix_, var_path_ = "var", description_;
  Layout layout_ = Layout::kCsr;
  int64_t rows_ = 0, cols_ = 0, next_row_ = 0;
  Handle data_, indices_, indptr_;
  h5::ChunkedArray data_chunks_, indices_chunks_;  // CSR: deflate chunks inflated by libdeflate
  CscBuckets csc_;
  std::vector<std::string> gene_ids_;
};

Status H5adReader::choose_matrix(const H5adOptions& options) {
  hid_t f = file_.get();
  if (!options.layer.empty()) {
    matrix_ = "layers/" + options.layer;
    if (!h5::exists(f, matrix_)) {
      std::vector<std::string> layers;
      if (h5::exists(f, "layers")) layers = h5::member_names(h5::open_object(f, "layers").get());
      std::string list;
      for (auto& l : layers) list += (list.empty() ? "" : ", ") + l;
      return Status::not_found("'" + path_ + "' has no layer '" + options.layer + "'; layers: " +
                               (list.empty() ? "(none)" : list));
    }
    return Status::ok();
  }
  if (options.prefer_raw && h5::exists(f, "raw/X")) {
    matrix_ = "raw/X";
    if (h5::exists(f, "raw/var")) var_path_ = "raw/var";
    return Status::ok();
  }
  if (!h5::exists(f, "X"))
    return Status::invalid("'" + path_ + "' has no X matrix (and no raw/X); it is not a usable AnnData file");
  matrix_ = "X";
  return Status::ok();
}

Status H5adReader::open_matrix(const H5adOptions& options) {
  hid_t f = file_.get();
  std::string what = path_ + ":" + matrix_;
  if (!h5::is_group(f, matrix_)) {
    data_ = Handle(H5Dopen2(f, matrix_.c_str(), H5P_DEFAULT));
    auto s = data_.valid() ? h5::shape(data_.get()) : std::vector<int64_t>{};
    if (s.size() != 2) return Status::corruption(what + ": expected a 2-D dense matrix or a sparse group");
    layout_ = Layout::kDense;
    rows_ = s[0];
    cols_ = s[1];
    if (cols_ > kMaxDenseValues)
      return Status::unsupported(what + ": a dense matrix of " + std::to_string(cols_) + " columns is too wide to "
                                 "read by rows; store it as CSR (scipy.sparse.csr_matrix) and retry");
    description_ = matrix_ + " (dense)";
    return Status::ok();
  }
  Handle g = h5::open_object(f, matrix_);
  std::string enc = h5::string_attr(g.get(), "encoding-type");
  if (enc.empty()) enc = h5::string_attr(g.get(), "h5sparse_format") + "_matrix";
  auto shape = h5::int_array_attr(g.get(), "shape");
  if (shape.empty()) shape = h5::int_array_attr(g.get(), "h5sparse_shape");
  if (shape.size() != 2 || (enc != "csr_matrix" && enc != "csc_matrix"))
    return Status::corruption(what + ": unknown sparse encoding '" + enc + "' (expected csr_matrix or csc_matrix)");
  rows_ = shape[0];
  cols_ = shape[1];
  for (const char* part : {"data", "indices", "indptr"})
    if (!h5::exists(f, matrix_ + "/" + part)) return Status::corruption(what + ": missing " + part);
  data_ = Handle(H5Dopen2(f, (matrix_ + "/data").c_str(), H5P_DEFAULT));
  indices_ = Handle(H5Dopen2(f, (matrix_ + "/indices").c_str(), H5P_DEFAULT));
  indptr_ = Handle(H5Dopen2(f, (matrix_ + "/indptr").c_str(), H5P_DEFAULT));
  data_chunks_ = h5::ChunkedArray(data_.get());
  indices_chunks_ = h5::ChunkedArray(indices_.get());
  layout_ = enc == "csr_matrix" ? Layout::kCsr : Layout::kCsc;
  int64_t expect = (layout_ == Layout::kCsr ? rows_ : cols_) + 1;
  if (rows_ < 0 || cols_ < 0 || rows_ > INT32_MAX || cols_ > INT32_MAX)
    return Status::corruption(what + ": shape " + std::to_string(rows_) + " x " + std::to_string(cols_) +
                              " is impossible; the file is corrupt");
  if (h5::length(indptr_.get()) != expect)
    return Status::corruption(what + "/indptr: " + std::to_string(h5::length(indptr_.get())) + " entries, but the shape " +
                              std::to_string(rows_) + " x " + std::to_string(cols_) + " needs " + std::to_string(expect) +
                              "; the file is corrupt, re-export it");
  if (h5::length(data_.get()) != h5::length(indices_.get()))
    return Status::corruption(what + ": " + std::to_string(h5::length(data_.get())) + " values but " +
                              std::to_string(h5::length(indices_.get())) + " indices; the file is corrupt, re-export it");
  description_ = matrix_ + (layout_ == Layout::kCsr ? " (CSR)" : " (CSC, transposed on disk in row buckets)");
  if (layout_ == Layout::kCsr) SCCELLO_RETURN_IF_ERROR(check_csr_ends(what));
  if (layout_ == Layout::kCsc)
    return csc_.build(indptr_.get(), indices_.get(), data_.get(), rows_, options.csc_bucket_rows, what);
  return Status::ok();
}

// indptr[0] == 0 and indptr[rows] == the number of entries (the rows in between are checked
// block by block).
Status H5adReader::check_csr_ends(const std::string& what) {
  std::vector<int64_t> first, last;
  SCCELLO_RETURN_IF_ERROR(h5::read_int64(indptr_.get(), 0, 1, &first, what + "/indptr"));
  SCCELLO_RETURN_IF_ERROR(h5::read_int64(indptr_.get(), rows_, 1, &last, what + "/indptr"));
  int64_t nnz = h5::length(indices_.get());
  if (first[0] != 0) return Status::corruption(what + "/indptr: does not start at 0; the file is corrupt, re-export it");
  if (last[0] != nnz)
    return Status::corruption(what + "/indptr: ends at " + std::to_string(last[0]) + " but there are " +
                              std::to_string(nnz) + " indices; the file is corrupt, re-export it");
  return Status::ok();
}

Status H5adReader::read_gene_ids(const H5adOptions& options) {
  Frame var(file_.get(), var_path_, path_);
  std::string column = options.var_column.empty() ? var.index_name() : options.var_column;
  if (column.empty()) {
    std::string list;
    for (auto& c : var.columns()) list += (list.empty() ? "" : ", ") + c;
    return Status::invalid("'" + path_ + "': " + var_path_ + " has no gene ids (no index); pass --var-column with "
                           "one of: " + (list.empty() ? "(no columns)" : list));
  }
  if (var.length_of(column) != cols_ && h5::exists(file_.get(), var_path_ + "/" + column))
    return Status::corruption("'" + path_ + "': " + var_path_ + "/" + column + " has " +
                              std::to_string(var.length_of(column)) + " ids for " + std::to_string(cols_) + " genes");
  return var.values(column, 0, cols_, &gene_ids_);
}

Status H5adReader::init(const H5adOptions& options) {
  SCCELLO_RETURN_IF_ERROR(choose_matrix(options));
  SCCELLO_RETURN_IF_ERROR(open_matrix(options));
  return read_gene_ids(options);
}

Status H5adReader::read_csr(int64_t first, int64_t n, RowBlock* block) {
  std::string what = path_ + ":" + matrix_;
  std::vector<int64_t> ptr;
  SCCELLO_RETURN_IF_ERROR(h5::read_int64(indptr_.get(), first, n + 1, &ptr, what + "/indptr"));
  int64_t nnz = ptr[n] - ptr[0];
  if (ptr[0] < 0 || nnz < 0 || ptr[n] > h5::length(indices_.get()))
    return Status::corruption(what + "/indptr: rows " + std::to_string(first) + ".." + std::to_string(first + n) +
                              " point to entries " + std::to_string(ptr[0]) + ".." + std::to_string(ptr[n]) +
                              ", outside the " + std::to_string(h5::length(indices_.get())) +
                              " there are; the file is corrupt, re-export it");
  block->first_row = first;  // indices and data are resized by the reads, not cleared and zero-filled
  block->indptr.resize(n + 1);
  for (int64_t i = 0; i <= n; ++i) block->indptr[i] = ptr[i] - ptr[0];
  SCCELLO_RETURN_IF_ERROR(h5::read_chunked(indices_chunks_, ptr[0], nnz, &block->indices, what + "/indices"));
  SCCELLO_RETURN_IF_ERROR(h5::read_chunked(data_chunks_, ptr[0], nnz, &block->data, what + "/data"));
  return Status::ok();
}

Status H5adReader::read_dense(int64_t first, int64_t n, RowBlock* block) {
  std::vector<float> dense;
  SCCELLO_RETURN_IF_ERROR(h5::read_rows_2d(data_.get(), first, n, cols_, &dense, path_ + ":" + matrix_));
  block->clear(first);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t c = 0; c < cols_; ++c) {
      float v = dense[r * cols_ + c];
      if (v == 0) continue;
      block->indices.push_back(static_cast<int32_t>(c));
      block->data.push_back(v);
    }
    block->indptr.push_back(static_cast<int64_t>(block->indices.size()));
  }
  return Status::ok();
}

bool H5adReader::next_block(int64_t max_rows, RowBlock* block) {
  if (!status_.is_ok() || next_row_ >= rows_) return false;
  int64_t n = std::min(max_rows, rows_ - next_row_);
  if (layout_ == Layout::kDense) n = std::max<int64_t>(1, std::min(n, kMaxDenseValues / std::max<int64_t>(cols_, 1)));
  if (layout_ == Layout::kCsc) {
    int64_t bucket = next_row_ / csc_.bucket_rows();
    status_ = csc_.read(bucket, block);
    n = block->num_rows();
  } else {
    status_ = layout_ == Layout::kCsr ? read_csr(next_row_, n, block) : read_dense(next_row_, n, block);
  }
  if (status_.is_ok()) status_ = check_block(block, path_ + ":" + matrix_);
  next_row_ += n;
  return status_.is_ok();
}

Result<std::vector<std::string>> H5adReader::cell_ids(int64_t first, int64_t count) {
  std::string index = obs_.index_name();
  if (index.empty()) return Status::invalid("'" + path_ + "': obs has no index (cell ids)");
  std::vector<std::string> out;
  SCCELLO_RETURN_IF_ERROR(obs_.values(index, first, count, &out));
  return out;
}

}  // namespace

Status column_not_found(const std::string& column, const std::string& file, const std::vector<std::string>& columns) {
  std::string list;
  for (auto& c : columns) list += (list.empty() ? "" : ", ") + c;
  return Status::not_found("column '" + column + "' not found in " + file + "; columns there are: " +
                           (list.empty() ? "(none)" : list));
}

Result<std::unique_ptr<CellMatrixReader>> open_h5ad(const std::string& path, const H5adOptions& options) {
  h5::silence_errors();
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    if (::access(path.c_str(), R_OK) != 0) return Status::not_found("cannot open '" + path + "': no such file");
    return Status::corruption("'" + path + "' is not a readable HDF5 file (corrupt or truncated?)");
  }
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file.valid()) return Status::corruption("'" + path + "': HDF5 open failed (corrupt or truncated?)");
  auto reader = std::make_unique<H5adReader>(std::move(file), path);
  SCCELLO_RETURN_IF_ERROR(reader->init(options));
  return std::unique_ptr<CellMatrixReader>(std::move(reader));
}

}  // namespace sccello
