// RunConfig: everything that defines a scCello model and its training run (encoder shape, losses,
// optimiser, batching), read from a JSON file {"model": {...}, "train": {...}} and overridden by
// CLI flags. Plain values; validate() names the offending key. No LibTorch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/status.h"

namespace sccello {

// Encoder and heads (DESIGN.md "Encoder"); defaults are scCello's.
struct ModelConfig {
  int64_t vocab_size = 25427;   // <pad>=0, <mask>=1, genes 2..25425, <cls>=25426
  int64_t pad_id = 0;
  int64_t mask_id = 1;
  int64_t cls_id = 25426;
  int64_t layers = 6;
  int64_t hidden = 256;
  int64_t heads = 4;
  int64_t ffn = 512;
  int64_t max_positions = 2048;   // size of the learned position table
  double dropout = 0.02;          // hidden dropout
  double attention_dropout = 0.02;
  double layer_norm_eps = 1e-12;
  std::string activation = "relu";  // relu | gelu
  double tau = 0.01;                 // temperature; scale s = 1/sqrt(tau)
};

// Which loss terms are on and their weights (DESIGN.md "Losses").
struct LossConfig {
  bool mgp = true, intra = true, inter = true, reg = true;
  double mgp_weight = 1.0, intra_weight = 1.0, inter_weight = 1.0, reg_weight = 1.0;
  // "mgp,intra,inter,reg" (any subset, non-empty).
  Status set_enabled(const std::string& list);
  std::string enabled_list() const;
  bool needs_labels() const { return intra || inter || reg; }
};

// Optimiser, schedule, batching and bookkeeping (DESIGN.md "Pre-training recipe").
struct TrainConfig {
  double lr = 1e-3;
  double weight_decay = 0.001;
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_eps = 1e-8;
  int64_t warmup_steps = 3333;
  int64_t batch_size = 16;         // cells per micro-batch
  int64_t grad_accum = 4;          // micro-batches per optimiser step
  int64_t epochs = 3;              // used when steps == 0
  int64_t steps = 0;               // optimiser steps; 0 = derive from epochs
  double clip_norm = 1.0;          // 0 = no clipping
  int64_t max_len = 2048;          // tokens per cell (incl. <cls>), truncated beyond
  double mask_prob = 0.15;
  double val_fraction = 0.05;      // cells held out for validation
  int64_t log_every = 10;
  int64_t checkpoint_every = 1000;
  int64_t keep_last = 3;
  int64_t group_megabatch = 50;    // length grouping: batches per sorted mega-batch
  bool bf16 = false;               // bf16 autocast
  int64_t seed = 237;
  std::string target = "ppr:alpha=0.9";
  std::string release;             // "" = newest in the store
  std::vector<std::string> datasets;
  int64_t max_cells = 0;           // per dataset, the first N cells only (0 = all)
  LossConfig losses;
};

struct RunConfig {
  ModelConfig model;
  TrainConfig train;
};

// Parses {"model": {...}, "train": {...}}; unknown keys and wrong types are errors naming `source`
// and the key. Missing keys keep their defaults. Does not validate().
Result<RunConfig> parse_run_config(const std::string& json_text, const std::string& source);
Result<RunConfig> load_run_config(const std::string& path);
std::string run_config_to_json(const RunConfig& config);  // pretty, complete, round-trips
// Impossible values: heads not dividing hidden, max_len above max_positions, ...
Status validate(const RunConfig& config);

}  // namespace sccello
