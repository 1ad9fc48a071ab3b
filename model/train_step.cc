// The loss computation of one micro-batch, phase by phase.
#include "model/train_step.h"

#include <chrono>

#include <ATen/ATen.h>

#include "model/losses.h"

namespace sccello {

namespace {

using Clock = std::chrono::steady_clock;

// Adds the seconds since `start` to *slot (when timing) and restarts the clock.
void lap(Clock::time_point* start, double StepTimings::*slot, StepTimings* timings) {
  auto now = Clock::now();
  if (timings) timings->*slot += std::chrono::duration<double>(now - *start).count();
  *start = now;
}

// MGP on masked positions only: q = mlm_head(seq_out at masked positions).
at::Tensor mgp_term(ScCelloModel& model, const at::Tensor& seq_out, const MicroBatch& batch,
                    const at::Tensor& vocab_keys, LossTally* tally) {
  auto flat_labels = batch.mlm_labels.reshape({-1});
  auto positions = flat_labels.ne(-100).nonzero().squeeze(1);
  auto hidden = seq_out.reshape({-1, seq_out.size(-1)}).index_select(0, positions);  // [M,H]
  auto q = model->mlm_head()->forward(hidden);
  auto result = masked_gene_prediction_loss(q, vocab_keys, flat_labels.index_select(0, positions), model->scale());
  tally->mgp += result.loss.item<double>();
  tally->mgp_correct += result.correct;
  tally->mgp_count += result.count;
  return result.loss;
}

}  // namespace

void LossTally::add(const LossTally& o) {
  total += o.total, mgp += o.mgp, intra += o.intra, inter += o.inter, reg += o.reg;
  mgp_correct += o.mgp_correct, mgp_count += o.mgp_count, coh_correct += o.coh_correct, coh_count += o.coh_count;
  micro_batches += o.micro_batches, cells += o.cells, tokens += o.tokens;
}

double StepTimings::total() const {
  return encoder_forward + noised_forward + mgp + alignment + coherence_reg + backward + optimizer + other;
}

at::Tensor micro_batch_loss(ScCelloModel& model, const MicroBatch& batch, const LossConfig& losses,
                            const at::Tensor& vocab_keys, LossTally* tally, StepTimings* timings) {
  auto start = Clock::now();
  auto seq_out = model->encode(batch.ids);  // [B,L,H]
  lap(&start, &StepTimings::encoder_forward, timings);
  at::Tensor total = at::zeros({}, seq_out.options().dtype(at::kFloat));
  if (losses.mgp) total = total + losses.mgp_weight * mgp_term(model, seq_out, batch, vocab_keys, tally);
  lap(&start, &StepTimings::mgp, timings);
  at::Tensor z;
  if (losses.intra || losses.inter || losses.reg) z = model->cell_embedding(seq_out);  // [B,H]
  if (losses.intra || losses.reg) {
    auto protos = model->prototypes()->weight;
    if (losses.intra) {
      auto coherence = cell_type_coherence_loss(z, protos, batch.labels, model->scale());
      tally->intra += coherence.loss.item<double>();
      tally->coh_correct += coherence.correct;
      tally->coh_count += coherence.count;
      total = total + losses.intra_weight * coherence.loss;
    }
    if (losses.reg && protos.size(0) > 0) {
      auto safe = batch.labels.clamp_min(0);
      auto affined = model->affine()->forward(l2_normalize(protos.index_select(0, safe)) * model->scale());
      auto reg = prototype_regularizer_loss(affined, z, batch.labels, model->scale());
      tally->reg += reg.item<double>();
      total = total + losses.reg_weight * reg;
    }
  }
  lap(&start, &StepTimings::coherence_reg, timings);
  if (losses.inter) {
    auto z2 = model->cell_embedding(model->encode(batch.ids));  // fresh dropout
    lap(&start, &StepTimings::noised_forward, timings);
    auto S = alignment_similarity(z, z2, model->scale());
    auto inter = ontology_alignment_loss(S, batch.levels, batch.ancestor, batch.labels.ge(0));
    tally->inter += inter.item<double>();
    total = total + losses.inter_weight * inter;
    lap(&start, &StepTimings::alignment, timings);
  }
  tally->total += total.item<double>();
  tally->micro_batches += 1;
  tally->cells += batch.ids.size(0);
  tally->tokens += batch.ids.ne(model->config().pad_id).sum().item<int64_t>();
  lap(&start, &StepTimings::other, timings);
  return total;
}

}  // namespace sccello
