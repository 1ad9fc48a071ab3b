// NumPy .npy (format 1.0) writer for the matrices users take into Python: C-order 2-D arrays of
// float64, float32 or uint8, written atomically (temporary file, rename). Stateless.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/status.h"

namespace sccello {

Status write_npy(const std::string& path, const std::vector<double>& values, int64_t rows, int64_t cols);
Status write_npy(const std::string& path, const double* values, int64_t rows, int64_t cols);
Status write_npy(const std::string& path, const std::vector<float>& values, int64_t rows, int64_t cols);
Status write_npy(const std::string& path, const std::vector<uint8_t>& values, int64_t rows, int64_t cols);

// The .npy header for a C-order array of `descr` ('<f8', '<f4', '|u1') and shape rows x cols,
// padded with spaces to a multiple of 64 bytes and ending in '\n'.
std::string npy_header(const std::string& descr, int64_t rows, int64_t cols);

}  // namespace sccello
