// Train-time evaluation: the clustering metrics of model/eval (NMI, ARI, ASW_label, AvgBio; no
// PCA baseline) on a fixed, evenly spaced sample of labelled cells from an .h5ad, computed every
// N optimiser steps through the trainer's step hook and logged to metrics.jsonl as
// {"type":"eval","step":S,"nmi":...,"ari":...,"asw_label":...,"avg_bio":...,"n_clusters":...,
//  "cells":...,"seconds":...}. The file is tokenized once, when the hook is made.
// The hook runs on the training thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "graph/status.h"
#include "model/trainer.h"

namespace sccello {

struct TrainEvalOptions {
  std::string data;          // .h5ad (or 10x) with raw counts and a label column
  std::string label_column;  // obs column of the labels (required)
  int64_t every = 0;         // optimiser steps between evaluations (> 0)
  int64_t cells = 1000;      // sample size (all labelled cells when fewer)
  int64_t max_len = 0;       // tokens per cell (0 = the model's max_positions)
  int64_t batch_size = 64;
  int threads = 1;           // distance pass threads
  uint64_t seed = 0;         // Leiden seed
};

// Tokenizes `options.data` and installs the hook into `request` (step_hook, step_hook_every).
// Errors name the file and column.
Status install_train_eval(const TrainEvalOptions& options, TrainRequest* request);

}  // namespace sccello
