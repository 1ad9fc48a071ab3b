// AnnData writer over the HDF5 C API.
#include "model/h5ad_writer.h"

#include <hdf5.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace sccello {

namespace {

// Owns one HDF5 identifier; closes it with the matching function.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

Handle vlen_string_type() {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return Handle(t, H5Tclose);
}

bool string_attr(hid_t obj, const char* name, const std::string& value) {
  Handle type = vlen_string_type();
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  const char* p = value.c_str();
  return attr.ok() && H5Awrite(attr.get(), type.get(), &p) >= 0;
}

bool string_array_attr(hid_t obj, const char* name, const std::vector<std::string>& values) {
  Handle type = vlen_string_type();
  hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  Handle attr(H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  return attr.ok() && (n == 0 || H5Awrite(attr.get(), type.get(), ptrs.data()) >= 0);
}

bool encode(hid_t obj, const char* type, const char* version) {
  return string_attr(obj, "encoding-type", type) && string_attr(obj, "encoding-version", version);
}

bool string_dataset(hid_t parent, const std::string& name, const std::vector<std::string>& values) {
  Handle type = vlen_string_type();
  hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  Handle ds(H5Dcreate2(parent, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
            H5Dclose);
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  if (!ds.ok() || (n > 0 && H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0))
    return false;
  return encode(ds.get(), "string-array", "0.2.0");
}

bool dataframe(hid_t file, const char* name, const std::vector<std::string>& index,
               const std::vector<std::pair<std::string, std::vector<std::string>>>& columns) {
  Handle group(H5Gcreate2(file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  std::vector<std::string> order;
  for (const auto& c : columns) order.push_back(c.first);
  bool ok = group.ok() && encode(group.get(), "dataframe", "0.2.0") && string_attr(group.get(), "_index", "_index") &&
            string_array_attr(group.get(), "column-order", order) && string_dataset(group.get(), "_index", index);
  for (const auto& [col, values] : columns) ok = ok && string_dataset(group.get(), col, values);
  return ok;
}

bool empty_dict(hid_t file, const char* name) {
  Handle group(H5Gcreate2(file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  return group.ok() && encode(group.get(), "dict", "0.1.0");
}

bool obsm(hid_t file, const EmbeddingTable& t) {
  Handle group(H5Gcreate2(file, "obsm", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  if (!group.ok() || !encode(group.get(), "dict", "0.1.0")) return false;
  hsize_t dims[2] = {t.cell_ids.size(), static_cast<hsize_t>(t.dims)};
  Handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
  Handle ds(H5Dcreate2(group.get(), t.obsm_key.c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                       H5P_DEFAULT), H5Dclose);
  if (!ds.ok()) return false;
  if (!t.values.empty() && H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.values.data()) < 0)
    return false;
  return encode(ds.get(), "array", "0.2.0");
}

}  // namespace

Status write_embedding_h5ad(const std::string& path, const EmbeddingTable& table) {
  const std::string tmp = path + ".tmp";
  bool ok;
  {
    Handle file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    if (!file.ok()) return Status::io_error("cannot create " + path);
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
