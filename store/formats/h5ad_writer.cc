#include "store/formats/h5ad_writer.h"

#include "store/formats/anndata_write.h"
#include "store/formats/hdf5_util.h"

namespace sccello {
namespace {

using h5::Handle;
using anndata::encode;

template <typename T>
void write_array(hid_t loc, const char* name, hid_t mem_type, const std::vector<T>& values,
                 std::vector<hsize_t> dims = {}) {
  if (dims.empty()) dims = {values.size()};
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  Handle d(H5Dcreate2(loc, name, mem_type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!values.empty()) H5Dwrite(d.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
}

void write_sparse(hid_t file, const H5adWriteSpec& s) {
  const RowBlock& m = s.matrix;
  int64_t rows = m.num_rows();
  bool csc = s.layout == H5adWriteSpec::Layout::kCsc;
  std::vector<int64_t> indptr = m.indptr;
  std::vector<int32_t> indices = m.indices;
  std::vector<float> data = m.data;
  if (csc) {  // transpose CSR -> CSC (rows ascending within a column)
    indptr.assign(s.num_genes + 1, 0);
    for (int32_t c : m.indices) ++indptr[c + 1];
    for (int64_t c = 0; c < s.num_genes; ++c) indptr[c + 1] += indptr[c];
    std::vector<int64_t> fill(indptr.begin(), indptr.end() - 1);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = m.indptr[r]; i < m.indptr[r + 1]; ++i) {
        int64_t at = fill[m.indices[i]]++;
        indices[at] = static_cast<int32_t>(r);
        data[at] = m.data[i];
      }
  }
  Handle g(H5Gcreate2(file, "X", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  encode(g.get(), csc ? "csc_matrix" : "csr_matrix", "0.1.0");
  std::vector<int64_t> shape = {rows, s.num_genes};
  hsize_t two = 2;
  Handle space(H5Screate_simple(1, &two, nullptr));
  Handle attr(H5Acreate2(g.get(), "shape", H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT));
  H5Awrite(attr.get(), H5T_NATIVE_INT64, shape.data());
  write_array(g.get(), "data", H5T_NATIVE_FLOAT, data);
  write_array(g.get(), "indices", H5T_NATIVE_INT32, indices);
  write_array(g.get(), "indptr", H5T_NATIVE_INT64, indptr);
}

void write_dense(hid_t file, const H5adWriteSpec& s) {
  int64_t rows = s.matrix.num_rows();
  std::vector<float> dense(rows * s.num_genes, 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = s.matrix.indptr[r]; i < s.matrix.indptr[r + 1]; ++i)
      dense[r * s.num_genes + s.matrix.indices[i]] = s.matrix.data[i];
  write_array(file, "X", H5T_NATIVE_FLOAT, dense, {static_cast<hsize_t>(rows), static_cast<hsize_t>(s.num_genes)});
  Handle d(H5Dopen2(file, "X", H5P_DEFAULT));
  encode(d.get(), "array", "0.2.0");
}

}  // namespace

Status write_h5ad(const std::string& path, const H5adWriteSpec& spec) {
  h5::silence_errors();
  Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  if (!file.valid()) return Status::io_error("cannot create '" + path + "'");
  encode(file.get(), "anndata", "0.1.0");
  if (spec.write_x) {
    if (spec.layout == H5adWriteSpec::Layout::kDense) write_dense(file.get(), spec);
    else write_sparse(file.get(), spec);
  }
  bool ok = anndata::dataframe(file.get(), "obs", spec.cell_ids, spec.obs_columns) &&
            anndata::dataframe(file.get(), "var", spec.gene_ids, {}, spec.write_var_index);
  if (!ok) return Status::io_error("writing '" + path + "' failed (HDF5 error)");
  return Status::ok();
}

}  // namespace sccello
