// Tokenizing a row block over several threads gives, row for row, what one thread gives (and
// what the single-cell tokenize() gives), on pbmc3k.
#include <stdexcept>

#include "store/cells/memory_matrix.h"
#include "tests/cells/cells_test_util.h"

namespace sccello::testing {
namespace {

TEST(cellsTokenizeThreads, SameCellsWhateverTheThreadCount) {
  auto reader = open_h5ad(data("cells/pbmc3k_seurat/pbmc3k_seurat.h5ad"), {}).value();
  Tokenizer tok(vocab(), reader->gene_ids(), TokenizerOptions{});
  RowBlock block;
  ASSERT_TRUE(reader->next_block(1000, &block));
  std::vector<TokenizedCell> one, three;
  tok.tokenize_rows(block.indptr.data(), block.indices.data(), block.data.data(), block.num_rows(), 1, &one);
  tok.tokenize_rows(block.indptr.data(), block.indices.data(), block.data.data(), block.num_rows(), 3, &three);
  ASSERT_EQ(one.size(), 1000u);
  ASSERT_EQ(three.size(), 1000u);
  TokenizeScratch scratch;
  std::vector<int32_t> tokens;
  std::vector<float> values;
  for (int64_t r = 0; r < block.num_rows(); ++r) {
    int64_t s = block.indptr[r];
    tok.tokenize(block.indices.data() + s, block.data.data() + s, block.indptr[r + 1] - s, &scratch, &tokens, &values);
    ASSERT_EQ(one[r].tokens, tokens) << r;
    ASSERT_EQ(one[r].values, values) << r;
    ASSERT_EQ(three[r].tokens, tokens) << r;
    ASSERT_EQ(three[r].values, values) << r;
    ASSERT_EQ(three[r].counts, one[r].counts) << r;
    ASSERT_EQ(three[r].total, one[r].total) << r;
    // The total is the sum of the cell's vocabulary-gene counts.
    ASSERT_EQ(one[r].total, tok.total(block.indices.data() + s, block.data.data() + s, block.indptr[r + 1] - s)) << r;
  }
}

// The import pipeline (block i read, i - 1 written, i encoded, each on its own thread; one to
// three tokenizer threads) stores what one thread doing all three in turn stores, cell for
// cell, over many small blocks.
TEST(cellsImportThreads, SameStoreWhateverTheThreadCount) {
  std::vector<std::vector<CellRecord>> stores;
  for (auto [threads, overlap] : {std::pair{1, false}, {1, true}, {2, true}, {3, true}}) {
    auto store = fresh_store(Backend::kRocksDb, "threads_" + std::to_string(threads) + std::to_string(overlap));
    CellImportOptions o;
    o.dataset = "pbmc3k";
    o.threads = threads;
    o.overlap_io = overlap;
    o.block_rows = 300;  // nine blocks
    auto report = import_cells(*store, vocab(), data("cells/pbmc3k_seurat/pbmc3k_seurat.h5ad"), o);
    ASSERT_TRUE(report.is_ok()) << report.status().message();
    std::vector<CellRecord> cells;
    ASSERT_TRUE(Corpus(*store).for_each("pbmc3k", [&](int64_t, const CellRecord& c) {
      cells.push_back(c);
      return true;
    }).is_ok());
    stores.push_back(std::move(cells));
  }
  ASSERT_EQ(stores[0].size(), 2638u);
  for (size_t t = 1; t < stores.size(); ++t) {
    ASSERT_EQ(stores[t].size(), stores[0].size());
    for (size_t i = 0; i < stores[0].size(); ++i) {
      ASSERT_EQ(stores[t][i].cell_id, stores[0][i].cell_id) << i;
      ASSERT_EQ(stores[t][i].tokens, stores[0][i].tokens) << i;
      ASSERT_EQ(stores[t][i].values, stores[0][i].values) << i;
    }
  }
}

// A 1,000-cell matrix in memory whose cell `bad_row` breaks the import (a repeated id or a
// fractional count): read in 128-cell blocks, the error is found eight blocks in.
Status import_broken_matrix(Store& store, int threads, bool overlap, bool duplicate_id) {
  const int64_t rows = 1000, cols = 40, bad_row = 900;
  std::vector<int64_t> indptr{0};
  std::vector<int32_t> indices;
  std::vector<float> values;
  for (int64_t r = 0; r < rows; ++r) {
    for (int32_t c = 0; c < cols; c += 1 + static_cast<int32_t>(r % 3)) {
      indices.push_back(c);
      values.push_back(static_cast<float>(1 + (r + c) % 7));
    }
    indptr.push_back(static_cast<int64_t>(indices.size()));
  }
  if (!duplicate_id) values[indptr[bad_row] + 1] = 2.5f;
  MatrixAnnotations ann;
  for (int32_t c = 0; c < cols; ++c) ann.gene_ids.push_back(vocab().gene_id(2 + c));
  for (int64_t r = 0; r < rows; ++r) ann.cell_ids.push_back("cell" + std::to_string(r));
  if (duplicate_id) ann.cell_ids[bad_row] = ann.cell_ids[3];
  BorrowedMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.data = values.data();
  m.indices = indices.data();
  m.indptr64 = indptr.data();
  m.nnz = static_cast<int64_t>(values.size());
  auto reader = open_memory_matrix(m, ann);
  if (!reader.is_ok()) return reader.status();
  CellImportOptions o;
  o.dataset = "broken";
  o.threads = threads;
  o.overlap_io = overlap;
  o.block_rows = 128;
  return import_cells(store, vocab(), **reader, "broken.h5ad", o).status();
}

TEST(cellsImportThreads, ALateBlocksErrorStopsTheImportWithNothingStored) {
  for (auto [threads, overlap] : {std::pair{1, false}, {1, true}, {2, true}}) {
    for (bool duplicate_id : {true, false}) {
      auto store = fresh_store(Backend::kRocksDb,
                               "broken_" + std::to_string(threads) + std::to_string(overlap) + std::to_string(duplicate_id));
      Status st = import_broken_matrix(*store, threads, overlap, duplicate_id);
      ASSERT_FALSE(st.is_ok()) << threads;
      if (duplicate_id) EXPECT_NE(st.message().find("duplicate cell id 'cell3' at rows 3 and 900"), std::string::npos) << st.message();
      else EXPECT_NE(st.message().find("2.5") , std::string::npos) << st.message();
      if (!duplicate_id) EXPECT_NE(st.message().find("'cell900'"), std::string::npos) << st.message();
      EXPECT_TRUE(Corpus(*store).datasets()->empty()) << threads;
    }
  }
}

// pbmc3k's reader, except that the block after `good_blocks` throws (as a bad_alloc would).
class ThrowingReader final : public CellMatrixReader {
 public:
  ThrowingReader(std::unique_ptr<CellMatrixReader> inner, int good_blocks)
      : inner_(std::move(inner)), good_blocks_(good_blocks) {}
  int64_t num_cells() const override { return inner_->num_cells(); }
  int64_t num_genes() const override { return inner_->num_genes(); }
  const std::vector<std::string>& gene_ids() const override { return inner_->gene_ids(); }
  bool next_block(int64_t max_rows, RowBlock* block) override {
    if (blocks_++ == good_blocks_) throw std::runtime_error("reader failed");
    return inner_->next_block(max_rows, block);
  }
  Result<std::vector<std::string>> cell_ids(int64_t first, int64_t count) override {
    return inner_->cell_ids(first, count);
  }
  std::vector<std::string> columns() const override { return inner_->columns(); }
  Result<std::vector<std::string>> column_values(const std::string& column, int64_t first, int64_t count) override {
    return inner_->column_values(column, first, count);
  }
  std::string describe() const override { return inner_->describe(); }

