// The only place that names LibTorch APIs which differ between 1.13 and 2.x: attention (fused
// scaled_dot_product_attention from 2.0 on, written out before) and the autocast switches (renamed
// in 2.4). Stateless helpers; AutocastScope is per thread, like autocast itself.
#pragma once

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <cmath>
#include <limits>

#define SCCELLO_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace sccello {

// Inverted dropout with a mask drawn 16 bits at a time from 64-bit random words (one generator
// call per three elements; LibTorch's CPU bernoulli_ draws one per element and cost a third of an
// encoder pass). The drop probability is rounded to a multiple of 1/65536. Uses the default
// generator (at::manual_seed makes it reproducible). Not version-dependent; lives here to serve
// masked_attention as well as the encoder.
inline at::Tensor fast_dropout(const at::Tensor& x, double p, bool training) {
  if (!training || p <= 0) return x;
  const int64_t n = x.numel(), threshold = std::llround(p * 65536.0);
  if (threshold <= 0) return x;
  if (!x.device().is_cpu()) return at::dropout(x, p, true);
  // random_() fills int64 with [0, 2^63): the low three 16-bit lanes (little-endian) are uniform.
  auto words = at::empty({(n + 2) / 3}, x.options().dtype(at::kLong)).random_();
  auto bits = words.view(at::kShort).view({-1, 4}).slice(1, 0, 3).reshape({-1}).slice(0, 0, n).view(x.sizes());
  const double keep_prob = 1.0 - static_cast<double>(threshold) / 65536.0;
  auto keep = bits.ge(threshold - 32768).to(x.scalar_type()).mul_(1.0 / keep_prob);
  return x * keep;
}

// q, k, v: [B, heads, L, d]; key_keep: bool [B, 1, 1, L], true for real tokens, false for padding.
// Returns softmax(q kᵀ / sqrt(d) masked) v: [B, heads, L, d]. Padding keys get weight exactly 0.
inline at::Tensor masked_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                   const at::Tensor& key_keep, double dropout_p, bool training) {
#if SCCELLO_TORCH_AT_LEAST(2, 0)
  return at::scaled_dot_product_attention(q, k, v, key_keep, training ? dropout_p : 0.0, false);
#else
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  // Scale q (L x d) rather than the scores (L x L); skip the mask when nothing is padding.
  at::Tensor scores = at::matmul(q * scale, k.transpose(-2, -1));
  if (!key_keep.all().item<bool>())
    scores.masked_fill_(key_keep.logical_not(), -std::numeric_limits<float>::infinity());
  at::Tensor probs = at::softmax(scores, -1);
  probs = fast_dropout(probs, dropout_p, training);
  return at::matmul(probs, v);
#endif
}

// Enables bf16 autocast on `device` for the lifetime of the scope (no-op when !enabled).
class AutocastScope {
 public:
  AutocastScope(bool enabled, bool cuda) : enabled_(enabled), cuda_(cuda) {
    if (enabled_) set(true);
  }
  ~AutocastScope() {
    if (!enabled_) return;
    set(false);
    at::autocast::clear_cache();
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  void set(bool on) {
#if SCCELLO_TORCH_AT_LEAST(2, 4)
    const at::DeviceType device = cuda_ ? at::kCUDA : at::kCPU;
    at::autocast::set_autocast_dtype(device, at::kBFloat16);
    at::autocast::set_autocast_enabled(device, on);
#else
    if (cuda_) {
      at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
      at::autocast::set_enabled(on);
    } else {
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
      at::autocast::set_cpu_enabled(on);
    }
#endif
  }
  bool enabled_;
  bool cuda_;
};

// Whether autocast is on for the device of `like` (sccello only ever enables it with bf16).
inline bool autocast_active(const at::Tensor& like) {
#if SCCELLO_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(like.is_cuda() ? at::kCUDA : at::kCPU);
#else
  return like.is_cuda() ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

// Turns autocast off (CPU and CUDA) for its lifetime and restores the previous state: the loss
// functions multiply by s² = 100 and need fp32 products.
class AutocastPause {
 public:
  AutocastPause() : cpu_(cpu_enabled()), cuda_(cuda_enabled()) { set(false, false); }
  ~AutocastPause() { set(cpu_, cuda_); }
  AutocastPause(const AutocastPause&) = delete;
  AutocastPause& operator=(const AutocastPause&) = delete;

 private:
#if SCCELLO_TORCH_AT_LEAST(2, 4)
  static bool cpu_enabled() { return at::autocast::is_autocast_enabled(at::kCPU); }
  static bool cuda_enabled() { return at::autocast::is_autocast_enabled(at::kCUDA); }
  static void set(bool cpu, bool cuda) {
    at::autocast::set_autocast_enabled(at::kCPU, cpu);
    at::autocast::set_autocast_enabled(at::kCUDA, cuda);
  }
#else
  static bool cpu_enabled() { return at::autocast::is_cpu_enabled(); }
  static bool cuda_enabled() { return at::autocast::is_enabled(); }
  static void set(bool cpu, bool cuda) {
    at::autocast::set_cpu_enabled(cpu);
    at::autocast::set_enabled(cuda);
  }
#endif
  bool cpu_, cuda_;
};

}  // namespace sccello
