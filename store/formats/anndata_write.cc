#include "store/formats/anndata_write.h"

#include "store/formats/hdf5_util.h"

namespace sccello::anndata {
namespace {

using h5::Handle;

Handle vlen_string_type() {
  Handle t(H5Tcopy(H5T_C_S1));
  H5Tset_size(t.get(), H5T_VARIABLE);
  H5Tset_cset(t.get(), H5T_CSET_UTF8);
  return t;
}

std::vector<const char*> c_strings(const std::vector<std::string>& values) {
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const auto& v : values) ptrs.push_back(v.c_str());
  return ptrs;
}

}  // namespace

bool string_attr(hid_t obj, const char* name, const std::string& value) {
  Handle type = vlen_string_type();
  Handle space(H5Screate(H5S_SCALAR));
  Handle attr(H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  const char* p = value.c_str();
  return attr.valid() && H5Awrite(attr.get(), type.get(), &p) >= 0;
}

bool string_array_attr(hid_t obj, const char* name, const std::vector<std::string>& values) {
  Handle type = vlen_string_type();
  hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr));
  Handle attr(H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  std::vector<const char*> ptrs = c_strings(values);
  return attr.valid() && (n == 0 || H5Awrite(attr.get(), type.get(), ptrs.data()) >= 0);
}

bool encode(hid_t obj, const char* type, const char* version) {
  return string_attr(obj, "encoding-type", type) && string_attr(obj, "encoding-version", version);
}

bool string_dataset(hid_t parent, const std::string& name, const std::vector<std::string>& values) {
  Handle type = vlen_string_type();
  hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr));
  Handle ds(H5Dcreate2(parent, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  std::vector<const char*> ptrs = c_strings(values);
  if (!ds.valid() || (n > 0 && H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0))
    return false;
  return encode(ds.get(), "string-array", "0.2.0");
}

bool dataframe(hid_t file, const char* name, const std::vector<std::string>& index, const Columns& columns,
               bool with_index) {
  Handle group(H5Gcreate2(file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  std::vector<std::string> order;
  for (const auto& c : columns) order.push_back(c.first);
  bool ok = group.valid() && encode(group.get(), "dataframe", "0.2.0") &&
            string_array_attr(group.get(), "column-order", order);
  if (with_index)
    ok = ok && string_attr(group.get(), "_index", "_index") && string_dataset(group.get(), "_index", index);
  for (const auto& [col, values] : columns) ok = ok && string_dataset(group.get(), col, values);
  return ok;
}

bool empty_dict(hid_t file, const char* name) {
  Handle group(H5Gcreate2(file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  return group.valid() && encode(group.get(), "dict", "0.1.0");
}

}  // namespace sccello::anndata
