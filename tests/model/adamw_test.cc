// The fused CPU AdamW update against the same update written as tensor operations (the oracle:
// torch.optim.AdamW's arithmetic), over several steps with and without weight decay.
#include <cmath>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "model/adamw.h"

namespace sccello {
namespace {

struct OracleSlot {
  at::Tensor p, m, v;
};

void oracle_update(OracleSlot& s, const at::Tensor& g, double lr, int64_t step, double wd, bool decay) {
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const double bc1 = 1.0 - std::pow(b1, step), bc2 = 1.0 - std::pow(b2, step);
  if (decay) s.p.mul_(1.0 - lr * wd);
  s.m.mul_(b1).add_(g, 1.0 - b1);
  s.v.mul_(b2).addcmul_(g, g, 1.0 - b2);
  s.p.addcdiv_(s.m, (s.v.sqrt() / std::sqrt(bc2)).add_(eps), -lr / bc1);
}

TEST(AdamW, FusedUpdateMatchesTensorOpOracle) {
  at::manual_seed(2);
  auto w = at::randn({300, 70}), b = at::randn({70});
  std::vector<OracleSlot> oracle{{w.clone(), at::zeros_like(w), at::zeros_like(w)},
                                 {b.clone(), at::zeros_like(b), at::zeros_like(b)}};
  auto pw = w.clone().requires_grad_(true), pb = b.clone().requires_grad_(true);
  AdamW adam({{"layer.weight", pw}, {"layer.bias", pb}}, AdamWOptions{0.9, 0.999, 1e-8, 0.01});
  for (int64_t step = 1; step <= 5; ++step) {
    auto gw = at::randn({300, 70}) * (step * 0.3), gb = at::randn({70});
    pw.mutable_grad() = gw.clone();
    pb.mutable_grad() = gb.clone();
    const double lr = 1e-3 * step;
    adam.update(lr);
    oracle_update(oracle[0], gw, lr, step, 0.01, true);
    oracle_update(oracle[1], gb, lr, step, 0.01, false);  // biases are exempt from decay
  }
  EXPECT_TRUE(at::allclose(pw.detach(), oracle[0].p, 1e-6, 1e-7));
  EXPECT_TRUE(at::allclose(pb.detach(), oracle[1].p, 1e-6, 1e-7));
  auto state = adam.state();
  EXPECT_TRUE(at::allclose(state[0].second, oracle[0].m, 1e-6, 1e-6));  // m ~ g ~ 1: float ulps
  const double v_rel = ((state[1].second - oracle[0].v).abs() / oracle[0].v).max().item<double>();
  EXPECT_LT(v_rel, 1e-6);
  EXPECT_FALSE(pw.detach().equal(w));
}

TEST(AdamW, ClipFactorOnTheFlyEqualsClippingTheGradients) {
  at::manual_seed(4);
  auto w0 = at::randn({64, 33});
  auto a = w0.clone().requires_grad_(true), b = w0.clone().requires_grad_(true);
  AdamW adam_a({{"w", a}}, AdamWOptions{0.9, 0.999, 1e-8, 0.01});
  AdamW adam_b({{"w", b}}, AdamWOptions{0.9, 0.999, 1e-8, 0.01});
  for (int step = 0; step < 3; ++step) {
    auto g = at::randn({64, 33}) * 5.0;  // norm ~ 230: clipped to 1
    a.mutable_grad() = g.clone();
    b.mutable_grad() = g.clone();
    double norm = 0;
    const double factor = clip_factor({a}, 1.0, &norm);
    EXPECT_NEAR(norm, g.norm().item<double>(), 1e-3);
    EXPECT_LT(factor, 0.01);
    adam_a.update(1e-3, factor);
    EXPECT_TRUE(a.grad().equal(g));  // not modified
    EXPECT_NEAR(clip_grad_norm({b}, 1.0), norm, 1e-9);
    adam_b.update(1e-3);
  }
  EXPECT_TRUE(at::allclose(a.detach(), b.detach(), 1e-7, 1e-8));
}

}  // namespace
}  // namespace sccello
