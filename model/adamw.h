// AdamW with decoupled weight decay (Loshchilov & Hutter; same update as torch.optim.AdamW), written
// out so that its state is plain named tensors that our checkpoint format stores. Weight decay
// applies to matrices only (biases, LayerNorm and the embedding bias are exempt, as in HF Trainer).
// Owns its moment tensors; not thread-safe.
#pragma once

#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace sccello {

struct AdamWOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
};

class AdamW {
 public:
  AdamW(std::vector<std::pair<std::string, at::Tensor>> params, AdamWOptions options);
  // One update with learning rate lr from the parameters' .grad() times grad_scale (clipping's
  // factor, applied on the fly: the gradients are not modified); then step() grows by one.
  void update(double lr, double grad_scale = 1.0);
  int64_t step() const { return step_; }
  void set_step(int64_t step) { step_ = step; }
  // "adam.m.<name>", "adam.v.<name>" for every parameter (for checkpoints).
  std::vector<std::pair<std::string, at::Tensor>> state() const;
  // Copies saved moments back; an unknown or missing name is reported by the caller's check.
  bool load_state(const std::vector<std::pair<std::string, at::Tensor>>& saved, std::string* missing);

 private:
  struct Slot {
    std::string name;
    at::Tensor param, m, v;
    bool decay;
  };
  std::vector<Slot> slots_;
  AdamWOptions options_;
  int64_t step_ = 0;
};

// The factor that brings the gradients' global L2 norm to at most max_norm (1 when it already is),
// as clip_grad_norm applies it; *norm (may be null) gets the norm.
double clip_factor(const std::vector<at::Tensor>& params, double max_norm, double* norm = nullptr);
// Scales all gradients so that their global L2 norm is at most max_norm; returns the norm before.
double clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm);

}  // namespace sccello
