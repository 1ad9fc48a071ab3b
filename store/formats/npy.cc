#include "store/formats/npy.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace sccello {
namespace {

template <typename T>
Status write_array(const std::string& path, const char* descr, const T* values, int64_t rows, int64_t cols) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) return Status::io_error("cannot write " + tmp + ": check the directory and its permissions");
    const std::string header = npy_header(descr, rows, cols);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(reinterpret_cast<const char*>(values), static_cast<std::streamsize>(rows * cols * sizeof(T)));
    if (!out.flush()) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return Status::io_error("cannot write " + tmp + " (disk full?)");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::io_error("cannot rename " + tmp + " to " + path + ": " + ec.message());
  return Status::ok();
}

template <typename T>
Status write_array(const std::string& path, const char* descr, const std::vector<T>& values, int64_t rows,
                   int64_t cols) {
  if (static_cast<int64_t>(values.size()) != rows * cols)
    return Status::internal("npy: " + std::to_string(values.size()) + " values for a " + std::to_string(rows) + " x " +
                            std::to_string(cols) + " array");
  return write_array(path, descr, values.data(), rows, cols);
}

}  // namespace

std::string npy_header(const std::string& descr, int64_t rows, int64_t cols) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                     std::to_string(cols) + "), }";
  const size_t prefix = 10;  // magic (6) + version (2) + header length (2)
  size_t total = prefix + dict.size() + 1;
  total = (total + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(dict.size() & 0xff));
  out.push_back(static_cast<char>((dict.size() >> 8) & 0xff));
  return out + dict;
}

Status write_npy(const std::string& path, const std::vector<double>& v, int64_t rows, int64_t cols) {
  return write_array(path, "<f8", v, rows, cols);
}
Status write_npy(const std::string& path, const double* v, int64_t rows, int64_t cols) {
  return write_array(path, "<f8", v, rows, cols);
}
Status write_npy(const std::string& path, const std::vector<float>& v, int64_t rows, int64_t cols) {
  return write_array(path, "<f4", v, rows, cols);
}
Status write_npy(const std::string& path, const std::vector<uint8_t>& v, int64_t rows, int64_t cols) {
  return write_array(path, "|u1", v, rows, cols);
}

}  // namespace sccello
