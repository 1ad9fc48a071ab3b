// Chunked linear cross-entropy as a custom autograd Function. The forward pass computes, per chunk
// of rows, the logits, their row max / argmax, the target logit and the log-sum-exp; when a gradient
// will be needed it also turns the chunk into (softmax − one-hot)/M in place and accumulates
// dq_c = P_c·k and dk += P_cᵀ·q_c. The backward pass only scales those by the incoming gradient:
// no logits are kept or recomputed.
#include "model/chunked_cross_entropy.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include "model/torch_compat.h"

namespace sccello {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// One chunk's contribution: returns Σ_rows (lse − target logit); counts correct argmaxes; when dq is
// defined, writes the chunk's rows of dq and accumulates into dk (overwrites it for the first chunk).
double chunk_pass(const at::Tensor& qc, const at::Tensor& kc, const at::Tensor& targets, double inv_rows,
                  int64_t* correct, at::Tensor dq, at::Tensor dk, bool first) {
  at::Tensor logits = at::mm(qc, kc.t());  // [m,V]
  if (logits.scalar_type() != at::kFloat) logits = logits.to(at::kFloat);
  auto t = targets.unsqueeze(1);
  auto target_logit = logits.gather(1, t).squeeze(1);
  auto max_arg = logits.max(1, /*keepdim=*/true);
  auto row_max = std::get<0>(max_arg);
  *correct += std::get<1>(max_arg).eq(t).sum().item<int64_t>();
  auto sum_exp = logits.sub_(row_max).exp_().sum(1, /*keepdim=*/true);  // logits now exp(l − max)
  auto lse = row_max.squeeze(1) + sum_exp.log().squeeze(1);
  double chunk_sum = (lse - target_logit).sum().item<double>();
  if (!dq.defined()) return chunk_sum;
  auto& probs = logits.mul_(sum_exp.reciprocal().mul_(inv_rows));  // softmax / M
  probs.scatter_add_(1, t, at::full({t.size(0), 1}, -inv_rows, probs.options()));
  const at::Tensor p = probs.scalar_type() == qc.scalar_type() ? probs : probs.to(qc.scalar_type());
  if (dq.scalar_type() == p.scalar_type()) {
    at::mm_out(dq, p, kc);
    if (first) {
      at::mm_out(dk, p.t(), qc);
    } else {
      dk.addmm_(p.t(), qc);
    }
  } else {
    dq.copy_(at::mm(p, kc));
    if (first) {
      dk.copy_(at::mm(p.t(), qc));
    } else {
      dk.add_(at::mm(p.t(), qc));
    }
  }
  return chunk_sum;
}

struct ChunkedCrossEntropyFunction : public torch::autograd::Function<ChunkedCrossEntropyFunction> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& keys,
                               const at::Tensor& targets, bool bf16, bool need_grad, int64_t chunk_rows) {
    AutocastPause explicit_precision;  // the precision is chosen here, not by autocast
    const int64_t m = q.size(0);
    const auto compute = bf16 ? at::kBFloat16 : at::kFloat;
    auto qc = q.to(compute).contiguous(), kc = keys.to(compute).contiguous();
    at::Tensor dq, dk;
    if (need_grad) {
      dq = at::empty(q.sizes(), q.options().dtype(at::kFloat));
      dk = at::empty(keys.sizes(), keys.options().dtype(at::kFloat));
    }
    double sum = 0;
    int64_t correct = 0;
    const int64_t chunks = (m + chunk_rows - 1) / chunk_rows, even = (m + chunks - 1) / chunks;
    for (int64_t r = 0; r < m; r += even) {
      const int64_t rows = std::min(even, m - r);
      sum += chunk_pass(qc.narrow(0, r, rows), kc, targets.narrow(0, r, rows), 1.0 / m, &correct,
                        need_grad ? dq.narrow(0, r, rows) : at::Tensor(), dk, r == 0);
    }
    ctx->saved_data["dq"] = dq;
    ctx->saved_data["dk"] = dk;
    auto correct_t = at::full({}, correct, q.options().dtype(at::kLong));
    ctx->mark_non_differentiable({correct_t});
    return {at::full({}, sum / m, q.options().dtype(at::kFloat)), correct_t};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    auto dq = ctx->saved_data["dq"].toTensor(), dk = ctx->saved_data["dk"].toTensor();
    const auto& g = grad_out[0];
    return {dq * g, dk * g, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

ChunkedCrossEntropy chunked_linear_cross_entropy(const at::Tensor& q, const at::Tensor& keys,
                                                 const at::Tensor& targets, bool bf16, int64_t chunk_rows) {
  const bool need_grad = at::GradMode::is_enabled() && (q.requires_grad() || keys.requires_grad());
  auto out = ChunkedCrossEntropyFunction::apply(q, keys, targets, bf16, need_grad, std::max<int64_t>(1, chunk_rows));
  return {out[0], out[1].item<int64_t>()};
}

}  // namespace sccello
