// ScCelloModel: embeddings, post-LN encoder layers, heads, BERT initialisation.
#include "model/encoder.h"

#include <cmath>

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include "model/losses.h"
#include "model/torch_compat.h"

namespace sccello {

namespace {

namespace nn = torch::nn;

// LayerNorm in fp32 (its weights are fp32; under bf16 autocast the input may be bf16).
torch::Tensor norm_fp32(nn::LayerNorm& norm, const torch::Tensor& x) {
  return norm->forward(x.scalar_type() == at::kFloat ? x : x.to(at::kFloat));
}

nn::LayerNorm make_norm(int64_t hidden, double eps) {
  return nn::LayerNorm(nn::LayerNormOptions({hidden}).eps(eps));
}

}  // namespace

ProjectionHeadImpl::ProjectionHeadImpl(int64_t hidden, double eps) {
  dense_ = register_module("dense", nn::Linear(hidden, hidden));
  norm_ = register_module("norm", make_norm(hidden, eps));
  out_ = register_module("out", nn::Linear(hidden, hidden));
}

torch::Tensor ProjectionHeadImpl::forward(const torch::Tensor& x) {
  return out_->forward(at::relu(norm_fp32(norm_, dense_->forward(x))));
}

EncoderLayerImpl::EncoderLayerImpl(const ModelConfig& config) : config_(config) {
  const int64_t h = config.hidden;
  qkv_ = register_module("qkv", nn::Linear(h, 3 * h));
  attn_out_ = register_module("attn_out", nn::Linear(h, h));
  attn_norm_ = register_module("attn_norm", make_norm(h, config.layer_norm_eps));
  ffn_in_ = register_module("ffn_in", nn::Linear(h, config.ffn));
  ffn_out_ = register_module("ffn_out", nn::Linear(config.ffn, h));
  ffn_norm_ = register_module("ffn_norm", make_norm(h, config.layer_norm_eps));
}

// x [B,L,H] -> [B,Q,H] (Q = L, or 1 with cls_only): multi-head attention over non-padding keys.
torch::Tensor EncoderLayerImpl::self_attention(const torch::Tensor& x, const torch::Tensor& key_keep, bool cls_only) {
  const int64_t b = x.size(0), l = x.size(1), heads = config_.heads, h = config_.hidden, d = h / heads;
  torch::Tensor q, k, v;
  if (!cls_only) {
    auto qkv = qkv_->forward(x).view({b, l, 3, heads, d}).permute({2, 0, 3, 1, 4});  // 3 x [B,heads,L,d]
    q = qkv[0], k = qkv[1], v = qkv[2];
  } else {
    const auto &w = qkv_->weight, &bias = qkv_->bias;
    q = at::linear(x.narrow(1, 0, 1), w.narrow(0, 0, h), bias.narrow(0, 0, h)).view({b, 1, heads, d}).transpose(1, 2);
    auto kv = at::linear(x, w.narrow(0, h, 2 * h), bias.narrow(0, h, 2 * h)).view({b, l, 2, heads, d}).permute({2, 0, 3, 1, 4});
    k = kv[0], v = kv[1];
  }
  auto context = masked_attention(q, k, v, key_keep, config_.attention_dropout, is_training());
  context = context.transpose(1, 2).reshape({b, q.size(2), h});  // [B,Q,H]
  return attn_out_->forward(context);
}

torch::Tensor EncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& key_keep, bool cls_only) {
  const bool train = is_training();
  auto attn = fast_dropout(self_attention(x, key_keep, cls_only), config_.dropout, train);
  auto h = norm_fp32(attn_norm_, (cls_only ? x.narrow(1, 0, 1) : x) + attn);
  auto inner = ffn_in_->forward(h);
  inner = config_.activation == "gelu" ? at::gelu(inner) : at::relu(inner);
  auto ffn = fast_dropout(ffn_out_->forward(inner), config_.dropout, train);
  return norm_fp32(ffn_norm_, h + ffn);
}

