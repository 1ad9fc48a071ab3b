// ScCelloModel: the scCello encoder (post-LN BERT over rank-value gene tokens, learned absolute
// positions) with its heads: mlm_head and cell_head (Linear→LayerNorm→ReLU→Linear), cell-type
// prototypes (one row per label) and `affine`. Shapes in comments: B cells, L tokens, H hidden.
// A module owns its parameters; not thread-safe (one training/inference thread drives it).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "model/model_config.h"

namespace sccello {

// Which last-layer state becomes the cell embedding. kClsHead is scCello's (DESIGN.md).
enum class CellReadout { kClsHead, kGeneMean, kGeneMeanHead };

// Linear(H,H) → LayerNorm → ReLU → Linear(H,H).
class ProjectionHeadImpl : public torch::nn::Module {
 public:
  ProjectionHeadImpl(int64_t hidden, double eps);
  torch::Tensor forward(const torch::Tensor& x);  // [..., H] -> [..., H]

 private:
  torch::nn::Linear dense_{nullptr}, out_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};
TORCH_MODULE(ProjectionHead);

// h = LN(x + Drop(Attn(x))); y = LN(h + Drop(W2·act(W1·h))).
class EncoderLayerImpl : public torch::nn::Module {
 public:
  explicit EncoderLayerImpl(const ModelConfig& config);
  // x [B,L,H], key_keep bool [B,1,1,L] -> [B,L,H]; with cls_only, only position 0 is computed
  // (queries of one row, all keys): [B,1,H]. Same numbers for that row.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& key_keep, bool cls_only = false);

 private:
  torch::Tensor self_attention(const torch::Tensor& x, const torch::Tensor& key_keep, bool cls_only);
  ModelConfig config_;
  torch::nn::Linear qkv_{nullptr}, attn_out_{nullptr}, ffn_in_{nullptr}, ffn_out_{nullptr};
  torch::nn::LayerNorm attn_norm_{nullptr}, ffn_norm_{nullptr};
};
TORCH_MODULE(EncoderLayer);

class ScCelloModelImpl : public torch::nn::Module {
 public:
  ScCelloModelImpl(const ModelConfig& config, int64_t num_cell_types);

  // ids [B,L] int64 (pad_id after each cell's tokens) -> sequence output [B,L,H].
  torch::Tensor encode(const torch::Tensor& ids);
  // Cell embedding z = normalize(cell_head(seq_out[:, 0])) (unscaled), [B,H].
  torch::Tensor cell_embedding(const torch::Tensor& seq_out);
  // The same from ids, computing only the <cls> row in the last layer (inference): [B,H].
  torch::Tensor embed_cells(const torch::Tensor& ids);
  // Another readout of the last layer (inference), [B,H], L2-normalised: kGeneMean = the mean of
  // the gene tokens' states (<cls> and <pad> left out), kGeneMeanHead = cell_head of that mean.
  torch::Tensor embed_cells(const torch::Tensor& ids, CellReadout readout);
  // normalize(mlm_head(word embedding weights)) (unscaled), [V,H].
  torch::Tensor vocabulary_keys();

  ProjectionHead& mlm_head() { return mlm_head_; }
  ProjectionHead& cell_head() { return cell_head_; }
  torch::nn::Embedding& prototypes() { return prototypes_; }
  torch::nn::Linear& affine() { return affine_; }
  const ModelConfig& config() const { return config_; }
  int64_t num_cell_types() const { return num_cell_types_; }
  double scale() const;  // s = 1/sqrt(tau)

 private:
  torch::Tensor embed(const torch::Tensor& ids);
  torch::Tensor run_layers(const torch::Tensor& ids, bool last_cls_only);
  void init_weights();
  ModelConfig config_;
  int64_t num_cell_types_;
  torch::nn::Embedding word_{nullptr}, position_{nullptr}, prototypes_{nullptr};
  torch::Tensor embedding_bias_;
  torch::nn::LayerNorm embedding_norm_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  ProjectionHead mlm_head_{nullptr}, cell_head_{nullptr};
  torch::nn::Linear affine_{nullptr};
};
TORCH_MODULE(ScCelloModel);

}  // namespace sccello
