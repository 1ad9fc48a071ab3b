// Small RAII and read helpers over the HDF5 C API, shared by the h5ad and 10x HDF5 readers and
// the h5ad writer. Internal to store/ (includes hdf5.h). Handles are owned; not thread-safe
// (the HDF5 library is built without thread-safety).
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "graph/status.h"

namespace sccello::h5 {

// Owns one hid_t and closes it with the right H5*close.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }
  void reset();
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = -1;
};

void silence_errors();  // the library's own stderr traces are replaced by our Statuses
bool exists(hid_t loc, const std::string& path);  // every component checked
bool is_group(hid_t loc, const std::string& path);
Handle open_object(hid_t loc, const std::string& path);
std::vector<std::string> member_names(hid_t group);
int64_t length(hid_t dataset);  // first dimension
std::vector<int64_t> shape(hid_t dataset);
bool has_attr(hid_t obj, const std::string& name);
std::string string_attr(hid_t obj, const std::string& name);  // "" when absent or not text
std::vector<int64_t> int_array_attr(hid_t obj, const std::string& name);
bool is_string_type(hid_t dataset);
bool is_integer_like(hid_t dataset);  // integer or enum (booleans)
bool is_bool_enum(hid_t dataset);

// 1-D reads of [first, first+count); errors name `what`. Variable-length strings are read
// directly where they can be (hdf5_vlen.h), else, and fixed-length ones always, by H5Dread
// (read_strings_through_hdf5, also the oracle of the direct path's tests).
Status read_strings(hid_t dataset, int64_t first, int64_t count, std::vector<std::string>* out,
                    const std::string& what);
Status read_strings_through_hdf5(hid_t dataset, int64_t first, int64_t count, std::vector<std::string>* out,
                                 const std::string& what);
Status read_doubles(hid_t dataset, int64_t first, int64_t count, std::vector<double>* out, const std::string& what);
Status read_floats(hid_t dataset, int64_t first, int64_t count, std::vector<float>* out, const std::string& what);
Status read_int64(hid_t dataset, int64_t first, int64_t count, std::vector<int64_t>* out, const std::string& what);
Status read_int32(hid_t dataset, int64_t first, int64_t count, std::vector<int32_t>* out, const std::string& what);
// Rows [first, first+count) of a 2-D dataset, row-major floats.
Status read_rows_2d(hid_t dataset, int64_t first, int64_t count, int64_t cols, std::vector<float>* out,
                    const std::string& what);

}  // namespace sccello::h5
