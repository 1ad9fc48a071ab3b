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

// Counts that are not all small integers take the tokenizer's other paths: fractional counts
// (the total summed one count after another, no counts kept) and integer counts in [2^31, 2^32)
// (summed one after another too, the kept counts tested one by one, and kept). pbmc3k's first 500 cells, each count scaled, against the
// oracle: tokens, values and the total exactly, and counts kept only when they are integers.
TEST(cellsOracle, FractionalAndHugeCountsEqualTheOracle) {
  auto reader = open_h5ad(data("cells/pbmc3k_seurat/pbmc3k_seurat.h5ad"), {}).value();
  auto col_token = oracle_columns(reader->gene_ids(), vocab());
  Tokenizer tok(vocab(), reader->gene_ids(), TokenizerOptions{});
  RowBlock block;
  ASSERT_TRUE(reader->next_block(500, &block));
  TokenizeScratch scratch;
  TokenizedCell got;
  int64_t with_counts = 0;
  for (bool huge : {false, true}) {
    // x * 0.37, or 2^31 + 256 x: integers in [2^31, 2^32), which floats hold exactly
    std::vector<float> data = block.data;
    for (float& x : data) x = huge ? 2147483648.0f + 256.0f * x : x * 0.37f;
    const float scale = huge ? 2147483648.0f : 0.37f;  // names the case in messages
    for (int64_t r = 0; r < block.num_rows(); ++r) {
      const int64_t s = block.indptr[r], e = block.indptr[r + 1];
      // a first count of 2^60 (a double's step there is 256): the others, below 128 each, round
      // away when added after it one by one, while summed apart they would add up to a step
      if (!huge && e > s) data[s] = 1152921504606846976.0f;
      std::vector<double> dense(reader->num_genes(), 0.0);
      for (int64_t i = s; i < e; ++i) dense[block.indices[i]] = data[i];
      OracleCell want = oracle_encode(dense, col_token, vocab(), 2048);
      tok.tokenize(block.indices.data() + s, data.data() + s, e - s, &scratch, &got);
      ASSERT_EQ(got.tokens, want.tokens) << scale << " cell " << r;
      ASSERT_EQ(got.values.size(), want.values.size()) << scale << " cell " << r;
      for (size_t i = 0; i < want.values.size(); ++i)
        ASSERT_EQ(got.values[i], static_cast<float>(want.values[i])) << scale << " cell " << r << " token " << i;
      ASSERT_EQ(got.total, tok.total(block.indices.data() + s, data.data() + s, e - s)) << scale << " cell " << r;
      bool integers = true;
      for (int64_t i = s; i < e; ++i) integers = integers && data[i] == std::floor(data[i]) && data[i] < 4294967296.0f;
      if (!integers) {
        ASSERT_TRUE(got.counts.empty()) << scale << " cell " << r;
        continue;
      }
      ASSERT_EQ(got.counts.size(), got.tokens.size()) << scale << " cell " << r;
      ++with_counts;
      for (size_t i = 1; i < got.tokens.size(); ++i) {  // the count of each kept gene, as given
        const int32_t token = got.tokens[i];
        int64_t col = -1;
        for (int64_t j = s; j < e && col < 0; ++j)
          if (col_token[block.indices[j]] == token) col = j;
        ASSERT_GE(col, 0);
        ASSERT_EQ(static_cast<double>(got.counts[i]), static_cast<double>(data[col])) << scale << " cell " << r;
      }
    }
  }
  EXPECT_EQ(with_counts, 500);  // every cell of the second case keeps its counts
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
