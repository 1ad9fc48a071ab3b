// Corpus record format 2: cells with counts are stored as counts + total (exact values, about
// 2.4 bytes per token on pbmc3k), cells without usable counts fall back to 16-bit fixed point,
// and records of the old format 1 are refused with a message saying to re-import.
#include <cmath>
#include <nlohmann/json.hpp>

#include "store/kv_store.h"
#include "tests/cells/cells_test_util.h"

namespace sccello::testing {
namespace {

CellRecord small_cell(const std::string& id) {
  CellRecord c;
  c.cell_id = id;
  c.term_id = "CL:0000236";
  c.label = "B";
  c.tokens = {GeneVocab::kCls, 100, 32767, 7};
  c.counts = {0, 3, 1, 1};
  c.total = 5;
  for (uint32_t x : c.counts) c.values.push_back(static_cast<float>(std::log1p(x * 10000.0 / c.total)));
  return c;
}

void write_dataset(Store& store, const std::string& name, const std::vector<CellRecord>& cells) {
  auto w = DatasetWriter::begin(store, name, {}).value();
  for (const CellRecord& c : cells) ASSERT_TRUE(w->add(c).is_ok());
  DatasetInfo info;
  ASSERT_TRUE(w->commit(info).is_ok());
}

TEST(cellsCorpusFormat, CountsRoundTripExactly) {
  auto store = fresh_store(Backend::kRocksDb, "format_counts");
  CellRecord c = small_cell("a");
  write_dataset(*store, "d", {c});
  auto got = Corpus(*store).cell("d", 0).value();
  EXPECT_EQ(got.tokens, c.tokens);
  EXPECT_EQ(got.values, c.values);  // bit for bit
  EXPECT_EQ(got.counts, c.counts);
  EXPECT_EQ(got.total, 5.0);
}

TEST(cellsCorpusFormat, FallsBackToFixedPointWithoutMatchingCounts) {
  auto store = fresh_store(Backend::kSqlite, "format_fixed");
  CellRecord no_counts = small_cell("a");
  no_counts.counts.clear();
  CellRecord other_scale = small_cell("b");  // values normalised to 1e6, not 1e4: counts cannot reproduce them
  for (size_t i = 0; i < other_scale.values.size(); ++i)
    other_scale.values[i] = static_cast<float>(std::log1p(other_scale.counts[i] * 1e6 / other_scale.total));
  CellRecord big_token = small_cell("c");
  big_token.tokens[1] = 40000;  // does not fit 15 bits
  write_dataset(*store, "d", {no_counts, other_scale, big_token});
  Corpus corpus(*store);
  for (int i = 0; i < 3; ++i) {
    const CellRecord& want = i == 0 ? no_counts : i == 1 ? other_scale : big_token;
    auto got = corpus.cell("d", i).value();
    EXPECT_EQ(got.tokens, want.tokens) << i;
    EXPECT_TRUE(got.counts.empty()) << i;
    for (size_t k = 0; k < want.values.size(); ++k) EXPECT_NEAR(got.values[k], want.values[k], 1.0 / 8192) << i;
  }
}

TEST(cellsCorpusFormat, OldRecordFormatIsRefused) {
  auto store = fresh_store(Backend::kRocksDb, "format_old");
  write_dataset(*store, "d", {small_cell("a")});
  std::string manifest;
  ASSERT_TRUE(store->kv().get("ds/m/d", &manifest).is_ok());
  std::string gen = nlohmann::json::parse(manifest)["generation"];
  std::string key = "ds/c/" + gen + "/" + std::string(8, '\0');
  std::string old_record("\x01", 1);  // format 1: u8 version, strings, u16 tokens and values
  ASSERT_TRUE(store->kv().put(key, old_record + std::string(7, '\0')).is_ok());
  auto got = Corpus(*store).cell("d", 0);
  ASSERT_FALSE(got.is_ok());
  EXPECT_NE(got.status().message().find("record format 1"), std::string::npos) << got.status().message();
  EXPECT_NE(got.status().message().find("--replace"), std::string::npos) << got.status().message();
}

// pbmc3k: 2,167,991 tokens; counts encoding keeps the records within 2-3 bytes per token.
TEST(cellsCorpusFormat, Pbmc3kTakesUnderThreeBytesPerToken) {
  auto store = fresh_store(Backend::kRocksDb, "format_pbmc3k");
  CellImportOptions o;
  o.dataset = "pbmc3k";
  o.threads = 2;
  auto report = import_cells(*store, vocab(), data("cells/pbmc3k_seurat/pbmc3k_seurat.h5ad"), o);
  ASSERT_TRUE(report.is_ok()) << report.status().message();
  ASSERT_EQ(report->info.num_tokens, 2167991);
  int64_t bytes = Corpus(*store).stored_bytes("pbmc3k").value();
  double per_token = static_cast<double>(bytes) / report->info.num_tokens;
  EXPECT_GT(per_token, 2.0);
  EXPECT_LT(per_token, 3.0);
}

// The tokenizer vouches for its values (values_from_counts) and the writer then skips proving the
// counts identity; on every pbmc3k cell the record must be byte-identical to the proven one. The
// import's tokenizer (values = false) leaves the values out, and its records are the same bytes.
TEST(cellsCorpusFormat, TokenizerVouchedRecordsEqualProvenOnes) {
  CellImportOptions o;
  auto reader = open_cell_matrix(data("cells/pbmc3k_seurat/pbmc3k_seurat.h5ad"), o).value();
  Tokenizer tok(vocab(), reader->gene_ids(), o.tokenizer);
  TokenizerOptions counts_only = o.tokenizer;
  counts_only.values = false;
  Tokenizer lean(vocab(), reader->gene_ids(), counts_only);
  RowBlock block;
  TokenizeScratch scratch;
  TokenizedCell t, u;
  int64_t cells = 0, vouched = 0;
  while (reader->next_block(512, &block)) {
    for (int64_t r = 0; r < block.num_rows(); ++r) {
      int64_t at = block.indptr[r];
      tok.tokenize(block.indices.data() + at, block.data.data() + at, block.indptr[r + 1] - at, &scratch, &t);
      CellRecord c;
      c.cell_id = "cell" + std::to_string(cells++);
      c.tokens = t.tokens;
      c.values = t.values;
      c.counts = t.counts;
      c.total = t.total;
      c.values_from_counts = t.values_from_counts;
      vouched += c.values_from_counts;
      std::string fast, proven;
      encode_cell_record(c, &fast);
      c.values_from_counts = false;
      encode_cell_record(c, &proven);
      ASSERT_EQ(fast, proven) << c.cell_id;
      lean.tokenize(block.indices.data() + at, block.data.data() + at, block.indptr[r + 1] - at, &scratch, &u);
      ASSERT_EQ(u.tokens, t.tokens) << c.cell_id;
      ASSERT_EQ(u.counts, t.counts) << c.cell_id;
      ASSERT_TRUE(u.values.empty()) << c.cell_id;
      CellRecord d = c;
      d.values = u.values;
      d.values_from_counts = u.values_from_counts;
      std::string lean_bytes;
      encode_cell_record(d, &lean_bytes);
      ASSERT_EQ(lean_bytes, proven) << c.cell_id;
      // a record that cannot hold counts (a fractional total) gets its values from the counts
      d.total += 0.5;
      c.total += 0.5;
      std::string from_counts, given;
      encode_cell_record(d, &from_counts);
      c.values.assign(c.counts.size(), 0.0f);
      for (size_t i = 1; i < c.counts.size(); ++i)
        c.values[i] = static_cast<float>(std::log1p(c.counts[i] * 10000.0 / c.total));
      encode_cell_record(c, &given);
      ASSERT_EQ(from_counts, given) << c.cell_id;
    }
  }
  ASSERT_TRUE(reader->status().is_ok());
  EXPECT_EQ(cells, 2638);
  EXPECT_EQ(vouched, cells);  // raw integer counts, target 10,000: every cell
}

}  // namespace
}  // namespace sccello::testing
