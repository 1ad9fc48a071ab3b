// Tokenizing a row block over several threads gives, row for row, what one thread gives (and
// what the single-cell tokenize() gives), on pbmc3k.
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

}  // namespace
}  // namespace sccello::testing
