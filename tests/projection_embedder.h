// A model-free cell embedder for tests and benchmarks of search and annotation: a fixed random
// +-1 projection of each cell's rank-weighted top genes (weight 1/sqrt(rank)). Cells of one type
// share top genes, so they land near each other; deterministic; counts the cells it embeds.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "model/search/cell_index.h"

namespace sccello::testing {

inline float projection_entry(int32_t token, int64_t d) {
  uint64_t x = (static_cast<uint64_t>(token) << 20) ^ static_cast<uint64_t>(d) * 0x9E3779B97F4A7C15ull;
  x ^= x >> 33, x *= 0xff51afd7ed558ccdull, x ^= x >> 33, x *= 0xc4ceb9fe1a85ec53ull, x ^= x >> 33;
  return (x & 1) ? 1.0f : -1.0f;
}

struct ProjectionEmbedder {
  int64_t dims = 48;
  int64_t top_genes = 200;
  int64_t cells = 0;  // embedded so far

  std::vector<float> embed_one(const std::vector<int32_t>& tokens) const {
    std::vector<float> v(static_cast<size_t>(dims), 0.0f);
    for (size_t i = 1; i < tokens.size() && static_cast<int64_t>(i) <= top_genes; ++i)
      for (int64_t d = 0; d < dims; ++d) v[d] += projection_entry(tokens[i], d) / std::sqrt(float(i));
    return v;
  }
  CellEmbedder fn() {
    return [this](const std::vector<std::vector<int32_t>>& batch) -> Result<std::vector<float>> {
      std::vector<float> out;
      for (const auto& tokens : batch) {
        ++cells;
        std::vector<float> v = embed_one(tokens);
        out.insert(out.end(), v.begin(), v.end());
      }
      return out;
    };
  }
};

}  // namespace sccello::testing
