// AdamW update and gradient clipping.
#include "model/adamw.h"

#include <cmath>
#include <unordered_map>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

namespace sccello {

AdamW::AdamW(std::vector<std::pair<std::string, at::Tensor>> params, AdamWOptions options) : options_(options) {
  for (auto& [name, p] : params) {
    bool decay = p.dim() >= 2 && name.find("norm") == std::string::npos;
    slots_.push_back({name, p, at::zeros_like(p), at::zeros_like(p), decay});
  }
}

namespace {

// Float scalars of one update, rounded as ATen rounds a double scalar for a float tensor.
struct UpdateScalars {
  float decay_mul, beta1, one_minus_beta1, beta2, one_minus_beta2, sqrt_bc2, eps, step;
};

bool fusable(const at::Tensor& t) {
  return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.is_contiguous();
}

// The update of the tensor-op path below in one pass over p, g, m, v (CPU float): one read and
// write per element instead of seven tensor passes. Same arithmetic order, in float.
void fused_update(at::Tensor& p, const at::Tensor& g, at::Tensor& m, at::Tensor& v, const UpdateScalars& k) {
  float *pp = p.data_ptr<float>(), *mp = m.data_ptr<float>(), *vp = v.data_ptr<float>();
  const float* gp = g.data_ptr<float>();
  at::parallel_for(0, p.numel(), 32768, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float gi = gp[i];
      const float mi = mp[i] * k.beta1 + k.one_minus_beta1 * gi;
      const float vi = vp[i] * k.beta2 + k.one_minus_beta2 * gi * gi;
      const float denom = std::sqrt(vi) / k.sqrt_bc2 + k.eps;
      mp[i] = mi;
      vp[i] = vi;
      pp[i] = pp[i] * k.decay_mul + k.step * (mi / denom);
    }
  });
}

}  // namespace

void AdamW::update(double lr) {
  at::NoGradGuard no_grad;
  ++step_;
  const double bc1 = 1.0 - std::pow(options_.beta1, static_cast<double>(step_));
  const double bc2 = 1.0 - std::pow(options_.beta2, static_cast<double>(step_));
  for (Slot& s : slots_) {
    if (!s.param.grad().defined()) continue;
    const at::Tensor& g = s.param.grad();
    const bool decay = s.decay && options_.weight_decay > 0;
    if (fusable(s.param) && fusable(g) && fusable(s.m) && fusable(s.v)) {
      UpdateScalars k{static_cast<float>(decay ? 1.0 - lr * options_.weight_decay : 1.0),
                      static_cast<float>(options_.beta1), static_cast<float>(1.0 - options_.beta1),
                      static_cast<float>(options_.beta2), static_cast<float>(1.0 - options_.beta2),
                      static_cast<float>(std::sqrt(bc2)), static_cast<float>(options_.eps),
                      static_cast<float>(-lr / bc1)};
      fused_update(s.param, g, s.m, s.v, k);
      continue;
    }
    if (decay) s.param.mul_(1.0 - lr * options_.weight_decay);
    s.m.mul_(options_.beta1).add_(g, 1.0 - options_.beta1);
    s.v.mul_(options_.beta2).addcmul_(g, g, 1.0 - options_.beta2);
    at::Tensor denom = (s.v.sqrt() / std::sqrt(bc2)).add_(options_.eps);
    s.param.addcdiv_(s.m, denom, -lr / bc1);
  }
}

std::vector<std::pair<std::string, at::Tensor>> AdamW::state() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const Slot& s : slots_) {
    out.emplace_back("adam.m." + s.name, s.m);
    out.emplace_back("adam.v." + s.name, s.v);
  }
  return out;
}

bool AdamW::load_state(const std::vector<std::pair<std::string, at::Tensor>>& saved, std::string* missing) {
  std::unordered_map<std::string, const at::Tensor*> by_name;
  for (const auto& [name, t] : saved) by_name[name] = &t;
  at::NoGradGuard no_grad;
  for (Slot& s : slots_) {
    for (auto [prefix, target] : {std::pair{"adam.m.", &s.m}, {"adam.v.", &s.v}}) {
      auto it = by_name.find(prefix + s.name);
      if (it == by_name.end() || !it->second->sizes().equals(target->sizes())) {
        *missing = prefix + s.name;
        return false;
      }
      target->copy_(*it->second);
    }
  }
  return true;
}

double clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> norms;
  for (const auto& p : params)
    if (p.grad().defined()) norms.push_back(p.grad().norm(2).to(at::kDouble));
  if (norms.empty()) return 0.0;
  double total = at::stack(norms).norm(2).item<double>();
  if (max_norm > 0 && total > max_norm) {
    double factor = max_norm / (total + 1e-6);
    for (const auto& p : params)
      if (p.grad().defined()) p.grad().mul_(factor);
  }
  return total;
}

}  // namespace sccello
