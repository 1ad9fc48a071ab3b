// In-silico deletion (model/markers.h) on a tiny random model: the batched scores equal one
// embedding per deleted gene (embed_cells, the oracle), deletion removes the token (later genes
// move up, the next gene past the window enters), and the train-time evaluation hook logs a
// clustering row for bundled pbmc3k cells.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "model/inference.h"
#include "model/markers.h"
#include "model/train_eval.h"
#include "store/cells/gene_vocab.h"

namespace sccello {
namespace {

ModelConfig tiny_model() {
  ModelConfig m;
  m.layers = 2, m.hidden = 32, m.heads = 4, m.ffn = 64, m.max_positions = 16;
  return m;
}

std::vector<int32_t> example_cell(int genes) {
  std::vector<int32_t> cell{GeneVocab::kCls};
  for (int g = 0; g < genes; ++g) cell.push_back(100 + 37 * g);
  return cell;
}

double cosine(const float* a, const float* b, int64_t h) {
  double ab = 0, aa = 0, bb = 0;
  for (int64_t i = 0; i < h; ++i) ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i];
  return ab / std::sqrt(aa * bb);
}

TEST(Markers, BatchedDeletionEqualsOneEmbeddingPerGene) {
  torch::manual_seed(3);
  ScCelloModel model(tiny_model(), 3);
  const std::vector<int32_t> cell = example_cell(20);  // 20 genes, window of 16 tokens: 15 in view
  DeletionOptions o;
  o.max_len = 16;
  o.max_batch = 4;  // several chunks
  auto scores = deletion_scores(model, cell, o);
  ASSERT_TRUE(scores.is_ok()) << scores.status().message();
  ASSERT_EQ(scores->tokens.size(), 15u);
  EXPECT_EQ(scores->tokens.front(), cell[1]);
  std::vector<std::vector<int32_t>> oracle{cell};
  for (size_t g = 1; g <= 15; ++g) {
    std::vector<int32_t> without = cell;
    without.erase(without.begin() + g);  // gene 16 moves into the window
    oracle.push_back(without);
  }
  EmbedOptions eo;
  eo.max_len = 16;
  eo.batch_size = 1;
  auto z = embed_cells(model, oracle, eo);
  ASSERT_TRUE(z.is_ok());
  const int64_t h = 32;
  for (size_t g = 0; g < 15; ++g)
    EXPECT_NEAR(scores->score[g], 1.0 - cosine(z->data(), z->data() + (g + 1) * h, h), 2e-5) << "gene " << g;
  double spread = 0;
  for (double s : scores->score) spread = std::max(spread, s);
  EXPECT_GT(spread, 1e-6);  // deletions move the embedding
}

TEST(Markers, ShortCellAndEmptyCell) {
  ScCelloModel model(tiny_model(), 3);
  auto two = deletion_scores(model, example_cell(2), DeletionOptions{});
  ASSERT_TRUE(two.is_ok());
  EXPECT_EQ(two->score.size(), 2u);
  EXPECT_FALSE(deletion_scores(model, {GeneVocab::kCls}, DeletionOptions{}).is_ok());
}

TEST(TrainEval, HookLogsClusteringRowForPbmc3k) {
  setenv("SCCELLO_DATA_DIR", SCCELLO_DATA_DIR, 1);
  TrainEvalOptions o;
  o.data = std::string(SCCELLO_DATA_DIR) + "/cells/pbmc3k_seurat/pbmc3k_seurat.h5ad";
  o.label_column = "cell_type";
  o.every = 5;
  o.cells = 200;
  TrainRequest request;
  ASSERT_TRUE(install_train_eval(o, &request).is_ok());
  EXPECT_EQ(request.step_hook_every, 5);
  torch::manual_seed(1);
  ScCelloModel model(tiny_model(), 9);
  auto line = request.step_hook(model, 10);
  ASSERT_TRUE(line.is_ok()) << line.status().message();
  const auto j = nlohmann::json::parse(*line);
  EXPECT_EQ(j["type"], "eval");
  EXPECT_EQ(j["step"], 10);
  EXPECT_EQ(j["cells"], 200);
  for (const char* k : {"nmi", "ari", "asw_label", "avg_bio"}) {
    EXPECT_GE(j[k].get<double>(), -1.0) << k;
    EXPECT_LE(j[k].get<double>(), 1.0) << k;
  }
  EXPECT_NEAR(j["avg_bio"].get<double>(),
              (j["nmi"].get<double>() + j["ari"].get<double>() + j["asw_label"].get<double>()) / 3, 1e-12);
  o.label_column = "no_such_column";
  EXPECT_FALSE(install_train_eval(o, &request).is_ok());
}

}  // namespace
}  // namespace sccello
