// c10d process groups, the heartbeat, the embedding all-gather and the bucketed gradient all-reduce.
#include "model/distributed.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <thread>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "model/checkpoint.h"  // torch_error_text

namespace sccello {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A non-negative integer environment variable; `fallback` when unset.
Result<int> env_int(const char* name, int fallback, int min_value) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < min_value || x > 1 << 20)
    return Status::invalid(std::string(name) + "='" + v + "' is not a valid value (an integer >= " +
                           std::to_string(min_value) + ")");
  return static_cast<int>(x);
}

}  // namespace

Result<LaunchEnv> launch_env_from_environment() {
  LaunchEnv env;
  const bool any = std::getenv("RANK") || std::getenv("WORLD_SIZE");
  if (!any) return env;
  if (!std::getenv("RANK") || !std::getenv("WORLD_SIZE"))
    return Status::invalid("RANK and WORLD_SIZE must be set together (torchrun's contract; or use --nproc N)");
  SCCELLO_ASSIGN_OR_RETURN(env.world_size, env_int("WORLD_SIZE", 1, 1));
  SCCELLO_ASSIGN_OR_RETURN(env.rank, env_int("RANK", 0, 0));
  SCCELLO_ASSIGN_OR_RETURN(env.local_rank, env_int("LOCAL_RANK", env.rank, 0));
  SCCELLO_ASSIGN_OR_RETURN(env.master_port, env_int("MASTER_PORT", 29500, 1));
  if (const char* addr = std::getenv("MASTER_ADDR"); addr && *addr) env.master_addr = addr;
  if (env.rank >= env.world_size)
    return Status::invalid("RANK=" + std::to_string(env.rank) + " is not below WORLD_SIZE=" +
                           std::to_string(env.world_size));
  if (env.master_port > 65535) return Status::invalid("MASTER_PORT=" + std::to_string(env.master_port) + " is not a port");
  return env;
}

std::vector<int64_t> rank_share(int64_t batch, int rank, int world) {
  std::vector<int64_t> rows;
  for (int64_t i = rank; i < batch; i += world) rows.push_back(i);
  return rows;
}

// ---------------------------------------------------------------------------------------------
// The process groups and the heartbeat.

class DataParallelImpl {
 public:
  LaunchEnv env;
  DistributedOptions options;
  bool cuda = false;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> gradients, aux;  // aux: counts, metrics, embeddings

  ~DataParallelImpl() { stop_heartbeat(); }

  void start_heartbeat() {
    heartbeat_ = std::thread([this] { heartbeat_loop(); });
  }
  void stop_heartbeat() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    if (heartbeat_.joinable()) heartbeat_.join();
  }
  // A fresh client of the rendezvous store (TCPStore clients are not shared across threads).
  c10::intrusive_ptr<c10d::TCPStore> client(milliseconds timeout) const {
    c10d::TCPStoreOptions o;
    o.port = static_cast<uint16_t>(env.master_port);
    o.isServer = false;
    o.waitWorkers = false;
    o.timeout = timeout;
    return c10::make_intrusive<c10d::TCPStore>(env.master_addr, o);
  }
  at::Tensor on_backend(const at::Tensor& t) const { return cuda ? t.to(at::kCUDA) : t; }

 private:
  void heartbeat_loop() {
    try {
      auto c = client(milliseconds(10000));
      const std::string key = "heartbeat/" + std::to_string(env.rank);
      std::unique_lock<std::mutex> lock(mutex_);
      while (!stop_) {
        lock.unlock();
        c->add(key, 1);
        lock.lock();
        wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; });
      }
    } catch (const std::exception&) {
      // The store is gone (rank 0 exited): nothing left to tell; failure_message() reports it.
    }
  }
  std::thread heartbeat_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
};

