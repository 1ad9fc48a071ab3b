// Shared fixtures of the cells tests: data paths, a fresh store per backend, the vocabulary, and
// the brute-force rank-value oracle (dense row, looped, std::stable_sort).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <unordered_set>
#include <vector>

#include "store/cells/cell_import.h"
#include "store/corpus.h"
#include "store/store.h"

namespace sccello::testing {

inline std::string data(const std::string& rel) { return std::string(SCCELLO_DATA_DIR) + "/" + rel; }

inline const GeneVocab& vocab() {
  static GeneVocab v = GeneVocab::load(data("vocab")).value();
  return v;
}

inline std::string temp_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("sccello_cells_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

inline std::unique_ptr<Store> fresh_store(Backend backend, const std::string& name) {
  std::string path = temp_path(name + "_" + backend_name(backend));
  std::filesystem::remove_all(path);
  StoreOptions o;
  o.path = path;
  o.backend = backend;
  return Store::open(o).value();
}

// The oracle: one cell as a dense row over the matrix's columns, encoded by the book.
struct OracleCell {
  std::vector<int32_t> tokens;
  std::vector<double> values;
};

inline OracleCell oracle_encode(const std::vector<double>& dense, const std::vector<int32_t>& col_token,
                                const GeneVocab& v, int max_len) {
  double n = 0;
  for (size_t c = 0; c < dense.size(); ++c)
    if (col_token[c] >= 0) n += dense[c];
  if (n == 0) n = 1;
  struct G { double r, v; int32_t token; };
  std::vector<G> genes;
  for (size_t c = 0; c < dense.size(); ++c) {
    if (col_token[c] < 0 || !(dense[c] > 0)) continue;
    double val = dense[c] * 10000.0 / n;
    genes.push_back({val / v.median(col_token[c]), val, col_token[c]});
  }
  std::stable_sort(genes.begin(), genes.end(), [](const G& a, const G& b) { return a.r > b.r; });
  OracleCell out{{GeneVocab::kCls}, {0.0}};
  for (size_t i = 0; i < genes.size() && static_cast<int>(out.tokens.size()) < max_len; ++i) {
    out.tokens.push_back(genes[i].token);
    out.values.push_back(std::log1p(genes[i].v));
  }
  return out;
}

// Column -> token with the first column of a gene winning (looped over the var ids).
inline std::vector<int32_t> oracle_columns(const std::vector<std::string>& ids, const GeneVocab& v) {
  std::vector<int32_t> out(ids.size(), -1);
  std::unordered_set<int32_t> seen;
  for (size_t c = 0; c < ids.size(); ++c) {
    GeneMapping m = v.map(ids[c]);
    if (m.kind == GeneMapping::Kind::kMapped && seen.insert(m.token).second) out[c] = m.token;
  }
  return out;
}

}  // namespace sccello::testing
