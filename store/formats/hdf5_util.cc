#include "store/formats/hdf5_util.h"

#include "store/formats/hdf5_vlen.h"

#include <algorithm>
#include <cstring>

namespace sccello::h5 {

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    o.id_ = -1;
  }
  return *this;
}

void Handle::reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: H5Oclose(id_); break;
  }
  id_ = -1;
}

void silence_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

bool exists(hid_t loc, const std::string& path) {
  size_t pos = 0;
  while (true) {
    size_t next = path.find('/', pos);
    std::string prefix = path.substr(0, next);
    if (H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (next == std::string::npos) return true;
    pos = next + 1;
  }
}

bool is_group(hid_t loc, const std::string& path) {
  H5O_info_t info;
  if (H5Oget_info_by_name(loc, path.c_str(), &info, H5P_DEFAULT) < 0) return false;
  return info.type == H5O_TYPE_GROUP;
}

Handle open_object(hid_t loc, const std::string& path) { return Handle(H5Oopen(loc, path.c_str(), H5P_DEFAULT)); }

namespace {
herr_t collect_name(hid_t, const char* name, const H5L_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->push_back(name);
  return 0;
}
}  // namespace

std::vector<std::string> member_names(hid_t group) {
  std::vector<std::string> names;
  H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_name, &names);
  return names;
}

std::vector<int64_t> shape(hid_t dataset) {
  Handle space(H5Dget_space(dataset));
  int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank <= 0) return {};
  std::vector<hsize_t> dims(rank);
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return std::vector<int64_t>(dims.begin(), dims.end());
}

int64_t length(hid_t dataset) {
  auto s = shape(dataset);
  return s.empty() ? 0 : s[0];
}

bool has_attr(hid_t obj, const std::string& name) { return H5Aexists(obj, name.c_str()) > 0; }

// Elements of an attribute, or -1 when it cannot be read.
hssize_t attr_points(hid_t attr) {
  Handle space(H5Aget_space(attr));
  return space.valid() ? H5Sget_simple_extent_npoints(space.get()) : -1;
}

std::string string_attr(hid_t obj, const std::string& name) {
  if (!has_attr(obj, name)) return "";
  Handle attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  Handle type(H5Aget_type(attr.get()));
  if (H5Tget_class(type.get()) != H5T_STRING) return "";
  if (attr_points(attr.get()) != 1) return "";  // one string; a corrupt extent would overrun the buffer
  if (H5Tis_variable_str(type.get()) > 0) {
    Handle mem(H5Tcopy(H5T_C_S1));
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    char* value = nullptr;
    if (H5Aread(attr.get(), mem.get(), &value) < 0 || !value) return "";
    std::string out(value);
    H5free_memory(value);
    return out;
  }
  size_t size = H5Tget_size(type.get());
  if (size == 0 || size > (1u << 20)) return "";  // no real encoding attribute is that long
  std::string out(size, '\0');
  H5Aread(attr.get(), type.get(), out.data());
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::vector<int64_t> int_array_attr(hid_t obj, const std::string& name) {
  if (!has_attr(obj, name)) return {};
  Handle attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  Handle space(H5Aget_space(attr.get()));
  hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n > 64) return {};  // shapes have 2 entries; a corrupt extent must not size the buffer
  std::vector<int64_t> out(n > 0 ? n : 0);
  if (n <= 0 || H5Aread(attr.get(), H5T_NATIVE_INT64, out.data()) < 0) return {};
  return out;
}

bool is_string_type(hid_t dataset) {
  Handle type(H5Dget_type(dataset));
  return H5Tget_class(type.get()) == H5T_STRING;
}

bool is_integer_like(hid_t dataset) {
  Handle type(H5Dget_type(dataset));
  H5T_class_t c = H5Tget_class(type.get());
  return c == H5T_INTEGER || c == H5T_ENUM;
}

bool is_bool_enum(hid_t dataset) {
  Handle type(H5Dget_type(dataset));
  return H5Tget_class(type.get()) == H5T_ENUM;
}

