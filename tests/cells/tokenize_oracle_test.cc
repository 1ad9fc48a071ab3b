// Every cell of every bundled dataset, imported into both store backends, equals the brute-force
// rank-value oracle (tokens and values exactly: the records store counts and totals).
#include "tests/cells/cells_test_util.h"

namespace sccello::testing {
namespace {

struct Case {
  std::string name, path;
  bool assume_normalized = false;
};

class OracleTest : public ::testing::TestWithParam<std::tuple<Backend, int>> {};

const std::vector<Case>& cases() {
  static std::vector<Case> c = {
      {"pbmc3k", data("cells/pbmc3k_seurat/pbmc3k_seurat.h5ad")},
      {"pbmc4k", data("cells/pbmc4k_soupx/pbmc4k_soupx.h5ad")},
      {"heart_new", data("cells/heart_fixture/example_valid.h5ad")},
      {"heart_old", data("cells/heart_fixture/example_with_labels_old_encoding.h5ad")},
      {"tenx_mtx", data("cells/tenx_v3_subset")},
      {"tenx_h5", data("cells/tenx_v3_subset/filtered_feature_bc_matrix.h5")},
      {"pbmc68k", data("cells/pbmc68k_reduced/10x_pbmc68k_reduced.h5ad"), true},
  };
  return c;
}

TEST_P(OracleTest, EveryCellEqualsTheOracle) {
  auto [backend, which] = GetParam();
  const Case& c = cases()[which];
  auto store = fresh_store(backend, "oracle_" + c.name);
  CellImportOptions o;
  o.dataset = c.name;
  o.assume_normalized = c.assume_normalized;
  auto report = import_cells(*store, vocab(), c.path, o);
  ASSERT_TRUE(report.is_ok()) << report.status().message();

  auto reader = open_cell_matrix(c.path, o).value();
  auto col_token = oracle_columns(reader->gene_ids(), vocab());
  std::vector<std::string> totals;
  if (c.assume_normalized) totals = reader->column_values("n_counts", 0, reader->num_cells()).value();
  Corpus corpus(*store);
  RowBlock block;
  int64_t checked = 0;
  while (reader->next_block(500, &block)) {
    for (int64_t r = 0; r < block.num_rows(); ++r) {
      int64_t row = block.first_row + r;
      std::vector<double> dense(reader->num_genes(), 0.0);
      for (int64_t i = block.indptr[r]; i < block.indptr[r + 1]; ++i) {
        double x = block.data[i];
        if (c.assume_normalized) x = std::nearbyint(std::expm1(x) * std::stod(totals[row]) / 10000.0);
        dense[block.indices[i]] = x;
      }
      OracleCell want = oracle_encode(dense, col_token, vocab(), 2048);
      auto got = corpus.cell(c.name, row);
      ASSERT_TRUE(got.is_ok()) << got.status().message();
      ASSERT_EQ(got->tokens, want.tokens) << c.name << " cell " << row;
      // Values are stored as counts and the total: equal to the oracle's float(log1p(v)) exactly.
      for (size_t i = 0; i < want.values.size(); ++i)
        ASSERT_EQ(got->values[i], static_cast<float>(want.values[i])) << c.name << " cell " << row << " token " << i;
      ASSERT_EQ(got->counts.size(), want.tokens.size()) << "stored as fixed point, not counts";
      ++checked;
    }
  }
  ASSERT_TRUE(reader->status().is_ok());
  EXPECT_EQ(checked, report->info.num_cells);
  EXPECT_GT(checked, 0);
}

std::string case_name(const ::testing::TestParamInfo<std::tuple<Backend, int>>& info) {
  return backend_name(std::get<0>(info.param)) + "_" + cases()[std::get<1>(info.param)].name;
}

INSTANTIATE_TEST_SUITE_P(cells, OracleTest,
                         ::testing::Combine(::testing::Values(Backend::kRocksDb, Backend::kSqlite),
                                            ::testing::Range(0, 7)),
                         case_name);

}  // namespace
}  // namespace sccello::testing
