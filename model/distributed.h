// Data-parallel pre-training on PyTorch's c10d: a process group (Gloo on CPU, NCCL on CUDA when this
// LibTorch has it) joined through torchrun's environment contract and a TCPStore rendezvous, rank 0's
// parameters broadcast at the start, gradients all-reduced in ~25 MB buckets launched from autograd
// hooks as they become final, an all-gather of cell embeddings with its gradient summed back
// (--global-negatives), and a heartbeat that names the rank that died when a collective fails.
// One DataParallel per training process, driven from the training thread; not thread-safe
// (its heartbeat thread is internal). docs/distributed.md.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "graph/status.h"

namespace sccello {

// Where this process sits in a data-parallel job: the variables torchrun sets for each worker.
struct LaunchEnv {
  int rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool distributed() const { return world_size > 1; }
};

// Reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT. None set: one process (rank 0 of 1).
// RANK/WORLD_SIZE set without the others, or values out of range, are errors naming the variable.
Result<LaunchEnv> launch_env_from_environment();

struct DistributedOptions {
  std::string backend = "auto";     // auto (gloo on cpu, nccl on cuda) | gloo | nccl
  int timeout_seconds = 300;        // the rendezvous and each collective wait at most this long
  int64_t bucket_bytes = 25 << 20;  // gradient all-reduce bucket size (DDP's default)
  bool global_negatives = false;    // the alignment loss sees every rank's cells (all-gather)
};

// Which cells of a global micro-batch rank `rank` of `world` takes: positions rank, rank+world, ...
// (interleaved, so that every share of a length-sorted batch has about the same length).
std::vector<int64_t> rank_share(int64_t batch, int rank, int world);

class DataParallelImpl;

// A joined process group. Collectives throw (c10::Error, gloo exceptions) when a peer fails; the
// trainer catches them and asks failure_message() for the diagnosis.
class DataParallel {
 public:
  // Joins the group described by env (blocks until all world_size ranks arrive, at most the timeout).
  static Result<std::unique_ptr<DataParallel>> connect(const LaunchEnv& env, const DistributedOptions& options,
                                                       const std::string& device);
  ~DataParallel();
  int rank() const;
  int world_size() const;
  const DistributedOptions& options() const;
  std::string backend_name() const;

  // Copies rank 0's tensors into everyone's (in place, bucketed).
  void broadcast_from_rank0(const std::vector<at::Tensor>& tensors);
  // In-place sum over ranks on the auxiliary group (counts, metrics), blocking.
  void all_reduce_sum(at::Tensor& t);
  // [Σ shares, H]: every rank's rows, in rank order; the gradient of the result is summed over
  // ranks and this rank's rows of it flow back to `local` [shares[rank], H].
  at::Tensor gather_rows(const at::Tensor& local, const std::vector<int64_t>& shares);
  // A rank that completed its work says so (the heartbeat stops watching it), then all wait.
  void finish();
  // "rank R: <what>: rank X stopped (no heartbeat) ..." from the heartbeats, after a failed collective.
  std::string failure_message(const std::string& what);

  DataParallelImpl& impl() { return *impl_; }

 private:
  explicit DataParallel(std::unique_ptr<DataParallelImpl> impl);
  std::unique_ptr<DataParallelImpl> impl_;
};

// Gradient all-reduce of one parameter list in fixed buckets (reverse parameter order, deferred
// parameters last), each launched asynchronously from the parameters' AccumulateGrad post-hooks
// once all its gradients are final and every earlier bucket is launched: the same launch order on
// every rank whatever order the hooks fire in. finish() launches the rest, waits, and leaves
// .grad() = the mean over ranks (undefined only where no rank had a gradient).
class GradientReducer {
 public:
  // deferred[i]: parameter i receives its last gradient in a second backward of the step (the
  // vocabulary keys); its hooks count only after begin_deferred().
  GradientReducer(DataParallel& parallel, std::vector<at::Tensor> params, std::vector<bool> deferred);
  ~GradientReducer();
  // Before each backward of a step: hooks act only in the step's last backward.
  void prepare(bool last_backward);
  void begin_deferred();
  void finish();
  int64_t bytes_per_step() const { return bytes_per_step_; }
  double wait_seconds() const { return wait_seconds_; }  // blocked in finish(), summed over steps
  void on_gradient(size_t param);                        // called by the hooks

 private:
  struct Bucket;
  void launch_ready_buckets();
  void launch(Bucket& bucket);

  DataParallel& parallel_;
  std::vector<at::Tensor> params_;
  std::vector<bool> deferred_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_;          // parameter -> bucket
  std::vector<char> ready_;
  size_t next_launch_ = 0;
  bool armed_ = false, deferred_phase_ = false;
  int64_t bytes_per_step_ = 0;
  double wait_seconds_ = 0;
  std::mutex mutex_;                       // hooks may run on autograd device threads (CUDA)
  std::vector<std::shared_ptr<void>> accumulators_;  // keeps the hooked AccumulateGrad nodes alive
};

}  // namespace sccello