namespace {
// Selects [first, first+count) of a 1-D dataset; returns the file space and a memory space.
// Bytes of memory a file of this size can plausibly need per read: deflate compresses at most
// ~1032:1, so data beyond ~1100 bytes per byte of file (plus 64 MiB of slack for fill values) is a
// corrupt extent or type size, refused before anything is allocated for it.
Status check_plausible_bytes(hid_t dataset, int64_t count, uint64_t element_bytes, const std::string& what) {
  hsize_t file_size = 0;
  Handle file(H5Iget_file_id(dataset));
  if (!file.valid() || H5Fget_filesize(file.get(), &file_size) < 0) return Status::ok();
  const uint64_t limit = (uint64_t{1} << 26) + static_cast<uint64_t>(file_size) * 1100;
  if (count < 0 || element_bytes == 0 || static_cast<uint64_t>(count) <= limit / element_bytes) return Status::ok();
  return Status::corruption(what + ": claims " + std::to_string(count) + " elements of " +
                            std::to_string(element_bytes) + " bytes in a file of " + std::to_string(file_size) +
                            " bytes; the file is corrupt");
}

Status select_range(hid_t dataset, int64_t first, int64_t count, Handle* file_space, Handle* mem_space,
                    const std::string& what) {
  *file_space = Handle(H5Dget_space(dataset));
  hsize_t start = first, n = count;
  int64_t len = length(dataset);
  if (first < 0 || count < 0 || first > len || count > len - first)
    return Status::corruption(what + ": asked for rows " + std::to_string(first) + ".." +
                              std::to_string(first + count) + " of " + std::to_string(len));
  SCCELLO_RETURN_IF_ERROR(check_plausible_bytes(dataset, count, sizeof(std::string), what));
  if (H5Sselect_hyperslab(file_space->get(), H5S_SELECT_SET, &start, nullptr, &n, nullptr) < 0)
    return Status::corruption(what + ": cannot select rows");
  *mem_space = Handle(H5Screate_simple(1, &n, nullptr));
  return Status::ok();
}

template <typename T>
Status read_numeric(hid_t dataset, hid_t mem_type, int64_t first, int64_t count, std::vector<T>* out,
                    const std::string& what) {
  // Resized, not cleared first: a reused vector is not zero-filled only to be overwritten.
  out->resize(static_cast<size_t>(std::max<int64_t>(count, 0)));
  if (count == 0) return Status::ok();
  Handle fs, ms;
  SCCELLO_RETURN_IF_ERROR(select_range(dataset, first, count, &fs, &ms, what));
  Handle type(H5Dget_type(dataset));
  if (H5Tget_class(type.get()) == H5T_ENUM) {  // booleans: read the base integers
    Handle base(H5Tget_super(type.get()));
    std::vector<int64_t> raw(count);
    if (H5Dread(dataset, H5T_NATIVE_INT64, ms.get(), fs.get(), H5P_DEFAULT, raw.data()) < 0) {
      Handle native(H5Tget_native_type(type.get(), H5T_DIR_ASCEND));
      std::vector<int8_t> bytes(count * H5Tget_size(native.get()));
      if (H5Dread(dataset, native.get(), ms.get(), fs.get(), H5P_DEFAULT, bytes.data()) < 0)
        return Status::corruption(what + ": read failed (the file may be truncated or corrupt)");
      for (int64_t i = 0; i < count; ++i) (*out)[i] = static_cast<T>(bytes[i * H5Tget_size(native.get())]);
      return Status::ok();
    }
    for (int64_t i = 0; i < count; ++i) (*out)[i] = static_cast<T>(raw[i]);
    return Status::ok();
  }
  if (H5Dread(dataset, mem_type, ms.get(), fs.get(), H5P_DEFAULT, out->data()) < 0)
    return Status::corruption(what + ": read failed (the file may be truncated or corrupt)");
  return Status::ok();
}
}  // namespace

