#include "store/formats/anndata_extend.h"

#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "store/formats/anndata_write.h"
#include "store/formats/hdf5_util.h"

namespace sccello {

namespace fs = std::filesystem;
using h5::Handle;

namespace {

std::vector<std::string> string_array_attr(hid_t obj, const char* name) {
  std::vector<std::string> out;
  if (!h5::has_attr(obj, name)) return out;
  Handle attr(H5Aopen(obj, name, H5P_DEFAULT));
  Handle type(H5Aget_type(attr.get()));
  Handle space(H5Aget_space(attr.get()));
  if (H5Tget_class(type.get()) != H5T_STRING || !H5Tis_variable_str(type.get())) return out;
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n <= 0 || n > (1 << 20)) return out;
  std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
  Handle mem(H5Tcopy(H5T_C_S1));
  H5Tset_size(mem.get(), H5T_VARIABLE);
  H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
  if (H5Aread(attr.get(), mem.get(), ptrs.data()) < 0) return out;
  for (char* p : ptrs) out.emplace_back(p ? p : "");
  H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
  return out;
}

bool delete_if_exists(hid_t group, const std::string& name) {
  return !h5::exists(group, name) || H5Ldelete(group, name.c_str(), H5P_DEFAULT) >= 0;
}

bool write_float_column(hid_t obs, const ObsColumn& c) {
  hsize_t n = c.numbers.size();
  Handle space(H5Screate_simple(1, &n, nullptr));
  Handle ds(H5Dcreate2(obs, c.name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  return ds.valid() && H5Dwrite(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, c.numbers.data()) >= 0 &&
         anndata::encode(ds.get(), "array", "0.2.0");
}

// numpy bool as h5py writes it: an int8 enum {FALSE = 0, TRUE = 1}.
Handle numpy_bool_type() {
  Handle type(H5Tenum_create(H5T_NATIVE_INT8));
  int8_t f = 0, t = 1;
  H5Tenum_insert(type.get(), "FALSE", &f);
  H5Tenum_insert(type.get(), "TRUE", &t);
  return type;
}

bool write_bool_column(hid_t obs, const ObsColumn& c) {
  Handle type = numpy_bool_type();
  hsize_t n = c.flags.size();
  Handle space(H5Screate_simple(1, &n, nullptr));
  Handle ds(H5Dcreate2(obs, c.name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  std::vector<int8_t> values(c.flags.begin(), c.flags.end());
  return ds.valid() && H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0 &&
         anndata::encode(ds.get(), "array", "0.2.0");
}

bool write_categorical_column(hid_t obs, const ObsColumn& c) {
  std::vector<std::string> categories = c.text;
  std::sort(categories.begin(), categories.end());
  categories.erase(std::unique(categories.begin(), categories.end()), categories.end());
  std::map<std::string, int32_t> code_of;
  for (size_t i = 0; i < categories.size(); ++i) code_of[categories[i]] = static_cast<int32_t>(i);
  std::vector<int32_t> codes;
  codes.reserve(c.text.size());
  for (const auto& v : c.text) codes.push_back(code_of[v]);
  Handle group(H5Gcreate2(obs, c.name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!group.valid() || !anndata::encode(group.get(), "categorical", "0.2.0")) return false;
  // `ordered` as numpy writes a bool through h5py: an int8 enum {FALSE, TRUE}.
  Handle bool_type = numpy_bool_type();
  int8_t ordered = 0;
  Handle scalar(H5Screate(H5S_SCALAR));
  Handle attr(H5Acreate2(group.get(), "ordered", bool_type.get(), scalar.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid() || H5Awrite(attr.get(), bool_type.get(), &ordered) < 0) return false;
  if (!anndata::string_dataset(group.get(), "categories", categories)) return false;
  hsize_t n = codes.size();
  Handle space(H5Screate_simple(1, &n, nullptr));
  Handle ds(H5Dcreate2(group.get(), "codes", H5T_STD_I32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  return ds.valid() && H5Dwrite(ds.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, codes.data()) >= 0 &&
         anndata::encode(ds.get(), "array", "0.2.0");
}

bool write_column(hid_t obs, const ObsColumn& c) {
  if (!delete_if_exists(obs, c.name)) return false;
  switch (c.kind) {
    case ObsColumn::Kind::kFloat: return write_float_column(obs, c);
    case ObsColumn::Kind::kBool: return write_bool_column(obs, c);
    case ObsColumn::Kind::kString: return anndata::string_dataset(obs, c.name, c.text);
    default: return write_categorical_column(obs, c);
  }
}

size_t column_length(const ObsColumn& c) {
  switch (c.kind) {
    case ObsColumn::Kind::kFloat: return c.numbers.size();
    case ObsColumn::Kind::kBool: return c.flags.size();
    default: return c.text.size();
  }
}

Status add_obs(hid_t file, const std::string& path, const std::vector<ObsColumn>& columns, int64_t n_obs) {
  Handle obs(H5Gopen2(file, "obs", H5P_DEFAULT));
  if (!obs.valid()) return Status::invalid(path + ": no obs dataframe");
  std::vector<std::string> order = string_array_attr(obs.get(), "column-order");
  for (const auto& c : columns) {
    if (static_cast<int64_t>(column_length(c)) != n_obs)
      return Status::internal("obs column " + c.name + " has " + std::to_string(column_length(c)) + " values for " +
                              std::to_string(n_obs) + " cells");
    if (!write_column(obs.get(), c)) return Status::io_error(path + ": cannot write obs column " + c.name);
    if (std::find(order.begin(), order.end(), c.name) == order.end()) order.push_back(c.name);
  }
  if (h5::has_attr(obs.get(), "column-order") && H5Adelete(obs.get(), "column-order") < 0)
    return Status::io_error(path + ": cannot update obs column-order");
  if (!anndata::string_array_attr(obs.get(), "column-order", order))
    return Status::io_error(path + ": cannot write obs column-order");
  return Status::ok();
}

Handle open_or_create_dict(hid_t parent, const char* name) {
  if (h5::exists(parent, name)) return Handle(H5Gopen2(parent, name, H5P_DEFAULT));
  Handle g(H5Gcreate2(parent, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (g.valid()) anndata::encode(g.get(), "dict", "0.1.0");
  return g;
}

Status add_obsm(hid_t file, const std::string& path, const AnnDataAdditions& a, int64_t n_obs) {
  if (a.obsm_key.empty()) return Status::ok();
  if (a.obsm_dims <= 0 || static_cast<int64_t>(a.obsm.size()) != n_obs * a.obsm_dims)
    return Status::internal("obsm matrix does not have n_obs rows");
  Handle obsm = open_or_create_dict(file, "obsm");
  if (!obsm.valid() || !delete_if_exists(obsm.get(), a.obsm_key)) return Status::io_error(path + ": cannot write obsm");
  hsize_t dims[2] = {static_cast<hsize_t>(n_obs), static_cast<hsize_t>(a.obsm_dims)};
  Handle space(H5Screate_simple(2, dims, nullptr));
  Handle ds(H5Dcreate2(obsm.get(), a.obsm_key.c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                       H5P_DEFAULT));
  if (!ds.valid() || H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.obsm.data()) < 0 ||
      !anndata::encode(ds.get(), "array", "0.2.0"))
    return Status::io_error(path + ": cannot write obsm/" + a.obsm_key);
  return Status::ok();
}

bool string_scalar(hid_t parent, const std::string& name, const std::string& value) {
  Handle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Handle space(H5Screate(H5S_SCALAR));
  Handle ds(H5Dcreate2(parent, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  const char* p = value.c_str();
  return ds.valid() && H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &p) >= 0 &&
         anndata::encode(ds.get(), "string", "0.2.0");
}

Status add_uns(hid_t file, const std::string& path, const AnnDataAdditions& a) {
  if (a.uns_key.empty()) return Status::ok();
  Handle uns = open_or_create_dict(file, "uns");
  if (!uns.valid() || !delete_if_exists(uns.get(), a.uns_key)) return Status::io_error(path + ": cannot write uns");
  Handle group(H5Gcreate2(uns.get(), a.uns_key.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!group.valid() || !anndata::encode(group.get(), "dict", "0.1.0"))
    return Status::io_error(path + ": cannot write uns/" + a.uns_key);
  for (const auto& [k, v] : a.uns)
    if (!string_scalar(group.get(), k, v)) return Status::io_error(path + ": cannot write uns/" + a.uns_key + "/" + k);
  return Status::ok();
}

Result<int64_t> obs_count(hid_t file, const std::string& path) {
  Handle obs(H5Oopen(file, "obs", H5P_DEFAULT));
  if (!obs.valid()) return Status::invalid(path + ": no obs dataframe (not an AnnData .h5ad)");
  std::string index = h5::string_attr(obs.get(), "_index");
  if (index.empty()) index = "_index";
  if (!h5::exists(obs.get(), index)) return Status::invalid(path + ": obs has no index dataset '" + index + "'");
  Handle ds(H5Dopen2(obs.get(), index.c_str(), H5P_DEFAULT));
  return h5::length(ds.get());
}

}  // namespace

Result<int64_t> h5ad_obs_count(const std::string& path) {
  h5::silence_errors();
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file.valid()) return Status::invalid("cannot open " + path + " as HDF5 (.h5ad)");
  return obs_count(file.get(), path);
}

Status extend_h5ad(const std::string& path, const AnnDataAdditions& additions) {
  h5::silence_errors();
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
  if (!file.valid()) return Status::io_error("cannot open " + path + " for writing");
  SCCELLO_ASSIGN_OR_RETURN(int64_t n_obs, obs_count(file.get(), path));
  SCCELLO_RETURN_IF_ERROR(add_obs(file.get(), path, additions.obs, n_obs));
  SCCELLO_RETURN_IF_ERROR(add_obsm(file.get(), path, additions, n_obs));
  SCCELLO_RETURN_IF_ERROR(add_uns(file.get(), path, additions));
  if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0) return Status::io_error("cannot flush " + path + " (disk full?)");
  return Status::ok();
}

Status extended_copy(const std::string& input, const std::string& output, const AnnDataAdditions& additions,
                     bool force) {
  std::error_code ec;
  if (fs::exists(output, ec) && !force) return Status::invalid(output + " exists: pass --force to overwrite it");
  if (fs::exists(output, ec) && fs::equivalent(input, output, ec))
    return Status::invalid("--out " + output + " is the input file: the input is never modified; choose another path");
  const std::string tmp = output + ".tmp-" + std::to_string(::getpid());
  fs::copy_file(input, tmp, fs::copy_options::overwrite_existing, ec);
  if (ec) return Status::io_error("cannot write " + tmp + " (" + ec.message() + "): check the output directory");
  Status st = extend_h5ad(tmp, additions);
  if (st.is_ok()) {
    fs::rename(tmp, output, ec);
    if (ec) st = Status::io_error("cannot rename " + tmp + " to " + output + ": " + ec.message());
  }
  if (!st.is_ok()) fs::remove(tmp, ec);
  return st;
}

}  // namespace sccello
