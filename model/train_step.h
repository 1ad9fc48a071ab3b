// One micro-batch of scCello pre-training: the masked encoder pass, the second (fresh dropout)
// pass for the alignment diagonal, and the weighted loss terms. Shared by the trainer and the
// training benchmark, which reads the per-phase wall times. Stateless; drives one model.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

#include "model/encoder.h"
#include "model/model_config.h"

namespace sccello {

// Tensors of one micro-batch (CPU or the model's device).
struct MicroBatch {
  at::Tensor ids;         // [B,L] int64, masked input
  at::Tensor mlm_labels;  // [B,L] int64, original id at masked positions, -100 elsewhere
  at::Tensor labels;      // [B] int64 label index, -1 = unmapped
  at::Tensor levels;      // [B,B] int64 similarity levels (1 where a cell is unmapped)
  at::Tensor ancestor;    // [B,B] bool
};

// Sums of loss values and counts over the micro-batches of a step.
struct LossTally {
  double total = 0, mgp = 0, intra = 0, inter = 0, reg = 0;
  int64_t mgp_correct = 0, mgp_count = 0, coh_correct = 0, coh_count = 0;
  int64_t micro_batches = 0, cells = 0, tokens = 0;
  void add(const LossTally& o);
};

// Wall seconds per phase, accumulated.
struct StepTimings {
  double encoder_forward = 0, noised_forward = 0, mgp = 0, alignment = 0, coherence_reg = 0, backward = 0,
         optimizer = 0, other = 0;
  double total() const;
};

// Forward of all enabled losses; returns the weighted total (a scalar with graph). `vocab_keys`:
// normalised mlm_head(word embeddings) [V,H] (see ScCelloModelImpl::vocabulary_keys), needed when
// MGP is on. Adds values to *tally and phase times to *timings (may be null).
at::Tensor micro_batch_loss(ScCelloModel& model, const MicroBatch& batch, const LossConfig& losses,
                            const at::Tensor& vocab_keys, LossTally* tally, StepTimings* timings);

}  // namespace sccello
