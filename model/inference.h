// Loading a trained ScCelloModel from a checkpoint and computing cell embeddings (DESIGN.md: the
// normalised cell-head output at <cls>). Embedding is batched by length (cells sorted, results
// returned in input order), deterministic (eval mode), optionally under bf16 autocast.
// One model per thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "graph/status.h"
#include "model/checkpoint.h"
#include "model/encoder.h"

namespace sccello {

// Keeps freed memory in the process heap instead of returning big blocks to the kernel (glibc:
// no mmap for large blocks, no trimming). Activations of hundreds of MB are re-allocated every
// pass; with the defaults each pass page-faults them in again (~30% of a training step).
// Process-wide; call once before training or embedding. No-op off glibc.
void configure_cpu_allocator();

// The model's parameters by name (for checkpoints).
NamedTensors model_tensors(ScCelloModel& model);
// Copies named tensors into the model; a missing or mis-shaped parameter is an error naming it.
Status load_model_tensors(ScCelloModel& model, const NamedTensors& tensors, const std::string& source);

// Fingerprint of the gene vocabulary (token order of the Geneformer dictionary + <cls>), or of the
// model's id layout when the vocabulary files cannot be found.
std::string vocabulary_fingerprint(const ModelConfig& model);

struct LoadedModel {
  ScCelloModel model{nullptr};
  CheckpointMeta meta;
  std::string path;
};
// Reads a checkpoint (file or training directory), checks format and vocabulary, builds the model.
Result<LoadedModel> load_model(const std::string& file_or_dir);

struct EmbedOptions {
  int64_t batch_size = 32;
  int64_t max_len = 0;     // 0 = the checkpoint's train.max_len
  bool bf16 = false;
  CellReadout readout = CellReadout::kClsHead;  // scCello's; the others are for studies (docs/quality.md)
  std::function<void(int64_t done, int64_t total)> progress;
};
// "cls-head" | "gene-mean" | "gene-mean-head"; anything else is an error listing them.
Result<CellReadout> parse_cell_readout(const std::string& name);

// tokens of N cells (<cls> first) -> N x H embeddings, row-major.
Result<std::vector<float>> embed_cells(ScCelloModel& model, const std::vector<std::vector<int32_t>>& cells,
                                       const EmbedOptions& options);

}  // namespace sccello
