// Trainer: scCello pre-training on corpus datasets against one ontology release, with targets
// served live by a TargetProvider. AdamW + linear warmup/decay, gradient accumulation and
// clipping, length-grouped batches, optional bf16 autocast; per-log-step metrics on a progress line
// and in <out>/metrics.jsonl; atomic checkpoints every N steps and at the end (keep last K);
// exact resume. Runs on the calling thread (LibTorch intra-op threads as requested). Data-parallel
// when request.launch names more than one rank (model/distributed.h, docs/distributed.md): every rank
// calls train_model; batch_size is the global micro-batch, each rank takes its share, so the step
// plan (and with --global-negatives the loss) does not depend on the world size; rank 0 writes.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "graph/status.h"
#include "model/checkpoint.h"
#include "model/distributed.h"
#include "model/encoder.h"
#include "model/model_config.h"

namespace sccello {

class Store;

struct TrainRequest {
  RunConfig config;
  std::string out_dir = "sccello-run";
  std::string resume;          // a checkpoint file or a training directory; "" = fresh start
  std::string resume_release;  // with resume: "" = the checkpoint's; another release is refused
  std::string device = "cpu";  // cpu | cuda
  int threads = 1;             // LibTorch intra-op threads
  bool progress = false;       // live progress line on stderr (TTY)
  std::function<void(const std::string&)> log;  // human-readable lines (may be empty)
  // Called after every `step_hook_every` optimiser steps (never when 0) on the training thread;
  // the model is put back in training mode afterwards. A non-empty result is appended to
  // metrics.jsonl as one line (model/train_eval.h logs {"type":"eval",...}); an error stops training.
  int64_t step_hook_every = 0;
  std::function<Result<std::string>(ScCelloModel& model, int64_t step)> step_hook;
  // Data parallelism: this process's place (torchrun's environment) and the c10d options.
  LaunchEnv launch;
  DistributedOptions distributed;
  // Writes the untrained model (after initialisation and, with several ranks, the broadcast) to
  // OUT/init.ckpt before the first step: the floor a trained model is compared against.
  bool save_init = false;
  bool init_only = false;  // with save_init: stop after writing it (`train --steps 0 --save-init`)
  // Test hooks.
  CheckpointWriteOptions checkpoint_write;
  int64_t stop_after_step = 0;  // > 0: stop after this step (with a checkpoint), as if interrupted
  int64_t nan_at_step = 0;      // > 0: make the loss NaN at this step (1-based)
};

// One logged (or validation) line of metrics.
struct TrainMetrics {
  int64_t step = 0;
  double lr = 0, loss = 0, mgp = 0, intra = 0, inter = 0, reg = 0;
  double mgp_acc = 0, coherence_acc = 0, cells_per_s = 0, tokens_per_s = 0;
  std::string to_json(const std::string& kind) const;
};

struct TrainSummary {
  int64_t steps_done = 0, total_steps = 0;
  int64_t train_cells = 0, val_cells = 0, label_space = 0, unmapped_cells = 0, migrated_cells = 0;
  std::vector<TrainMetrics> curve;   // every logged step of this run
  TrainMetrics validation;           // at the end (step = steps_done)
  std::string last_checkpoint;
  std::string release, release_hash, target;
  std::string losses;  // the loss terms trained ("mgp,intra,inter,reg"; the coherence head needs intra/inter)
  std::string init_checkpoint;  // with save_init
  // Data-parallel runs: this rank (only rank 0 has curve, validation and checkpoints) and the
  // gradient all-reduce: bytes per optimiser step, seconds blocked waiting for it (all steps).
  int rank = 0, world_size = 1;
  int64_t allreduce_bytes_per_step = 0;
  double allreduce_wait_seconds = 0, train_seconds = 0;
};

Result<TrainSummary> train_model(Store& store, const TrainRequest& request);

// "cpu" or "cuda" (a clear error when this LibTorch has no CUDA); sets the thread count.
Status check_device(const std::string& device);

}  // namespace sccello
