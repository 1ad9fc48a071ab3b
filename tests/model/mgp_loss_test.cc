// The chunked MGP loss (custom autograd function) against the straightforward full-logits
// implementation it replaced: loss, argmax count and gradients to q and keys, fp32 and bf16.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "model/chunked_cross_entropy.h"
#include "model/losses.h"
#include "model/torch_compat.h"

namespace sccello {
namespace {

// x / max(||x||, 1e-12) with ATen's own autograd (the old l2_normalize).
at::Tensor aten_normalize(const at::Tensor& x) { return x / x.norm(2, {-1}, true).clamp_min(1e-12); }

// The previous implementation: materialised [M,V] logits, log_softmax, nll_loss; under autocast the
// product runs in bf16 and the softmax in fp32.
MgpResult oracle_mgp(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& targets, double scale) {
  auto logits = at::matmul(aten_normalize(q.to(at::kFloat)) * (scale * scale), keys.to(at::kFloat).t());
  auto log_probs = at::log_softmax(logits.to(at::kFloat), 1);
  MgpResult out;
  out.loss = at::nll_loss(log_probs, targets);
  out.correct = log_probs.argmax(1).eq(targets).sum().item<int64_t>();
  out.count = q.size(0);
  return out;
}

struct Grads {
  double loss;
  int64_t correct;
  at::Tensor dq, dk;
};

template <typename F>
Grads run(F loss_fn, const at::Tensor& q0, const at::Tensor& k0, const at::Tensor& targets, bool bf16,
          bool oracle = false) {
  auto q = q0.clone().requires_grad_(true), k = k0.clone().requires_grad_(true);
  MgpResult r;
  {
    AutocastScope autocast(bf16, false);
    r = loss_fn(q, oracle ? aten_normalize(k) : l2_normalize(k), targets, 10.0);
  }
  (r.loss * 3.0).backward();  // a non-unit incoming gradient
  return {r.loss.item<double>(), r.correct, q.grad(), k.grad()};
}

double max_rel(const at::Tensor& a, const at::Tensor& b) {
  return ((a - b).abs().max() / b.abs().max()).item<double>();
}

struct Inputs {
  at::Tensor q, k, targets;
};
Inputs random_inputs(int64_t m, int64_t v, int64_t h) {
  at::manual_seed(11);
  Inputs in{at::randn({m, h}), at::randn({v, h}), at::randint(0, v, {m}, at::kLong)};
  // Make some rows easy so that the argmax count is not trivially 0.
  in.q.narrow(0, 0, m / 3).copy_(in.k.index_select(0, in.targets.narrow(0, 0, m / 3)));
  return in;
}

TEST(MgpChunkedLoss, MatchesFullLogitsOracleInFp32) {
  auto in = random_inputs(301, 2000, 32);  // 301 rows: the last 128-row chunk is partial
  auto want = run(oracle_mgp, in.q, in.k, in.targets, false, true);
  auto got = run(masked_gene_prediction_loss, in.q, in.k, in.targets, false);
  EXPECT_NEAR(got.loss, want.loss, 1e-5 * want.loss);
  EXPECT_EQ(got.correct, want.correct);
  EXPECT_GT(got.correct, 90);
  EXPECT_LT(max_rel(got.dq, want.dq), 1e-5);
  EXPECT_LT(max_rel(got.dk, want.dk), 1e-5);
}

TEST(L2Normalize, ValueAndGradientMatchAtenAutogradIncludingZeroRows) {
  for (auto dtype : {at::kFloat, at::kDouble}) {
    at::manual_seed(5);
    auto x0 = at::randn({37, 24}, dtype);
    x0[3].zero_();
    auto g = at::randn({37, 24}, dtype);
    auto a = x0.clone().requires_grad_(true), b = x0.clone().requires_grad_(true);
    auto ya = l2_normalize(a), yb = aten_normalize(b);
    (ya * g).sum().backward();
    (yb * g).sum().backward();
    EXPECT_LT(max_rel(ya.detach(), yb.detach()), 1e-6);
    auto rest = at::cat({at::arange(0, 3), at::arange(4, 37)});
    EXPECT_LT(max_rel(a.grad().index_select(0, rest), b.grad().index_select(0, rest)), 1e-5);
    EXPECT_LT(max_rel(a.grad()[3], b.grad()[3]), 1e-6);  // clamped row: g / 1e-12, no projection
  }
}

TEST(MgpChunkedLoss, ChunkSizeDoesNotMatter) {
  auto in = random_inputs(70, 500, 16);
  auto qn = l2_normalize(in.q) * 100.0;
  auto keys = l2_normalize(in.k);
  auto one = chunked_linear_cross_entropy(qn, keys, in.targets, false, 1);
  auto all = chunked_linear_cross_entropy(qn, keys, in.targets, false, 1000);
  auto some = chunked_linear_cross_entropy(qn, keys, in.targets, false, 32);
  EXPECT_NEAR(one.loss.item<double>(), all.loss.item<double>(), 1e-5 * all.loss.item<double>());
  EXPECT_NEAR(some.loss.item<double>(), all.loss.item<double>(), 1e-5 * all.loss.item<double>());
  EXPECT_EQ(one.correct, all.correct);
}

TEST(MgpChunkedLoss, NoGradModeGivesTheSameLoss) {
  auto in = random_inputs(64, 300, 16);
  auto with_grad = run(masked_gene_prediction_loss, in.q, in.k, in.targets, false);
  at::NoGradGuard no_grad;
  auto r = masked_gene_prediction_loss(in.q, l2_normalize(in.k), in.targets, 10.0);
  EXPECT_FALSE(r.loss.requires_grad());
  EXPECT_NEAR(r.loss.item<double>(), with_grad.loss, 1e-6 * with_grad.loss);
}

TEST(MgpChunkedLoss, Bf16KeepsThePrecisionPolicyOfTheOracle) {
  auto in = random_inputs(200, 1500, 32);
  auto want = run(oracle_mgp, in.q, in.k, in.targets, true, true);
  auto got = run(masked_gene_prediction_loss, in.q, in.k, in.targets, true);
  auto fp32 = run(oracle_mgp, in.q, in.k, in.targets, false, true);
  // Same bf16 products: the losses agree far more closely than either agrees with fp32.
  EXPECT_NEAR(got.loss, want.loss, 1e-4 * want.loss);
  EXPECT_GT(std::abs(want.loss - fp32.loss), 10 * std::abs(got.loss - want.loss));
  EXPECT_LT(max_rel(got.dq, want.dq), 2e-2);
  EXPECT_LT(max_rel(got.dk, want.dk), 2e-2);
}

}  // namespace
}  // namespace sccello