Status read_doubles(hid_t d, int64_t first, int64_t count, std::vector<double>* out, const std::string& what) {
  return read_numeric(d, H5T_NATIVE_DOUBLE, first, count, out, what);
}
Status read_floats(hid_t d, int64_t first, int64_t count, std::vector<float>* out, const std::string& what) {
  return read_numeric(d, H5T_NATIVE_FLOAT, first, count, out, what);
}
Status read_int64(hid_t d, int64_t first, int64_t count, std::vector<int64_t>* out, const std::string& what) {
  return read_numeric(d, H5T_NATIVE_INT64, first, count, out, what);
}
Status read_int32(hid_t d, int64_t first, int64_t count, std::vector<int32_t>* out, const std::string& what) {
  return read_numeric(d, H5T_NATIVE_INT32, first, count, out, what);
}

Status read_strings(hid_t dataset, int64_t first, int64_t count, std::vector<std::string>* out,
                    const std::string& what) {
  if (count > 0 && is_string_type(dataset)) {
    Handle type(H5Dget_type(dataset));
    if (H5Tis_variable_str(type.get()) > 0) {
      bool read = false;
      SCCELLO_RETURN_IF_ERROR(read_vlen_strings_direct(dataset, first, count, out, &read, what));
      if (read) return Status::ok();
    }
  }
  return read_strings_through_hdf5(dataset, first, count, out, what);
}

Status read_strings_through_hdf5(hid_t dataset, int64_t first, int64_t count, std::vector<std::string>* out,
                                 const std::string& what) {
  out->clear();
  if (count == 0) return Status::ok();
  Handle fs, ms;
  SCCELLO_RETURN_IF_ERROR(select_range(dataset, first, count, &fs, &ms, what));
  out->assign(count, "");
  Handle type(H5Dget_type(dataset));
  if (H5Tget_class(type.get()) != H5T_STRING) return Status::invalid(what + ": not a string dataset");
  Handle mem(H5Tcopy(H5T_C_S1));
  if (H5Tis_variable_str(type.get()) > 0) {
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    std::vector<char*> ptrs(count, nullptr);
    if (H5Dread(dataset, mem.get(), ms.get(), fs.get(), H5P_DEFAULT, ptrs.data()) < 0)
      return Status::corruption(what + ": read failed (the file may be truncated or corrupt)");
    for (int64_t i = 0; i < count; ++i)
      if (ptrs[i]) (*out)[i] = ptrs[i];
    H5Dvlen_reclaim(mem.get(), ms.get(), H5P_DEFAULT, ptrs.data());
    return Status::ok();
  }
  size_t size = H5Tget_size(type.get());
  SCCELLO_RETURN_IF_ERROR(check_plausible_bytes(dataset, count, size, what));
  mem = Handle(H5Tcopy(type.get()));  // same size, padding and character set: no conversion
  std::vector<char> buf(size * count);
  if (H5Dread(dataset, mem.get(), ms.get(), fs.get(), H5P_DEFAULT, buf.data()) < 0)
    return Status::corruption(what + ": read failed (the file may be truncated or corrupt)");
  for (int64_t i = 0; i < count; ++i) {
    const char* s = buf.data() + i * size;
    (*out)[i] = std::string(s, strnlen(s, size));
  }
  return Status::ok();
}

Status read_rows_2d(hid_t dataset, int64_t first, int64_t count, int64_t cols, std::vector<float>* out,
                    const std::string& what) {
  out->resize(count * cols);
  if (count == 0) return Status::ok();
  Handle fs(H5Dget_space(dataset));
  hsize_t start[2] = {static_cast<hsize_t>(first), 0}, n[2] = {static_cast<hsize_t>(count), static_cast<hsize_t>(cols)};
  H5Sselect_hyperslab(fs.get(), H5S_SELECT_SET, start, nullptr, n, nullptr);
  Handle ms(H5Screate_simple(2, n, nullptr));
  if (H5Dread(dataset, H5T_NATIVE_FLOAT, ms.get(), fs.get(), H5P_DEFAULT, out->data()) < 0)
    return Status::corruption(what + ": read failed (the file may be truncated or corrupt)");
  return Status::ok();
}

}  // namespace sccello::h5
