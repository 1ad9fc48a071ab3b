// Loss terms of scCello. The alignment loss is computed for all anchors and level thresholds at
// once on [n, K, n] masks (K = the largest level), the reference's double loop becomes three
// broadcasts and one logsumexp.
#include "model/losses.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include "model/chunked_cross_entropy.h"
#include "model/torch_compat.h"

namespace sccello {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr double kMinNorm = 1e-12;

bool plain_cpu_float(const at::Tensor& x) {
  return x.device().is_cpu() && x.scalar_type() == at::kFloat && x.is_contiguous() && x.dim() >= 1;
}

// Σ a[j]·b[j] with eight independent partial sums (vectorisable without fast-math).
float dot(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int u = 0; u < 8; ++u) acc[u] += a[j + u] * b[j + u];
  float sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; j < n; ++j) sum += a[j] * b[j];
  return sum;
}

// out[j] = a[j] / d.
void divide_row(const float* __restrict a, float d, float* __restrict out, int64_t n) {
  for (int64_t j = 0; j < n; ++j) out[j] = a[j] / d;
}

// out[j] = (g[j] − y[j]·proj) · inv.
void project_row(const float* __restrict y, const float* __restrict g, float proj, float inv, float* __restrict out,
                 int64_t n) {
  for (int64_t j = 0; j < n; ++j) out[j] = (g[j] - y[j] * proj) * inv;
}

// Rows of a contiguous float tensor, `fn(row, begin)` in parallel over row ranges.
template <typename Fn>
void for_rows(int64_t rows, int64_t width, const Fn& fn) {
  at::parallel_for(0, rows, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, width)),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t r = begin; r < end; ++r) fn(r);
                   });
}

// y = x / max(||x||, 1e-12) with its gradient written out: dx = (g − y·(g·y)) / n, the projection
// term dropped for rows whose norm was clamped. On CPU float the two passes are plain row loops;
// ATen's broadcast division and NormBackward cost ~3x the head's matrix products on the [V,H] keys.
struct L2Normalize : public torch::autograd::Function<L2Normalize> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& x) {
    if (!plain_cpu_float(x)) {
      auto n = x.norm(2, {-1}, /*keepdim=*/true);
      auto y = x / n.clamp_min(kMinNorm);
      ctx->save_for_backward({y, n});
      return {y};
    }
    const int64_t width = x.size(-1), rows = x.numel() / std::max<int64_t>(1, width);
    auto y = at::empty_like(x);
    auto n = at::empty(rows, x.options());
    const float* xp = x.data_ptr<float>();
    float *yp = y.data_ptr<float>(), *np = n.data_ptr<float>();
    for_rows(rows, width, [&](int64_t r) {
      const float* a = xp + r * width;
      const float norm = std::sqrt(dot(a, a, width)), d = std::max(norm, static_cast<float>(kMinNorm));
      np[r] = norm;
      divide_row(a, d, yp + r * width, width);
    });
    ctx->save_for_backward({y, n});
    return {y};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &y = saved[0], &n = saved[1];
    const at::Tensor g = grads[0].contiguous();
    if (!plain_cpu_float(y) || g.scalar_type() != at::kFloat) {
      auto kept = n.ge(kMinNorm).to(g.scalar_type());
      return {(g - y * ((g * y).sum(-1, true) * kept)) / n.clamp_min(kMinNorm)};
    }
    const int64_t width = y.size(-1), rows = y.numel() / std::max<int64_t>(1, width);
    auto dx = at::empty_like(y);
    const float *yp = y.data_ptr<float>(), *gp = g.data_ptr<float>(), *np = n.data_ptr<float>();
    float* dp = dx.data_ptr<float>();
    for_rows(rows, width, [&](int64_t r) {
      const float *a = yp + r * width, *b = gp + r * width;
      const float proj = np[r] < kMinNorm ? 0.0f : dot(a, b, width);
      const float inv = 1.0f / std::max(np[r], static_cast<float>(kMinNorm));
      project_row(a, b, proj, inv, dp + r * width, width);
    });
    return {dx};
  }
};

}  // namespace

