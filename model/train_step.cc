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

// The factor turning a rank's mean over `local` items into its share of the mean over the global
// micro-batch, times the world size (the gradient all-reduce divides by it again).
double global_weight(const MicroBatchCollectives* c, int64_t local, int64_t global) {
  if (!c) return 1.0;
  return global > 0 ? c->world_size * static_cast<double>(local) / static_cast<double>(global) : 0.0;
}

// A term weighted for the global batch (unchanged in one process).
at::Tensor weighted(const at::Tensor& term, const MicroBatchCollectives* c, double weight) {
  return c ? term * weight : term;
}

int world_of(const MicroBatchCollectives* c) { return c ? c->world_size : 1; }

// MGP on masked positions only: q = mlm_head(seq_out at masked positions).
at::Tensor mgp_term(ScCelloModel& model, const at::Tensor& seq_out, const MicroBatch& batch,
                    const at::Tensor& vocab_keys, LossTally* tally, const MicroBatchCollectives* c) {
  auto flat_labels = batch.mlm_labels.reshape({-1});
  auto positions = flat_labels.ne(-100).nonzero().squeeze(1);
  auto hidden = seq_out.reshape({-1, seq_out.size(-1)}).index_select(0, positions);  // [M,H]
  auto q = model->mlm_head()->forward(hidden);
  auto result = masked_gene_prediction_loss(q, vocab_keys, flat_labels.index_select(0, positions), model->scale());
  auto loss = weighted(result.loss, c, global_weight(c, result.count, c ? c->global_masked : 0));
  tally->mgp += loss.item<double>() / world_of(c);
  tally->mgp_correct += result.correct;
  tally->mgp_count += result.count;
  return loss;
}

// Ontology alignment of this rank's anchors against every rank's cells (--global-negatives).
at::Tensor global_alignment_term(const at::Tensor& z, const at::Tensor& z2, const MicroBatch& batch, double scale,
                                 const MicroBatchCollectives& c) {
  auto candidates = c.gather_rows(z);  // [N,H]
  auto S = alignment_similarity_rows(z, candidates, z2, batch.row_offset, scale);
  auto terms = ontology_alignment_terms(S, batch.levels, batch.ancestor, batch.labels.ge(0), batch.column_labels.ge(0));
  const int64_t global = c.sum_over_ranks(terms.count);
  return terms.sum * (global > 0 ? c.world_size / static_cast<double>(global) : 0.0);
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
                            const at::Tensor& vocab_keys, LossTally* tally, StepTimings* timings,
                            const MicroBatchCollectives* c) {
  auto start = Clock::now();
  auto seq_out = model->encode(batch.ids);  // [B,L,H]
  lap(&start, &StepTimings::encoder_forward, timings);
  at::Tensor total = at::zeros({}, seq_out.options().dtype(at::kFloat));
  if (losses.mgp) total = total + losses.mgp_weight * mgp_term(model, seq_out, batch, vocab_keys, tally, c);
  lap(&start, &StepTimings::mgp, timings);
  at::Tensor z;
  if (losses.intra || losses.inter || losses.reg) z = model->cell_embedding(seq_out);  // [B,H]
  if (losses.intra || losses.reg) {
    auto protos = model->prototypes()->weight;
    const int64_t labelled = c ? batch.labels.ge(0).sum().item<int64_t>() : 0;
    const double w = global_weight(c, labelled, c ? c->global_labelled : 0);
    if (losses.intra) {
      auto coherence = cell_type_coherence_loss(z, protos, batch.labels, model->scale());
      auto term = weighted(coherence.loss, c, w);
      tally->intra += term.item<double>() / world_of(c);
      tally->coh_correct += coherence.correct;
      tally->coh_count += coherence.count;
      total = total + losses.intra_weight * term;
    }
    if (losses.reg && protos.size(0) > 0) {
      auto safe = batch.labels.clamp_min(0);
      auto affined = model->affine()->forward(l2_normalize(protos.index_select(0, safe)) * model->scale());
      auto reg = weighted(prototype_regularizer_loss(affined, z, batch.labels, model->scale()), c, w);
      tally->reg += reg.item<double>() / world_of(c);
      total = total + losses.reg_weight * reg;
    }
  }
  lap(&start, &StepTimings::coherence_reg, timings);
  if (losses.inter) {
    auto z2 = model->cell_embedding(model->encode(batch.ids));  // fresh dropout
    lap(&start, &StepTimings::noised_forward, timings);
    at::Tensor inter;
    if (c && c->gather_rows) {
      inter = global_alignment_term(z, z2, batch, model->scale(), *c);
    } else {
      auto S = alignment_similarity(z, z2, model->scale());
      inter = ontology_alignment_loss(S, batch.levels, batch.ancestor, batch.labels.ge(0));
    }
    tally->inter += inter.item<double>() / world_of(c);
    total = total + losses.inter_weight * inter;
    lap(&start, &StepTimings::alignment, timings);
  }
  tally->total += total.item<double>() / world_of(c);
  tally->micro_batches += 1;
  tally->cells += batch.ids.size(0);
  tally->tokens += batch.ids.ne(model->config().pad_id).sum().item<int64_t>();
  lap(&start, &StepTimings::other, timings);
  return total;
}

}  // namespace sccello