namespace {

std::shared_ptr<::gloo::transport::Device> gloo_device(const LaunchEnv& env) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  if (env.master_addr == "localhost" || env.master_addr.rfind("127.", 0) == 0)
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

c10::intrusive_ptr<c10d::ProcessGroup> make_group(const c10::intrusive_ptr<c10d::Store>& store,
                                                  const std::string& prefix, const LaunchEnv& env,
                                                  const DistributedOptions& options, bool nccl) {
  auto scoped = c10::make_intrusive<c10d::PrefixStore>(prefix, store);
  const milliseconds timeout(static_cast<int64_t>(options.timeout_seconds) * 1000);
#ifdef USE_C10D_NCCL
  if (nccl) {
    auto o = c10d::ProcessGroupNCCL::Options::create();
    o->timeout = timeout;
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(scoped, env.rank, env.world_size, o);
  }
#else
  (void)nccl;
#endif
  auto o = c10d::ProcessGroupGloo::Options::create(timeout);
  o->devices.push_back(gloo_device(env));
  return c10::make_intrusive<c10d::ProcessGroupGloo>(scoped, env.rank, env.world_size, o);
}

Status resolve_backend(DistributedOptions* options, const std::string& device) {
  std::string& b = options->backend;
  if (b == "auto") b = device == "cuda" ? "nccl" : "gloo";
  if (b != "gloo" && b != "nccl") return Status::invalid("--dist-backend must be auto, gloo or nccl, not '" + b + "'");
  if (b == "nccl" && device != "cuda") return Status::invalid("--dist-backend nccl needs --device cuda");
#ifndef USE_C10D_NCCL
  if (b == "nccl")
    return Status::unsupported("--dist-backend nccl: this LibTorch was built without NCCL (use gloo, or a CUDA "
                               "LibTorch with NCCL)");
#endif
  return Status::ok();
}

}  // namespace

DataParallel::DataParallel(std::unique_ptr<DataParallelImpl> impl) : impl_(std::move(impl)) {}
DataParallel::~DataParallel() = default;
int DataParallel::rank() const { return impl_->env.rank; }
int DataParallel::world_size() const { return impl_->env.world_size; }
const DistributedOptions& DataParallel::options() const { return impl_->options; }
std::string DataParallel::backend_name() const { return impl_->options.backend; }

Result<std::unique_ptr<DataParallel>> DataParallel::connect(const LaunchEnv& env, const DistributedOptions& options,
                                                            const std::string& device) {
  auto impl = std::make_unique<DataParallelImpl>();
  impl->env = env;
  impl->options = options;
  impl->cuda = device == "cuda";
  SCCELLO_RETURN_IF_ERROR(resolve_backend(&impl->options, device));
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  try {
#ifdef USE_C10D_NCCL
    if (impl->cuda) c10::cuda::set_device(static_cast<c10::DeviceIndex>(env.local_rank));
#endif
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(env.master_port);
    so.isServer = env.rank == 0;
    so.numWorkers = static_cast<size_t>(env.world_size);
    so.waitWorkers = true;
    so.timeout = milliseconds(static_cast<int64_t>(options.timeout_seconds) * 1000);
    impl->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
    const bool nccl = impl->options.backend == "nccl";
    impl->gradients = make_group(impl->store, "gradients/", env, impl->options, nccl);
    impl->aux = make_group(impl->store, "aux/", env, impl->options, nccl);
  } catch (const std::exception& e) {
    return Status::io_error("rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size) +
                            ": cannot join the process group at " + where + " within " +
                            std::to_string(options.timeout_seconds) + " s: " + torch_error_text(e) +
                            " (are all ranks started with the same MASTER_ADDR/MASTER_PORT, is the port free "
                            "on rank 0's machine?)");
  }
  impl->start_heartbeat();
  return std::unique_ptr<DataParallel>(new DataParallel(std::move(impl)));
}

void DataParallel::broadcast_from_rank0(const std::vector<at::Tensor>& tensors) {
  at::NoGradGuard no_grad;
  size_t first = 0;
  while (first < tensors.size()) {
    size_t last = first;
    int64_t bytes = 0;
    std::vector<at::Tensor> flat;
    while (last < tensors.size() && (last == first || bytes + tensors[last].nbytes() <= options().bucket_bytes)) {
      bytes += static_cast<int64_t>(tensors[last].nbytes());
      flat.push_back(tensors[last].reshape({-1}));
      ++last;
    }
    std::vector<at::Tensor> buffer{impl_->on_backend(at::cat(flat))};
    impl_->gradients->broadcast(buffer)->wait();
    int64_t offset = 0;
    for (size_t i = first; i < last; ++i) {
      const int64_t n = tensors[i].numel();
      at::Tensor dst = tensors[i];
      dst.copy_(buffer[0].narrow(0, offset, n).view(tensors[i].sizes()));
      offset += n;
    }
    first = last;
  }
}

void DataParallel::all_reduce_sum(at::Tensor& t) {
  std::vector<at::Tensor> buffer{impl_->on_backend(t.contiguous())};
  impl_->aux->allreduce(buffer)->wait();
  if (!buffer[0].is_same(t)) t.copy_(buffer[0]);
}

