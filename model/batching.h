// Host-side batching for training and embedding: train/validation split by cells, length-grouped
// shuffled batches, padding into [B, L] id matrices, and BERT masking (DESIGN.md "Masking").
// Everything is a pure function of its inputs and a seed: the same seed gives the same batches
// and masks on every run, which is what makes resume exact. No LibTorch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/model_config.h"

namespace sccello {

// One training example: its tokens (<cls> first, already truncated) and label index (-1 = unmapped).
struct CellExample {
  std::vector<int32_t> tokens;
  int32_t label = -1;
};

// Stateless 64-bit mixing (splitmix64): seeds derived from (seed, step, micro-batch).
uint64_t mix_seed(uint64_t a, uint64_t b);

// True when cell `index` of `dataset` is held out (a hash of seed, dataset, index below fraction).
bool is_validation_cell(uint64_t seed, const std::string& dataset, int64_t index, double fraction);

// Shuffles `pool` (indices into lengths), cuts mega-batches of megabatch·batch_size cells, sorts each
// by length (longest first) and cuts batches of batch_size (the last one may be smaller).
std::vector<std::vector<int64_t>> length_grouped_batches(const std::vector<int32_t>& lengths,
                                                         std::vector<int64_t> pool, int64_t batch_size,
                                                         int64_t megabatch, uint64_t seed);

// A padded batch: ids [B*L] row-major, pad_id after each cell's tokens.
struct PaddedBatch {
  int64_t batch = 0, length = 0;
  std::vector<int64_t> ids;
  std::vector<int64_t> labels;      // [B] label index, -1 = unmapped
  std::vector<int32_t> lengths;     // [B]
};
PaddedBatch pad_batch(const std::vector<CellExample>& cells, const std::vector<int64_t>& members, int64_t pad_id);

// BERT masking in place: each non-special token (not <cls>, not <pad>) is chosen with probability
// p; chosen ones get mlm_labels = original id (others -100) and become <mask> (80%), a uniformly random
// gene id (10%) or stay (10%). Returns the mlm labels [B*L].
std::vector<int64_t> mask_tokens(PaddedBatch& batch, const ModelConfig& model, double p, uint64_t seed);
// The same masking with one random stream per row, seeded by (seed, row_keys[row]): a cell's mask
// depends on its key (its position in the global micro-batch), not on the rows beside it or the
// padding, so a batch split across data-parallel ranks is masked as it is in one process.
std::vector<int64_t> mask_tokens_by_row(PaddedBatch& batch, const ModelConfig& model, double p, uint64_t seed,
                                        const std::vector<int64_t>& row_keys);

// Linear warmup then linear decay to 0 at total_steps (HF get_linear_schedule_with_warmup):
// the multiplier of the base lr for optimiser update number `step` (0-based).
double lr_multiplier(int64_t step, int64_t warmup_steps, int64_t total_steps);

}  // namespace sccello
