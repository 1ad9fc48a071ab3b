// One micro-batch of scCello pre-training: the masked encoder pass, the second (fresh dropout)
// pass for the alignment diagonal, and the weighted loss terms. Shared by the trainer and the
// training benchmark, which reads the per-phase wall times. Stateless; drives one model.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

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
  // Data-parallel global negatives: levels/ancestor are [B,N] against all N cells of the global
  // micro-batch, whose labels are column_labels [N]; this rank's cells are columns row_offset...
  at::Tensor column_labels;
  int64_t row_offset = 0;
};

// The other ranks of a data-parallel micro-batch (model/distributed.h), for losses normalised over
// the global micro-batch: each mean-type term is weighted by world·(local count / global count), so
// that the mean of the ranks' gradients is the gradient of the one-process loss on all their cells.
struct MicroBatchCollectives {
  int world_size = 1;
  int64_t global_masked = 0;    // masked gene positions over all ranks
  int64_t global_labelled = 0;  // labelled cells over all ranks
  // Set with --global-negatives: all ranks' rows of z (gradient summed back), the ranks' shares,
  // and a sum over ranks of a count.
  std::function<at::Tensor(const at::Tensor&)> gather_rows;
  std::function<int64_t(int64_t)> sum_over_ranks;
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
// `collectives` (may be null: one process) makes the terms global-batch normalised; the tally then
// holds this rank's share of each term (the shares of all ranks add up to the logged loss).
at::Tensor micro_batch_loss(ScCelloModel& model, const MicroBatch& batch, const LossConfig& losses,
                            const at::Tensor& vocab_keys, LossTally* tally, StepTimings* timings,
                            const MicroBatchCollectives* collectives = nullptr);

}  // namespace sccello
