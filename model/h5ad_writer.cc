// AnnData writer over the HDF5 C API.
#include "model/h5ad_writer.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "store/formats/anndata_write.h"
#include "store/formats/hdf5_util.h"

namespace sccello {

namespace {

using h5::Handle;
using anndata::dataframe;
using anndata::empty_dict;
using anndata::encode;

bool obsm(hid_t file, const EmbeddingTable& t) {
  Handle group(H5Gcreate2(file, "obsm", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!group.valid() || !encode(group.get(), "dict", "0.1.0")) return false;
  hsize_t dims[2] = {t.cell_ids.size(), static_cast<hsize_t>(t.dims)};
  Handle space(H5Screate_simple(2, dims, nullptr));
  Handle ds(H5Dcreate2(group.get(), t.obsm_key.c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                       H5P_DEFAULT));
  if (!ds.valid()) return false;
  if (!t.values.empty() && H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.values.data()) < 0)
    return false;
  return encode(ds.get(), "array", "0.2.0");
}

}  // namespace

Status write_embedding_h5ad(const std::string& path, const EmbeddingTable& table) {
  const std::string tmp = path + ".tmp";
  bool ok;
  {
    Handle file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    if (!file.valid()) return Status::io_error("cannot create " + path);
    ok = encode(file.get(), "anndata", "0.1.0") && dataframe(file.get(), "obs", table.cell_ids, table.obs_columns) &&
         dataframe(file.get(), "var", {}, {}) && obsm(file.get(), table);
    for (const char* name : {"uns", "layers", "obsp", "varm", "varp"}) ok = ok && empty_dict(file.get(), name);
  }
  std::error_code ec;
  if (!ok) {
    std::filesystem::remove(tmp, ec);
    return Status::io_error("writing " + path + " failed (HDF5 error; disk full?)");
  }
  std::filesystem::rename(tmp, path, ec);
  return ec ? Status::io_error("cannot move " + tmp + " to " + path) : Status::ok();
}

Status write_embedding_tsv(const std::string& path, const EmbeddingTable& table, const std::string& term_column) {
  const std::vector<std::string>* terms = nullptr;
  for (const auto& [name, values] : table.obs_columns)
    if (name == term_column) terms = &values;
  std::ofstream out(path);
  if (!out) return Status::io_error("cannot write " + path);
  out << "cell_id\tterm_id";
  for (int64_t d = 0; d < table.dims; ++d) out << "\tdim" << d;
  out << "\n";
  char buf[32];
  for (size_t i = 0; i < table.cell_ids.size(); ++i) {
    out << table.cell_ids[i] << "\t" << (terms ? (*terms)[i] : "");
    for (int64_t d = 0; d < table.dims; ++d) {
      std::snprintf(buf, sizeof buf, "\t%.7g", table.values[i * table.dims + d]);
      out << buf;
    }
    out << "\n";
  }
  return out.good() ? Status::ok() : Status::io_error("writing " + path + " failed (disk full?)");
}

}  // namespace sccello