ScCelloModelImpl::ScCelloModelImpl(const ModelConfig& config, int64_t num_cell_types)
    : config_(config), num_cell_types_(num_cell_types) {
  const int64_t h = config.hidden;
  word_ = register_module("word", nn::Embedding(config.vocab_size, h));
  position_ = register_module("position", nn::Embedding(config.max_positions, h));
  embedding_bias_ = register_parameter("embedding_bias", torch::zeros({h}));
  embedding_norm_ = register_module("embedding_norm", make_norm(h, config.layer_norm_eps));
  layers_ = register_module("layers", nn::ModuleList());
  for (int64_t i = 0; i < config.layers; ++i) layers_->push_back(EncoderLayer(config));
  mlm_head_ = register_module("mlm_head", ProjectionHead(h, config.layer_norm_eps));
  cell_head_ = register_module("cell_head", ProjectionHead(h, config.layer_norm_eps));
  prototypes_ = register_module("prototypes", nn::Embedding(num_cell_types, h));
  affine_ = register_module("affine", nn::Linear(h, h));
  init_weights();
}

// BERT initialisation: N(0, 0.02) weights, zero biases, LayerNorm 1/0.
void ScCelloModelImpl::init_weights() {
  torch::NoGradGuard no_grad;
  for (auto& item : named_parameters()) {
    const std::string& name = item.key();
    auto& p = item.value();
    bool is_norm = name.find("norm") != std::string::npos;
    if (is_norm) p.fill_(name.size() >= 6 && name.substr(name.size() - 6) == "weight" ? 1.0 : 0.0);
    else if (p.dim() >= 2) p.normal_(0.0, 0.02);
    else p.zero_();
  }
}

double ScCelloModelImpl::scale() const { return 1.0 / std::sqrt(config_.tau); }

// ids [B,L] -> LN(word + pos + b), dropout: [B,L,H]
torch::Tensor ScCelloModelImpl::embed(const torch::Tensor& ids) {
  auto positions = at::arange(ids.size(1), ids.options().dtype(at::kLong));
  auto x = word_->forward(ids) + position_->forward(positions).unsqueeze(0) + embedding_bias_;
  return fast_dropout(norm_fp32(embedding_norm_, x), config_.dropout, is_training());
}

torch::Tensor ScCelloModelImpl::run_layers(const torch::Tensor& ids, bool last_cls_only) {
  TORCH_CHECK(ids.size(1) <= config_.max_positions, "sequence longer than the position table");
  auto key_keep = ids.ne(config_.pad_id).view({ids.size(0), 1, 1, ids.size(1)});
  auto x = embed(ids);
  const size_t n = layers_->size();
  for (size_t i = 0; i < n; ++i) x = layers_[i]->as<EncoderLayer>()->forward(x, key_keep, last_cls_only && i + 1 == n);
  return x;
}

torch::Tensor ScCelloModelImpl::encode(const torch::Tensor& ids) { return run_layers(ids, false); }

torch::Tensor ScCelloModelImpl::embed_cells(const torch::Tensor& ids) { return cell_embedding(run_layers(ids, true)); }

torch::Tensor ScCelloModelImpl::embed_cells(const torch::Tensor& ids, CellReadout readout) {
  if (readout == CellReadout::kClsHead) return embed_cells(ids);
  auto seq_out = run_layers(ids, false);
  auto genes = ids.ne(config_.pad_id).logical_and(ids.ne(config_.cls_id)).to(seq_out.scalar_type()).unsqueeze(2);
  auto mean = (seq_out * genes).sum(1) / genes.sum(1).clamp_min(1.0);  // [B,H]
  if (readout == CellReadout::kGeneMeanHead) mean = cell_head_->forward(mean);
  return l2_normalize(mean.to(at::kFloat));
}

torch::Tensor ScCelloModelImpl::cell_embedding(const torch::Tensor& seq_out) {
  auto cls = seq_out.select(1, 0);  // [B,H]
  return l2_normalize(cell_head_->forward(cls).to(at::kFloat));
}

torch::Tensor ScCelloModelImpl::vocabulary_keys() {
  return l2_normalize(mlm_head_->forward(word_->weight).to(at::kFloat));
}

}  // namespace sccello