void DataParallel::finish() {
  impl_->store->set("done/" + std::to_string(rank()), std::vector<uint8_t>{1});
  impl_->aux->barrier()->wait();
  impl_->stop_heartbeat();
}

std::string DataParallel::failure_message(const std::string& what) {
  std::string msg = "rank " + std::to_string(rank()) + " of " + std::to_string(world_size()) + ": " + what;
  try {
    auto c = impl_->client(milliseconds(5000));
    auto read = [&] {
      std::map<int, int64_t> beats;
      for (int r = 0; r < world_size(); ++r)
        if (r != rank() && !c->check({"done/" + std::to_string(r)})) beats[r] = c->add("heartbeat/" + std::to_string(r), 0);
      return beats;
    };
    auto before = read();
    std::this_thread::sleep_for(std::chrono::milliseconds(3500));
    auto after = read();
    std::string stopped;
    for (const auto& [r, beat] : after)
      if (before.count(r) && before[r] == beat) stopped += (stopped.empty() ? "" : ", ") + std::to_string(r);
    if (!stopped.empty())
      return msg + "; rank " + stopped + " stopped (no heartbeat for 3.5 s): it died or was killed. Resume from the "
                   "last checkpoint with --resume";
    return msg + "; every other rank still has a heartbeat (one of them may have failed with its own error)";
  } catch (const std::exception&) {
    if (rank() == 0) return msg;
    return msg + "; rank 0 (the rendezvous store at " + impl_->env.master_addr + ":" +
           std::to_string(impl_->env.master_port) + ") is unreachable: it died or was killed. Resume from the last "
           "checkpoint with --resume";
  }
}

// ---------------------------------------------------------------------------------------------
// All-gather of embedding rows; backward: all-reduce (sum) of the gradient, this rank's rows.

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct GatherRows : public torch::autograd::Function<GatherRows> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& local, int64_t parallel_ptr,
                            std::vector<int64_t> shares) {
    auto* parallel = reinterpret_cast<DataParallel*>(parallel_ptr);
    const int rank = parallel->rank();
    int64_t widest = 1, offset = 0;
    for (size_t r = 0; r < shares.size(); ++r) {
      widest = std::max(widest, shares[r]);
      if (static_cast<int>(r) < rank) offset += shares[r];
    }
    auto& impl = parallel->impl();
    at::Tensor padded = at::zeros({widest, local.size(1)}, local.options());
    padded.narrow(0, 0, local.size(0)).copy_(local);
    std::vector<at::Tensor> input{impl.on_backend(padded)};
    std::vector<std::vector<at::Tensor>> output(1);
    for (size_t r = 0; r < shares.size(); ++r) output[0].push_back(at::empty_like(input[0]));
    impl.aux->allgather(output, input)->wait();
    std::vector<at::Tensor> parts;
    for (size_t r = 0; r < shares.size(); ++r) parts.push_back(output[0][r].narrow(0, 0, shares[r]));
    ctx->saved_data["parallel"] = parallel_ptr;
    ctx->saved_data["offset"] = offset;
    ctx->saved_data["rows"] = local.size(0);
    return at::cat(parts).to(local.device());
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto* parallel = reinterpret_cast<DataParallel*>(ctx->saved_data["parallel"].toInt());
    at::Tensor g = grads[0].contiguous().clone();
    parallel->all_reduce_sum(g);
    return {g.narrow(0, ctx->saved_data["offset"].toInt(), ctx->saved_data["rows"].toInt()), at::Tensor(),
            at::Tensor()};
  }
};

}  // namespace

at::Tensor DataParallel::gather_rows(const at::Tensor& local, const std::vector<int64_t>& shares) {
  return GatherRows::apply(local, reinterpret_cast<int64_t>(this), shares);
}

// ---------------------------------------------------------------------------------------------
// Bucketed gradient all-reduce.

struct GradientReducer::Bucket {
  std::vector<size_t> params;
  std::vector<int64_t> offsets;
  int64_t numel = 0;     // gradient elements; then one "has a gradient" flag per parameter
  at::Tensor flat;
  c10::intrusive_ptr<c10d::Work> work;
  size_t pending = 0;
};

namespace {

class ReadyHook : public torch::autograd::FunctionPostHook {
 public:
  ReadyHook(GradientReducer* reducer, size_t param) : reducer_(reducer), param_(param) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list&) override {
    reducer_->on_gradient(param_);
    return outputs;
  }

 private:
  GradientReducer* reducer_;
  size_t param_;
};

}  // namespace