 private:
  std::unique_ptr<CellMatrixReader> inner_;
  int good_blocks_, blocks_ = 0;
};

// What a reading thread throws reaches the caller, as it does when one thread does everything
// (an exception leaving a thread would end the process), whichever block throws; nothing stays
// stored.
TEST(cellsImportThreads, AReadersExceptionReachesTheCaller) {
  for (auto [threads, overlap] : {std::pair{1, false}, {1, true}, {2, true}}) {
    for (int good_blocks : {0, 1, 4}) {
      const std::string name = "throwing_" + std::to_string(threads) + std::to_string(overlap) + std::to_string(good_blocks);
      auto store = fresh_store(Backend::kRocksDb, name);
      auto inner = open_h5ad(data("cells/pbmc3k_seurat/pbmc3k_seurat.h5ad"), {}).value();
      ThrowingReader reader(std::move(inner), good_blocks);
      CellImportOptions o;
      o.dataset = "pbmc3k";
      o.threads = threads;
      o.overlap_io = overlap;
      o.block_rows = 300;
      EXPECT_THROW((void)import_cells(*store, vocab(), reader, "pbmc3k.h5ad", o), std::runtime_error) << name;
      EXPECT_TRUE(Corpus(*store).datasets()->empty()) << name;
    }
  }
}

}  // namespace
}  // namespace sccello::testing
