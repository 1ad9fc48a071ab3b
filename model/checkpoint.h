// Checkpoint: sccello's own file format for a model and its training state, independent of
// LibTorch's pickle format so the same file loads under LibTorch 1.13 and 2.x:
//   "SCCELLOC" | u32 version | u64 n + metadata JSON | u64 count | per tensor: u32 n + name,
//   u8 dtype, u32 ndim, i64 dims[ndim], u64 nbytes + raw little-endian bytes | u64 FNV-1a of all before
//   (prime 1099511628211, offset basis 1469598103934665603: not FNV's published basis, kept since
//   version 1 files carry it).
// Writes are atomic (temporary file, fsync, rename): a failed write leaves the previous file intact.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "graph/ontology.h"
#include "graph/status.h"
#include "model/model_config.h"

namespace sccello {

constexpr uint32_t kCheckpointVersion = 1;

// What a checkpoint records besides tensors; loading checks these against the current run.
struct CheckpointMeta {
  RunConfig config;
  std::string release_name;
  std::string release_hash;         // ReleaseInfo.content_hash
  std::string target_describe;      // TargetProvider::describe() ("" when no provider was used)
  std::vector<TermId> label_space;  // prototype row i = label_space[i]
  std::string vocab_hash;
  std::string losses;               // "mgp,intra,inter,reg" subset
  // Training position: optimiser updates done, total planned, micro-batches consumed.
  int64_t step = 0;
  int64_t total_steps = 0;
  int64_t micro_batches = 0;
  int64_t cells_seen = -1;          // training cells consumed (the data position; -1 = not recorded)
  std::string metrics_json = "{}";  // last logged metrics, informational
};

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

struct Checkpoint {
  CheckpointMeta meta;
  NamedTensors tensors;  // CPU tensors
};

struct CheckpointWriteOptions {
  // Test hook: fail like a full disk after this many bytes (-1 = never).
  int64_t fail_after_bytes = -1;
};

Status write_checkpoint(const std::string& path, const CheckpointMeta& meta, const NamedTensors& tensors,
                        const CheckpointWriteOptions& options = {});
Result<Checkpoint> read_checkpoint(const std::string& path);
// The same from the file's bytes in memory (`name` is what messages call it): the fuzz harness's
// entry point (tests/fuzz/checkpoint_fuzz.cc).
Result<Checkpoint> parse_checkpoint(const std::string& bytes, const std::string& name);

// A checkpoint file, or a training output directory (its newest checkpoints/step-*.ckpt).
Result<std::string> resolve_checkpoint_path(const std::string& file_or_dir);
// checkpoints/step-%08d.ckpt under out_dir.
std::string checkpoint_path(const std::string& out_dir, int64_t step);
// Removes the temporary files (checkpoints/step-*.ckpt.tmp-PID) a killed writer left behind,
// except those of a live process; returns their paths.
std::vector<std::string> sweep_stale_checkpoint_temps(const std::string& out_dir);
// Deletes all but the newest `keep` checkpoints in out_dir/checkpoints.
void prune_checkpoints(const std::string& out_dir, int64_t keep);

// The message of an exception thrown by LibTorch (c10::Error without its C++ backtrace) or any other.
std::string torch_error_text(const std::exception& e);

// FNV-1a 64 of a byte string as 16 hex digits.
std::string fnv1a_hex(const std::string& bytes);

}  // namespace sccello