GradientReducer::GradientReducer(DataParallel& parallel, std::vector<at::Tensor> params, std::vector<bool> deferred)
    : parallel_(parallel), params_(std::move(params)), deferred_(std::move(deferred)) {
  std::vector<size_t> order;
  for (int pass = 0; pass < 2; ++pass)
    for (size_t i = params_.size(); i-- > 0;)
      if (deferred_[i] == (pass == 1)) order.push_back(i);
  bucket_of_.assign(params_.size(), 0);
  const int64_t cap = parallel.options().bucket_bytes;
  for (size_t i : order) {
    const int64_t bytes = static_cast<int64_t>(params_[i].nbytes());
    if (buckets_.empty() || (buckets_.back().numel * 4 + bytes > cap && !buckets_.back().params.empty()))
      buckets_.emplace_back();
    Bucket& b = buckets_.back();
    b.offsets.push_back(b.numel);
    b.params.push_back(i);
    b.numel += params_[i].numel();
    bucket_of_[i] = buckets_.size() - 1;
  }
  for (Bucket& b : buckets_) {
    b.flat = at::zeros({b.numel + static_cast<int64_t>(b.params.size())}, params_[b.params[0]].options());
    bytes_per_step_ += static_cast<int64_t>(b.flat.nbytes());
  }
  ready_.assign(params_.size(), 0);
  for (size_t i = 0; i < params_.size(); ++i) {
    auto acc = torch::autograd::impl::grad_accumulator(params_[i]);
    acc->add_post_hook(std::make_unique<ReadyHook>(this, i));
    accumulators_.push_back(acc);
  }
}

GradientReducer::~GradientReducer() {
  for (auto& holder : accumulators_) {
    auto* node = static_cast<torch::autograd::Node*>(holder.get());
    auto& hooks = node->post_hooks();
    for (auto it = hooks.begin(); it != hooks.end();)
      it = dynamic_cast<ReadyHook*>(it->get()) ? hooks.erase(it) : it + 1;
  }
}

void GradientReducer::prepare(bool last_backward) {
  std::lock_guard<std::mutex> lock(mutex_);
  armed_ = last_backward;
  deferred_phase_ = false;
  if (!last_backward) return;
  std::fill(ready_.begin(), ready_.end(), 0);
  for (Bucket& b : buckets_) b.pending = b.params.size(), b.work.reset();
  next_launch_ = 0;
}

void GradientReducer::begin_deferred() {
  std::lock_guard<std::mutex> lock(mutex_);
  deferred_phase_ = true;
}

void GradientReducer::on_gradient(size_t param) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_ || ready_[param] || (deferred_[param] && !deferred_phase_)) return;
  ready_[param] = 1;
  --buckets_[bucket_of_[param]].pending;
  launch_ready_buckets();
}

void GradientReducer::launch_ready_buckets() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0) launch(buckets_[next_launch_++]);
}

void GradientReducer::launch(Bucket& b) {
  at::NoGradGuard no_grad;
  for (size_t k = 0; k < b.params.size(); ++k) {
    const at::Tensor& g = params_[b.params[k]].grad();
    at::Tensor slot = b.flat.narrow(0, b.offsets[k], params_[b.params[k]].numel());
    if (g.defined()) slot.view(g.sizes()).copy_(g);
    else slot.zero_();
    b.flat[b.numel + static_cast<int64_t>(k)].fill_(g.defined() ? 1.0 : 0.0);
  }
  std::vector<at::Tensor> buffer{b.flat};
  b.work = parallel_.impl().gradients->allreduce(buffer);
}

void GradientReducer::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  armed_ = false;
  while (next_launch_ < buckets_.size()) launch(buckets_[next_launch_++]);
  at::NoGradGuard no_grad;
  const double world = parallel_.world_size();
  for (Bucket& b : buckets_) {
    auto start = Clock::now();
    b.work->wait();
    wait_seconds_ += std::chrono::duration<double>(Clock::now() - start).count();
    b.flat.div_(world);
    at::Tensor flags = b.flat.narrow(0, b.numel, static_cast<int64_t>(b.params.size())).to(at::kCPU);
    for (size_t k = 0; k < b.params.size(); ++k) {
      at::Tensor& p = params_[b.params[k]];
      p.mutable_grad() = flags[static_cast<int64_t>(k)].item<float>() > 0
                             ? b.flat.narrow(0, b.offsets[k], p.numel()).view(p.sizes())
                             : at::Tensor();
    }
    b.work.reset();
  }
}

}  // namespace sccello
