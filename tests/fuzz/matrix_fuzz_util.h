// Shared by the matrix harnesses: writes the input to a per-process scratch file and drains a
// CellMatrixReader (every block, cell id and obs column), as an import would.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <string>

#include "store/cells/cell_matrix.h"

namespace sccello::fuzz {

inline std::string scratch_dir() {
  static std::string dir = [] {
    std::string d = "/tmp/sccello_fuzz_" + std::to_string(::getpid());
    std::string cmd = "mkdir -p " + d;
    if (std::system(cmd.c_str()) != 0) std::abort();
    return d;
  }();
  return dir;
}

inline void write_file(const std::string& path, const uint8_t* data, size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  std::fwrite(data, 1, size, f);
  std::fclose(f);
}

inline void drain(CellMatrixReader& reader) {
  RowBlock block;
  while (reader.next_block(2, &block)) {
    reader.cell_ids(block.first_row, block.num_rows());
    for (const std::string& c : reader.columns()) reader.column_values(c, block.first_row, block.num_rows());
  }
}

}  // namespace sccello::fuzz
