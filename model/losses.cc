// Loss terms of scCello. The alignment loss is computed for all anchors and level thresholds at
// once on [n, K, n] masks (K = the largest level), the reference's double loop becomes three
// broadcasts and one logsumexp.
#include "model/losses.h"

#include <ATen/ATen.h>

#include "model/torch_compat.h"

namespace sccello {

at::Tensor l2_normalize(const at::Tensor& x) {
  return x / x.norm(2, {-1}, /*keepdim=*/true).clamp_min(1e-12);
}

namespace {

// Cross-entropy and number of correct argmaxes.
std::pair<at::Tensor, int64_t> cross_entropy(const at::Tensor& logits, const at::Tensor& targets) {
  auto log_probs = at::log_softmax(logits.to(at::kFloat), 1);
  auto loss = at::nll_loss(log_probs, targets);
  int64_t correct = log_probs.argmax(1).eq(targets).sum().item<int64_t>();
  return {loss, correct};
}

at::Tensor zero_like_graph(const at::Tensor& anchor) { return (anchor.sum() * 0.0).to(at::kFloat); }

}  // namespace

MgpResult masked_gene_prediction_loss(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& targets,
                                      double scale) {
  // No AutocastPause: under bf16 autocast the [M,V] logits product runs in bf16 like the reference
  // (HF Trainer bf16); it is the largest non-encoder product. The softmax is fp32.
  MgpResult out;
  out.count = q.size(0);
  if (out.count == 0) {
    out.loss = zero_like_graph(keys);
    return out;
  }
  auto logits = at::matmul(l2_normalize(q.to(at::kFloat)) * (scale * scale), keys.to(at::kFloat).t());  // [M,V]
  std::tie(out.loss, out.correct) = cross_entropy(logits, targets);
  return out;
}

CoherenceResult cell_type_coherence_loss(const at::Tensor& z, const at::Tensor& prototypes,
                                         const at::Tensor& labels, double scale) {
  AutocastPause fp32;
  CoherenceResult out;
  auto rows = labels.ge(0).nonzero().squeeze(1);
  out.count = rows.size(0);
  if (out.count == 0 || prototypes.size(0) == 0) {
    out.loss = zero_like_graph(z);
    out.count = 0;
    return out;
  }
  auto p = l2_normalize(prototypes.to(at::kFloat)) * scale;                                  // [C,H]
  auto logits = at::matmul(z.index_select(0, rows).to(at::kFloat) * scale, p.t());          // [b,C]
  std::tie(out.loss, out.correct) = cross_entropy(logits, labels.index_select(0, rows));
  return out;
}

at::Tensor prototype_regularizer_loss(const at::Tensor& affined, const at::Tensor& z, const at::Tensor& labels,
                                      double scale) {
  AutocastPause fp32;
  auto rows = labels.ge(0).nonzero().squeeze(1);
  if (rows.size(0) == 0) return zero_like_graph(z);
  return at::mse_loss(affined.index_select(0, rows).to(at::kFloat), z.index_select(0, rows) * scale);
}

at::Tensor alignment_similarity(const at::Tensor& z, const at::Tensor& z_second_pass, double scale) {
  AutocastPause fp32;
  auto zs = z.to(at::kFloat) * scale;
  auto s = at::matmul(zs, zs.t());                                        // [n,n]
  auto diag = (zs * (z_second_pass.to(at::kFloat) * scale)).sum(1);                      // [n]
  auto eye = at::eye(z.size(0), z.options().dtype(at::kBool));
  return at::where(eye, at::diag_embed(diag), s);
}

at::Tensor ontology_alignment_loss(const at::Tensor& S, const at::Tensor& levels, const at::Tensor& ancestor,
                                   const at::Tensor& valid) {
  AutocastPause fp32;
  const int64_t n = S.size(0);
  auto pair_ok = valid.unsqueeze(1).logical_and(valid.unsqueeze(0));          // [n,n]
  if (n == 0 || !pair_ok.any().item<bool>()) return zero_like_graph(S);
  auto lv = levels.to(at::kLong);
  const int64_t k_max = lv.masked_select(pair_ok).max().item<int64_t>();
  auto thresholds = at::arange(1, k_max + 1, lv.options()).view({1, k_max, 1});  // ℓ: [1,K,1]
  auto lv3 = lv.unsqueeze(1);                                                  // [n,1,n]
  auto ok3 = pair_ok.unsqueeze(1);                                             // [n,1,n]
  auto present = lv3.eq(thresholds).logical_and(ok3).any(2);                   // [n,K]
  auto row_min = at::where(pair_ok, lv, at::full_like(lv, k_max + 1)).amin(1, true);  // [n,1]
  auto active = present.logical_and(thresholds.view({1, k_max}).gt(row_min));  // [n,K]
  auto positive = lv3.ge(thresholds).logical_and(ok3).logical_and(active.unsqueeze(2));       // [n,K,n]
  auto negative = lv3.lt(thresholds).logical_and(ok3).logical_and(ancestor.logical_not().unsqueeze(1));
  auto s3 = (S.scalar_type() == at::kDouble ? S : S.to(at::kFloat)).unsqueeze(1);                                     // [n,1,n]
  // Masked entries get a large finite negative (not -inf) so that empty sets give zero gradients.
  auto neg_lse = at::where(negative, s3, at::full({}, -1e4, s3.options())).logsumexp(2, true);  // [n,K,1]
  auto terms = at::softplus(neg_lse - s3);                                     // [n,K,n]
  auto count = positive.sum();
  if (count.item<int64_t>() == 0) return zero_like_graph(S);
  return (terms * positive).sum() / count;
}

}  // namespace sccello
