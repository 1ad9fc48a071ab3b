// Shared fixtures of the eval tests: the bundled real datasets, their obs columns, and the PCA
// baseline embedding of pbmc3k computed once per test binary. Not thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "model/eval/eval_inputs.h"
#include "model/eval/pca_baseline.h"
#include "store/formats/h5ad_reader.h"

namespace sccello::eval {

inline std::string data_file(const std::string& rel) { return std::string(SCCELLO_DATA_DIR) + "/" + rel; }
inline const std::string kPbmc3k = data_file("cells/pbmc3k_seurat/pbmc3k_seurat.h5ad");
inline const std::string kPbmc68k = data_file("cells/pbmc68k_reduced/10x_pbmc68k_reduced.h5ad");
inline const std::string kPbmc4k = data_file("cells/pbmc4k_soupx/pbmc4k_soupx.h5ad");

inline std::vector<std::string> obs_ids(const std::string& h5ad) {
  auto reader = open_h5ad(h5ad, H5adOptions{});
  EXPECT_TRUE(reader.is_ok()) << reader.status().message();
  auto ids = (*reader)->cell_ids(0, (*reader)->num_cells());
  EXPECT_TRUE(ids.is_ok());
  return *ids;
}

// pbmc3k's PCA baseline (raw counts -> log1p CP10k -> 2000 HVG -> scale -> 50 PCs), once.
inline const PcaResult& pbmc3k_pca() {
  static PcaResult* result = [] {
    auto expr = read_log_expression(kPbmc3k, obs_ids(kPbmc3k), PcaOptions{});
    EXPECT_TRUE(expr.is_ok()) << expr.status().message();
    auto pca = pca_baseline(*expr, PcaOptions{});
    EXPECT_TRUE(pca.is_ok()) << pca.status().message();
    return new PcaResult(std::move(pca).value());
  }();
  return *result;
}

// Writes an embedding TSV as `sccello embed --out x.tsv` does (cell_id, term_id, dim0...).
inline void write_tsv(const std::string& path, const std::vector<std::string>& ids, const std::vector<std::string>& terms,
                      const std::vector<float>& values, int64_t dims) {
  std::ofstream out(path);
  out << "cell_id\tterm_id";
  for (int64_t d = 0; d < dims; ++d) out << "\tdim" << d;
  out << '\n';
  for (size_t i = 0; i < ids.size(); ++i) {
    out << ids[i] << '\t' << terms[i];
    for (int64_t d = 0; d < dims; ++d) out << '\t' << values[i * dims + d];
    out << '\n';
  }
}

}  // namespace sccello::eval