at::Tensor l2_normalize(const at::Tensor& x) { return L2Normalize::apply(x.contiguous())[0]; }

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
  // Under bf16 autocast the [M,V] logits product (and its gradient products) run in bf16 like the
  // reference (HF Trainer bf16); softmax and gradient accumulation are fp32 (chunked_cross_entropy.h).
  MgpResult out;
  out.count = q.size(0);
  if (out.count == 0) {
    out.loss = zero_like_graph(keys);
    return out;
  }
  const bool bf16 = autocast_active(q);
  at::Tensor qn;
  {
    AutocastPause fp32;
    qn = l2_normalize(q.to(at::kFloat)) * (scale * scale);  // [M,H]
  }
  auto result = chunked_linear_cross_entropy(qn, keys.to(at::kFloat), targets, bf16);
  out.loss = result.loss;
  out.correct = result.correct;
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

AlignmentTerms ontology_alignment_terms(const at::Tensor& S, const at::Tensor& levels, const at::Tensor& ancestor,
                                        const at::Tensor& row_valid, const at::Tensor& column_valid) {
  AutocastPause fp32;
  AlignmentTerms out;
  const int64_t n = S.size(0);
  auto pair_ok = row_valid.unsqueeze(1).logical_and(column_valid.unsqueeze(0));  // [n,N]
  if (n == 0 || !pair_ok.any().item<bool>()) {
    out.sum = zero_like_graph(S);
    return out;
  }
  auto lv = levels.to(at::kLong);
  const int64_t k_max = lv.masked_select(pair_ok).max().item<int64_t>();
  auto thresholds = at::arange(1, k_max + 1, lv.options()).view({1, k_max, 1});  // ℓ: [1,K,1]
  auto lv3 = lv.unsqueeze(1);                                                  // [n,1,N]
  auto ok3 = pair_ok.unsqueeze(1);                                             // [n,1,N]
  auto present = lv3.eq(thresholds).logical_and(ok3).any(2);                   // [n,K]
  auto row_min = at::where(pair_ok, lv, at::full_like(lv, k_max + 1)).amin(1, true);  // [n,1]
  auto active = present.logical_and(thresholds.view({1, k_max}).gt(row_min));  // [n,K]
  auto positive = lv3.ge(thresholds).logical_and(ok3).logical_and(active.unsqueeze(2));       // [n,K,N]
  auto negative = lv3.lt(thresholds).logical_and(ok3).logical_and(ancestor.logical_not().unsqueeze(1));
  auto s3 = (S.scalar_type() == at::kDouble ? S : S.to(at::kFloat)).unsqueeze(1);                                     // [n,1,N]
  // Masked entries get a large finite negative (not -inf) so that empty sets give zero gradients.
  auto neg_lse = at::where(negative, s3, at::full({}, -1e4, s3.options())).logsumexp(2, true);  // [n,K,1]
  auto terms = at::softplus(neg_lse - s3);                                     // [n,K,N]
  out.count = positive.sum().item<int64_t>();
  out.sum = out.count == 0 ? zero_like_graph(S) : (terms * positive).sum();
  return out;
}

at::Tensor ontology_alignment_loss(const at::Tensor& S, const at::Tensor& levels, const at::Tensor& ancestor,
                                   const at::Tensor& valid) {
  AlignmentTerms t = ontology_alignment_terms(S, levels, ancestor, valid, valid);
  if (t.count == 0) return t.sum;
  return t.sum / static_cast<double>(t.count);
}

at::Tensor alignment_similarity_rows(const at::Tensor& z, const at::Tensor& candidates, const at::Tensor& z_second_pass,
                                     int64_t offset, double scale) {
  AutocastPause fp32;
  auto zs = z.to(at::kFloat) * scale;
  auto s = at::matmul(zs, (candidates.to(at::kFloat) * scale).t());                 // [n,N]
  auto diag = (zs * (z_second_pass.to(at::kFloat) * scale)).sum(1);                 // [n]
  auto rows = at::arange(z.size(0), z.options().dtype(at::kLong)).add(offset).unsqueeze(1);
  auto self = rows.eq(at::arange(candidates.size(0), rows.options()).unsqueeze(0));  // [n,N]
  return at::where(self, diag.unsqueeze(1).expand_as(s), s);
}

}  // namespace sccello
