// The training loop: setup (release, data, provider, model, optimiser, resume), steps of
// accumulated micro-batches, logging, validation and checkpoints.
#include "model/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/autograd.h>
#include <torch/nn/module.h>
#include <torch/utils.h>

#include "model/adamw.h"
#include "model/batching.h"
#include "model/distributed.h"
#include "model/encoder.h"
#include "model/inference.h"
#include "model/torch_compat.h"
#include "model/train_step.h"
#include "model/training_data.h"
#include "plugins/target_registry.h"
#include "store/kv_store.h"  // WriteBatch, needed complete by corpus.h
#include "store/safe_text.h"
#include "store/corpus.h"
#include "store/store.h"
#include "store/release_store.h"

namespace sccello {

namespace fs = std::filesystem;

std::string TrainMetrics::to_json(const std::string& kind) const {
  nlohmann::json j = {{"type", kind}, {"step", step}, {"lr", lr}, {"loss", loss}, {"mgp", mgp},
                      {"intra", intra}, {"inter", inter}, {"reg", reg}, {"mgp_acc", mgp_acc},
                      {"coherence_acc", coherence_acc}, {"cells_per_s", cells_per_s}, {"tokens_per_s", tokens_per_s}};
  return json_dump(j);
}

Status check_device(const std::string& device) {
  if (device == "cpu") return Status::ok();
  if (device == "cuda") {
    if (at::globalContext().hasCUDA()) return Status::ok();
    return Status::unsupported("--device cuda: this sccello was built against a LibTorch without CUDA "
                               "(rebuild with a CUDA LibTorch, or use --device cpu)");
  }
  return Status::invalid("--device must be cpu or cuda, not '" + device + "'");
}

namespace {

using Clock = std::chrono::steady_clock;

// Whether one metrics.jsonl line belongs to a run at or before `step`; unreadable lines do not.
bool metrics_line_upto(const std::string& line, int64_t step) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return false;
  auto it = j.find("step");
  return it != j.end() && it->is_number_integer() && it->get<int64_t>() <= step;
}

// Rewrites <out>/metrics.jsonl (temporary file + rename) keeping the lines up to `step`: a killed
// run logged past its last checkpoint, and the resumed run logs those steps again. Returns the
// number of lines dropped (0 when there is no file).
Result<int64_t> truncate_metrics(const fs::path& file, int64_t step) {
  std::ifstream in(file);
  if (!in) return int64_t{0};
  std::string kept, line;
  int64_t dropped = 0;
  while (std::getline(in, line)) {
    if (metrics_line_upto(line, step)) kept += line + "\n";
    else ++dropped;
  }
  in.close();
  if (dropped == 0) return dropped;
  const fs::path tmp = file.string() + ".tmp";
  std::ofstream out(tmp, std::ios::trunc);
  out << kept;
  out.close();
  std::error_code ec;
  if (!out || (fs::rename(tmp, file, ec), ec))
    return Status::io_error("cannot rewrite " + file.string() + " to the resumed step " + std::to_string(step));
  return dropped;
}

TrainMetrics metrics_from(const LossTally& t, int64_t step, double lr, double seconds) {
  TrainMetrics m;
  const double mb = std::max<int64_t>(1, t.micro_batches);
  m.step = step, m.lr = lr, m.loss = t.total / mb, m.mgp = t.mgp / mb, m.intra = t.intra / mb;
  m.inter = t.inter / mb, m.reg = t.reg / mb;
  m.mgp_acc = t.mgp_count ? static_cast<double>(t.mgp_correct) / t.mgp_count : 0.0;
  m.coherence_acc = t.coh_count ? static_cast<double>(t.coh_correct) / t.coh_count : 0.0;
  m.cells_per_s = seconds > 0 ? t.cells / seconds : 0.0;
  m.tokens_per_s = seconds > 0 ? t.tokens / seconds : 0.0;
  return m;
}

class TrainingRun {
 public:
  TrainingRun(Store& store, const TrainRequest& request) : store_(store), request_(request) {}
  Result<TrainSummary> run();
  // The error for an exception out of run(): with other ranks, which of them stopped.
  Status failed(const std::string& what);

 private:
  Status setup();
  Status setup_release_and_data(const Checkpoint* resume);
  Status setup_provider(const Checkpoint* resume);
  Status setup_model(const Checkpoint* resume);
  Status setup_parallel();
  Status check_data_position(const Checkpoint& resume) const;
  bool is_main() const { return !parallel_ || parallel_->rank() == 0; }
  int64_t cells_seen(int64_t step) const;
  Status fill_global_targets(const std::vector<int64_t>& column_labels, MicroBatch* batch) const;
  MicroBatchCollectives collectives_for(const MicroBatch& batch);
  void reduce_tally(LossTally* tally);
  Status train_step(int64_t step);
  Result<MicroBatch> make_micro_batch(int64_t micro_index, bool for_training);
  const std::vector<std::vector<int64_t>>& epoch_batches(int64_t epoch);
  Status fill_targets(const std::vector<int64_t>& labels, MicroBatch* batch) const;
  Status checkpoint(int64_t step, const TrainMetrics& last);
  Status save_initial_model();
  Status write_checkpoint_at(const std::string& path, int64_t step, const TrainMetrics& last);
  TrainMetrics validate_now(int64_t step);
  void log_step(int64_t step, const LossTally& tally, double seconds, double lr);
  Status run_step_hook(int64_t step);
  void say(const std::string& line) const {
    if (request_.log) request_.log(line);
  }

  Store& store_;
  TrainRequest request_;
  RunConfig config_;
  std::string release_name_, release_hash_, target_describe_, vocab_hash_;
  OntologyRelease release_;
  TrainingData data_;
  std::unique_ptr<TargetProvider> provider_;
  ScCelloModel model_{nullptr};
  std::unique_ptr<AdamW> optimizer_;
  std::unique_ptr<DataParallel> parallel_;   // null: one process
  std::unique_ptr<GradientReducer> reducer_;
  std::vector<int64_t> shares_;              // rows per rank of the current micro-batch
  std::vector<at::Tensor> params_;
  int64_t start_step_ = 0, total_steps_ = 0, batches_per_epoch_ = 0;
  int64_t cached_epoch_ = -1;
  std::vector<std::vector<int64_t>> cached_batches_;
  std::ofstream metrics_;
  TrainSummary summary_;
  LossTally window_;
  Clock::time_point window_start_ = Clock::now(), run_start_ = Clock::now();
};

Status TrainingRun::setup_release_and_data(const Checkpoint* resume) {
  ReleaseStore releases(store_);
  SCCELLO_ASSIGN_OR_RETURN(release_name_, releases.resolve(config_.train.release));
  SCCELLO_ASSIGN_OR_RETURN(release_, releases.load(release_name_));
  release_hash_ = release_.info.content_hash;
  if (resume && resume->meta.release_hash != release_hash_)
    return Status::invalid("the checkpoint was trained against release " + resume->meta.release_name + " (" +
                           resume->meta.release_hash + "), not " + release_name_ +
                           "; resume under the same release or start a new run with --release");
  Corpus corpus(store_);
  SCCELLO_ASSIGN_OR_RETURN(data_, load_training_data(corpus, config_.train.datasets, release_, config_.train,
                                                     resume ? &resume->meta.label_space : nullptr));
  if (config_.train.losses.needs_labels() && data_.label_space.empty())
    return Status::invalid("empty label space: no cell of the datasets has a CL term in release " + release_name_ +
                           "; import labelled cells or train with --losses mgp");
  return Status::ok();
}

Status TrainingRun::setup_provider(const Checkpoint* resume) {
  if (!config_.train.losses.inter) return Status::ok();
  TargetContext ctx;
  ctx.store = &store_;
  ctx.release = release_name_;
  ctx.release_data = &release_;
  ctx.label_space = data_.label_space;
  ctx.threads = request_.threads;
  ctx.use_cache = !store_.read_only();
  SCCELLO_ASSIGN_OR_RETURN(provider_, make_target_provider(config_.train.target, ctx));
  target_describe_ = provider_->describe();
  if (resume && resume->meta.target_describe != target_describe_)
    return Status::invalid("the checkpoint used targets " + resume->meta.target_describe + ", this run asks for " +
                           target_describe_ + "; resume with the same --target");
  return Status::ok();
}

Status TrainingRun::setup_model(const Checkpoint* resume) {
  vocab_hash_ = vocabulary_fingerprint(config_.model);
  if (resume && resume->meta.vocab_hash != vocab_hash_)
    return Status::invalid("the checkpoint was trained with vocabulary " + resume->meta.vocab_hash +
                           ", this build uses " + vocab_hash_);
  at::manual_seed(config_.train.seed);  // initial weights are a function of the seed
  model_ = ScCelloModel(config_.model, static_cast<int64_t>(data_.label_space.size()));
  if (resume) SCCELLO_RETURN_IF_ERROR(load_model_tensors(model_, resume->tensors, request_.resume));
  if (request_.device == "cuda") model_->to(at::Device(at::kCUDA));
  NamedTensors named = model_tensors(model_);
  for (auto& [name, p] : named) params_.push_back(p);
  AdamWOptions adam{config_.train.adam_beta1, config_.train.adam_beta2, config_.train.adam_eps,
                    config_.train.weight_decay};
  optimizer_ = std::make_unique<AdamW>(named, adam);
  if (resume) {
    std::string missing;
    NamedTensors on_device;
    for (const auto& [name, t] : resume->tensors) on_device.emplace_back(name, t.to(params_[0].device()));
    if (!optimizer_->load_state(on_device, &missing))
      return Status::corruption(request_.resume + ": optimiser state '" + missing + "' missing or mis-shaped");
    optimizer_->set_step(resume->meta.step);
    start_step_ = resume->meta.step;
  }
  return Status::ok();
}

// Rank 0's parameters to every rank, and the gradient reducer. The parameters the vocabulary keys
// depend on (word embeddings, MGP head) get their last gradient in the step's second backward.
Status TrainingRun::setup_parallel() {
  if (!parallel_) return Status::ok();
  parallel_->broadcast_from_rank0(params_);
  std::vector<bool> deferred(params_.size(), false);
  if (config_.train.losses.mgp) {
    AutocastScope autocast(config_.train.bf16, request_.device == "cuda");
    auto keys = model_->vocabulary_keys();
    auto grads = torch::autograd::grad({keys.sum()}, params_, {}, false, false, /*allow_unused=*/true);
    for (size_t i = 0; i < grads.size(); ++i) deferred[i] = grads[i].defined();
  }
  reducer_ = std::make_unique<GradientReducer>(*parallel_, params_, deferred);
  const int64_t n = static_cast<int64_t>(data_.train.size()), b = config_.train.batch_size;
  const int64_t smallest = n % b == 0 ? b : std::min(b, n % b);
  if (smallest < parallel_->world_size())
    return Status::invalid("the smallest micro-batch of an epoch has " + std::to_string(smallest) + " cells (" +
                           std::to_string(n) + " training cells, --batch-size " + std::to_string(b) +
                           "), fewer than the " + std::to_string(parallel_->world_size()) +
                           " ranks; every rank needs a cell: change --batch-size or --max-cells");
  return Status::ok();
}

// Cells consumed by `step` optimiser updates: full epochs, then full batches of the current one.
int64_t TrainingRun::cells_seen(int64_t step) const {
  const int64_t micro = step * config_.train.grad_accum;
  return (micro / batches_per_epoch_) * static_cast<int64_t>(data_.train.size()) +
         (micro % batches_per_epoch_) * config_.train.batch_size;
}

Status TrainingRun::check_data_position(const Checkpoint& resume) const {
  if (resume.meta.cells_seen < 0 || resume.meta.cells_seen == cells_seen(resume.meta.step)) return Status::ok();
  return Status::invalid(request_.resume + ": the checkpoint consumed " + std::to_string(resume.meta.cells_seen) +
                         " training cells by step " + std::to_string(resume.meta.step) + ", this run's data plan " +
                         std::to_string(cells_seen(resume.meta.step)) + "; the training cells differ (datasets, "
                         "--max-cells or the store changed)");
}

Status TrainingRun::setup() {
  SCCELLO_RETURN_IF_ERROR(check_device(request_.device));
  if (request_.launch.distributed()) {
    SCCELLO_ASSIGN_OR_RETURN(parallel_, DataParallel::connect(request_.launch, request_.distributed, request_.device));
  }
  configure_cpu_allocator();
  at::set_num_threads(std::max(1, request_.threads));
  std::unique_ptr<Checkpoint> resume;
  config_ = request_.config;
  if (!request_.resume.empty()) {
    SCCELLO_ASSIGN_OR_RETURN(std::string path, resolve_checkpoint_path(request_.resume));
    SCCELLO_ASSIGN_OR_RETURN(Checkpoint ckpt, read_checkpoint(path));
    resume = std::make_unique<Checkpoint>(std::move(ckpt));
    config_ = resume->meta.config;
    if (!request_.resume_release.empty()) config_.train.release = request_.resume_release;
    request_.resume = path;
    if (is_main()) say("resuming from " + path + " at step " + std::to_string(resume->meta.step));
  }
  SCCELLO_RETURN_IF_ERROR(validate(config_));
  SCCELLO_RETURN_IF_ERROR(setup_release_and_data(resume.get()));
  SCCELLO_RETURN_IF_ERROR(setup_provider(resume.get()));
  SCCELLO_RETURN_IF_ERROR(setup_model(resume.get()));
  const TrainConfig& t = config_.train;
  const int64_t n = static_cast<int64_t>(data_.train.size());
  batches_per_epoch_ = (n + t.batch_size - 1) / t.batch_size;
  total_steps_ = t.steps > 0 ? t.steps : std::max<int64_t>(1, (t.epochs * batches_per_epoch_) / t.grad_accum);
  if (resume && resume->meta.total_steps != total_steps_)
    return Status::internal("resume: the step plan differs from the checkpoint's");
  if (resume) SCCELLO_RETURN_IF_ERROR(check_data_position(*resume));
  SCCELLO_RETURN_IF_ERROR(setup_parallel());
  if (!is_main()) return Status::ok();
  std::error_code ec;
  fs::create_directories(request_.out_dir, ec);
  for (const std::string& stale : sweep_stale_checkpoint_temps(request_.out_dir))
    say("removed " + stale + ", left by a run killed while writing a checkpoint");
  const fs::path metrics_file = fs::path(request_.out_dir) / "metrics.jsonl";
  if (resume) {
    SCCELLO_ASSIGN_OR_RETURN(int64_t dropped, truncate_metrics(metrics_file, start_step_));
    if (dropped > 0)
      say("metrics.jsonl: dropped " + std::to_string(dropped) + " line(s) past step " + std::to_string(start_step_) +
          " (logged by the interrupted run after its last checkpoint)");
  }
  metrics_.open((fs::path(request_.out_dir) / "metrics.jsonl").string(), resume ? std::ios::app : std::ios::trunc);
  if (!metrics_) return Status::io_error("cannot write " + request_.out_dir + "/metrics.jsonl");
  return Status::ok();
}

const std::vector<std::vector<int64_t>>& TrainingRun::epoch_batches(int64_t epoch) {
  if (epoch != cached_epoch_) {
    cached_batches_ = length_grouped_batches(data_.lengths, data_.train, config_.train.batch_size,
                                             config_.train.group_megabatch, mix_seed(config_.train.seed, 1000 + epoch));
    cached_epoch_ = epoch;
  }
  return cached_batches_;
}

Status TrainingRun::fill_targets(const std::vector<int64_t>& labels, MicroBatch* batch) const {
  const int64_t b = static_cast<int64_t>(labels.size());
  std::vector<int64_t> levels(b * b, 1);
  std::vector<uint8_t> ancestor(b * b, 0);
  std::vector<int64_t> rows;
  std::vector<LabelIndex> mapped;
  for (int64_t i = 0; i < b; ++i)
    if (labels[i] >= 0) rows.push_back(i), mapped.push_back(static_cast<LabelIndex>(labels[i]));
  if (provider_ && !mapped.empty()) {
    const size_t m = mapped.size();
    std::vector<int32_t> lv(m * m);
    std::vector<uint8_t> anc(m * m);
    SCCELLO_RETURN_IF_ERROR(provider_->batch_targets(mapped, lv.data(), anc.data()));
    for (size_t i = 0; i < m; ++i)
      for (size_t j = 0; j < m; ++j) {
        levels[rows[i] * b + rows[j]] = lv[i * m + j];
        ancestor[rows[i] * b + rows[j]] = anc[i * m + j];
      }
  }
  batch->levels = at::tensor(levels, at::kLong).view({b, b});
  batch->ancestor = at::tensor(std::vector<int64_t>(ancestor.begin(), ancestor.end()), at::kLong).view({b, b}).ne(0);
  return Status::ok();
}

// Targets of this rank's cells (rows, from row_offset) against all cells of the micro-batch.
Status TrainingRun::fill_global_targets(const std::vector<int64_t>& column_labels, MicroBatch* batch) const {
  const int64_t rows = batch->labels.size(0);
  SCCELLO_RETURN_IF_ERROR(fill_targets(column_labels, batch));
  batch->levels = batch->levels.narrow(0, batch->row_offset, rows).contiguous();
  batch->ancestor = batch->ancestor.narrow(0, batch->row_offset, rows).contiguous();
  batch->column_labels = at::tensor(column_labels, at::kLong);
  return Status::ok();
}

// Micro-batch number `micro_index` of the run (epochs concatenated): this rank's share of it, each
// cell masked by its position in the micro-batch (the same masks whatever the world size).
Result<MicroBatch> TrainingRun::make_micro_batch(int64_t micro_index, bool for_training) {
  const auto& batches = epoch_batches(micro_index / batches_per_epoch_);
  const std::vector<int64_t>& global = batches[micro_index % batches_per_epoch_];
  const int world = parallel_ ? parallel_->world_size() : 1, rank = parallel_ ? parallel_->rank() : 0;
  std::vector<int64_t> positions = rank_share(static_cast<int64_t>(global.size()), rank, world), members, columns;
  for (int64_t p : positions) members.push_back(global[p]);
  MicroBatch batch;
  shares_.clear();
  for (int r = 0; r < world; ++r) {
    std::vector<int64_t> share = rank_share(static_cast<int64_t>(global.size()), r, world);
    if (r == rank) batch.row_offset = static_cast<int64_t>(columns.size());
    for (int64_t p : share) columns.push_back(data_.cells[global[p]].label);
    shares_.push_back(static_cast<int64_t>(share.size()));
  }
  PaddedBatch padded = pad_batch(data_.cells, members, config_.model.pad_id);
  std::vector<int64_t> mlm = mask_tokens_by_row(padded, config_.model, config_.train.mask_prob,
                                                mix_seed(mix_seed(config_.train.seed, 2), micro_index), positions);
  batch.ids = at::tensor(padded.ids, at::kLong).view({padded.batch, padded.length});
  batch.mlm_labels = at::tensor(mlm, at::kLong).view({padded.batch, padded.length});
  batch.labels = at::tensor(padded.labels, at::kLong);
  if (config_.train.losses.inter) {
    if (parallel_ && parallel_->options().global_negatives) SCCELLO_RETURN_IF_ERROR(fill_global_targets(columns, &batch));
    else SCCELLO_RETURN_IF_ERROR(fill_targets(padded.labels, &batch));
  }
  if (request_.device == "cuda") {
    auto cuda = at::Device(at::kCUDA);
    batch.ids = batch.ids.to(cuda), batch.mlm_labels = batch.mlm_labels.to(cuda), batch.labels = batch.labels.to(cuda);
    if (batch.levels.defined()) batch.levels = batch.levels.to(cuda), batch.ancestor = batch.ancestor.to(cuda);
    if (batch.column_labels.defined()) batch.column_labels = batch.column_labels.to(cuda);
  }
  return batch;
}

// The global counts of this micro-batch and, with --global-negatives, the embedding all-gather.
MicroBatchCollectives TrainingRun::collectives_for(const MicroBatch& batch) {
  MicroBatchCollectives c;
  c.world_size = parallel_->world_size();
  at::Tensor counts = at::stack({batch.mlm_labels.ne(-100).sum(), batch.labels.ge(0).sum()}).to(at::kCPU);
  parallel_->all_reduce_sum(counts);
  c.global_masked = counts[0].item<int64_t>();
  c.global_labelled = counts[1].item<int64_t>();
  if (parallel_->options().global_negatives) {
    DataParallel* parallel = parallel_.get();
    std::vector<int64_t> shares = shares_;
    c.gather_rows = [parallel, shares](const at::Tensor& z) { return parallel->gather_rows(z, shares); };
    c.sum_over_ranks = [parallel](int64_t x) {
      at::Tensor t = at::full({1}, x, at::kLong);
      parallel->all_reduce_sum(t);
      return t.item<int64_t>();
    };
  }
  return c;
}

// One optimiser update over grad_accum micro-batches. The vocabulary keys (mlm_head over the whole
// word table) are computed once per update: micro-batches accumulate into a detached leaf, whose
// gradient is pushed through the head once at the end (the same gradient, 1/accum of the cost).
Status TrainingRun::train_step(int64_t step) {
  const TrainConfig& t = config_.train;
  for (auto& p : params_) p.mutable_grad() = at::Tensor();
  at::Tensor keys, keys_leaf;
  if (t.losses.mgp) {
    AutocastScope autocast(t.bf16, request_.device == "cuda");
    keys = model_->vocabulary_keys();
    keys_leaf = keys.detach().requires_grad_(true);
  }
  LossTally tally;
  for (int64_t k = 0; k < t.grad_accum; ++k) {
    const int64_t micro = step * t.grad_accum + k;
    SCCELLO_ASSIGN_OR_RETURN(MicroBatch batch, make_micro_batch(micro, true));
    uint64_t dropout_seed = mix_seed(mix_seed(t.seed, 3), micro);  // dropout of this micro-batch (and rank)
    if (parallel_) dropout_seed = mix_seed(dropout_seed, 7000 + parallel_->rank());
    at::manual_seed(dropout_seed >> 1);
    MicroBatchCollectives collectives;
    if (parallel_) collectives = collectives_for(batch);
    at::Tensor loss;
    {
      AutocastScope autocast(t.bf16, request_.device == "cuda");
      loss = micro_batch_loss(model_, batch, t.losses, keys_leaf, &tally, nullptr, parallel_ ? &collectives : nullptr);
    }
    if (request_.nan_at_step == step + 1) loss = loss * std::nan("");
    if (!std::isfinite(loss.item<double>()))
      return Status::internal("loss is not finite at step " + std::to_string(step + 1) + " (micro-batch " +
                              std::to_string(k) + "); stopped. The last good checkpoint: " +
                              (summary_.last_checkpoint.empty() ? "none yet" : summary_.last_checkpoint));
    if (reducer_) reducer_->prepare(k + 1 == t.grad_accum);
    (loss / static_cast<double>(t.grad_accum)).backward();
  }
  if (reducer_) reducer_->begin_deferred();
  if (keys.defined() && keys_leaf.grad().defined()) keys.backward(keys_leaf.grad());
  if (reducer_) reducer_->finish();  // gradients: the mean over ranks
  const double clip = clip_factor(params_, t.clip_norm);
  const double lr = t.lr * lr_multiplier(step, t.warmup_steps, total_steps_);
  optimizer_->update(lr, clip);
  window_.add(tally);
  if ((step + 1) % t.log_every == 0 || step + 1 == total_steps_) {
    reduce_tally(&window_);
    if (is_main()) log_step(step + 1, window_, std::chrono::duration<double>(Clock::now() - window_start_).count(), lr);
    window_ = LossTally();
    window_start_ = Clock::now();
  }
  return Status::ok();
}

// Sums a window's values over the ranks (each rank holds its share of the loss terms); the number
// of micro-batches stays this rank's, which the shares are per.
void TrainingRun::reduce_tally(LossTally* t) {
  if (!parallel_) return;
  at::Tensor v = at::tensor(std::vector<double>{t->total, t->mgp, t->intra, t->inter, t->reg,
                                                static_cast<double>(t->mgp_correct), static_cast<double>(t->mgp_count),
                                                static_cast<double>(t->coh_correct), static_cast<double>(t->coh_count),
                                                static_cast<double>(t->cells), static_cast<double>(t->tokens)},
                            at::kDouble);
  parallel_->all_reduce_sum(v);
  auto x = [&](int i) { return v[i].item<double>(); };
  auto n = [&](int i) { return static_cast<int64_t>(std::llround(x(i))); };
  t->total = x(0), t->mgp = x(1), t->intra = x(2), t->inter = x(3), t->reg = x(4);
  t->mgp_correct = n(5), t->mgp_count = n(6), t->coh_correct = n(7), t->coh_count = n(8), t->cells = n(9);
  t->tokens = n(10);
}

// The request's step hook (train-time evaluation), in eval mode without gradients.
Status TrainingRun::run_step_hook(int64_t step) {
  if (!is_main()) return Status::ok();
  if (!request_.step_hook || request_.step_hook_every <= 0 || step % request_.step_hook_every != 0) return Status::ok();
  Result<std::string> line = [&] {
    at::NoGradGuard no_grad;
    model_->eval();
    return request_.step_hook(model_, step);
  }();
  model_->train();
  if (!line) return line.status();
  if (!line->empty()) metrics_ << *line << "\n" << std::flush;
  return Status::ok();
}

void TrainingRun::log_step(int64_t step, const LossTally& tally, double seconds, double lr) {
  TrainMetrics m = metrics_from(tally, step, lr, seconds);
  summary_.curve.push_back(m);
  metrics_ << m.to_json("train") << "\n" << std::flush;
  if (!request_.progress) return;
  double elapsed = std::chrono::duration<double>(Clock::now() - run_start_).count();
  double eta = elapsed / std::max<int64_t>(1, step - start_step_) * (total_steps_ - step);
  std::fprintf(stderr,
               "\rstep %lld/%lld loss %.4f (mgp %.3f intra %.3f inter %.3f reg %.3f) mgp_acc %.3f coh_acc %.3f "
               "lr %.2e %.1f cells/s %.0f tok/s ETA %.0fs   ",
               static_cast<long long>(step), static_cast<long long>(total_steps_), m.loss, m.mgp, m.intra, m.inter,
               m.reg, m.mgp_acc, m.coherence_acc, m.lr, m.cells_per_s, m.tokens_per_s, eta);
  std::fflush(stderr);
}

// MGP and coherence on the held-out cells (eval mode, fixed masks), batched like training.
TrainMetrics TrainingRun::validate_now(int64_t step) {
  TrainMetrics m;
  m.step = step;
  if (data_.val.empty()) return m;
  LossConfig losses;
  losses.inter = losses.reg = false;
  losses.intra = !data_.label_space.empty();
  model_->eval();
  at::NoGradGuard no_grad;
  LossTally tally;
  auto batches = length_grouped_batches(data_.lengths, data_.val, config_.train.batch_size, 1, 7);
  auto keys = model_->vocabulary_keys();
  for (size_t i = 0; i < batches.size(); ++i) {
    PaddedBatch padded = pad_batch(data_.cells, batches[i], config_.model.pad_id);
    std::vector<int64_t> mlm = mask_tokens(padded, config_.model, config_.train.mask_prob, mix_seed(99, i));
    MicroBatch batch;
    batch.ids = at::tensor(padded.ids, at::kLong).view({padded.batch, padded.length}).to(keys.device());
    batch.mlm_labels = at::tensor(mlm, at::kLong).view({padded.batch, padded.length}).to(keys.device());
    batch.labels = at::tensor(padded.labels, at::kLong).to(keys.device());
    AutocastScope autocast(config_.train.bf16, request_.device == "cuda");
    micro_batch_loss(model_, batch, losses, keys, &tally, nullptr);
  }
  model_->train();
  m = metrics_from(tally, step, 0.0, 0.0);
  metrics_ << m.to_json("validation") << "\n" << std::flush;
  return m;
}

Status TrainingRun::save_initial_model() {
  const std::string path = request_.out_dir + "/init.ckpt";
  SCCELLO_RETURN_IF_ERROR(write_checkpoint_at(path, 0, TrainMetrics{}));
  summary_.init_checkpoint = path;
  return Status::ok();
}

Status TrainingRun::checkpoint(int64_t step, const TrainMetrics& last) {
  std::string path = checkpoint_path(request_.out_dir, step);
  SCCELLO_RETURN_IF_ERROR(write_checkpoint_at(path, step, last));
  prune_checkpoints(request_.out_dir, config_.train.keep_last);
  summary_.last_checkpoint = path;
  return Status::ok();
}

Status TrainingRun::write_checkpoint_at(const std::string& path, int64_t step, const TrainMetrics& last) {
  CheckpointMeta meta;
  meta.config = config_;
  meta.release_name = release_name_;
  meta.release_hash = release_hash_;
  meta.target_describe = target_describe_;
  meta.label_space = data_.label_space;
  meta.vocab_hash = vocab_hash_;
  meta.losses = config_.train.losses.enabled_list();
  meta.step = step;
  meta.total_steps = total_steps_;
  meta.micro_batches = step * config_.train.grad_accum;
  meta.cells_seen = cells_seen(step);
  meta.metrics_json = last.to_json("train");
  NamedTensors tensors = model_tensors(model_);
  for (auto& entry : optimizer_->state()) tensors.push_back(entry);
  return write_checkpoint(path, meta, tensors, request_.checkpoint_write);
}

Result<TrainSummary> TrainingRun::run() {
  SCCELLO_RETURN_IF_ERROR(setup());
  summary_.total_steps = total_steps_;
  summary_.train_cells = static_cast<int64_t>(data_.train.size());
  summary_.val_cells = static_cast<int64_t>(data_.val.size());
  summary_.label_space = static_cast<int64_t>(data_.label_space.size());
  summary_.unmapped_cells = data_.unmapped_cells;
  summary_.migrated_cells = data_.migrated_cells;
  summary_.release = release_name_, summary_.release_hash = release_hash_, summary_.target = target_describe_;
  if (!request_.resume.empty()) summary_.last_checkpoint = request_.resume;
  summary_.losses = config_.train.losses.enabled_list();
  if (request_.save_init && start_step_ == 0) {
    if (is_main()) SCCELLO_RETURN_IF_ERROR(save_initial_model());
    if (request_.init_only) {
      if (parallel_) parallel_->finish();
      return summary_;
    }
  }
  model_->train();
  int64_t step = start_step_;
  const auto loop_start = Clock::now();
  while (step < total_steps_) {
    SCCELLO_RETURN_IF_ERROR(train_step(step));
    ++step;
    SCCELLO_RETURN_IF_ERROR(run_step_hook(step));
    bool stop = request_.stop_after_step > 0 && step >= request_.stop_after_step;
    if (is_main() && (step % config_.train.checkpoint_every == 0 || step == total_steps_ || stop)) {
      TrainMetrics last = summary_.curve.empty() ? TrainMetrics{} : summary_.curve.back();
      SCCELLO_RETURN_IF_ERROR(checkpoint(step, last));
    }
    if (stop) break;
  }
  summary_.train_seconds = std::chrono::duration<double>(Clock::now() - loop_start).count();
  if (parallel_) {
    summary_.rank = parallel_->rank(), summary_.world_size = parallel_->world_size();
    summary_.allreduce_bytes_per_step = reducer_->bytes_per_step();
    summary_.allreduce_wait_seconds = reducer_->wait_seconds();
    parallel_->finish();
  }
  if (request_.progress && is_main()) std::fprintf(stderr, "\n");
  summary_.steps_done = step;
  if (is_main()) summary_.validation = validate_now(step);
  return summary_;
}

Status TrainingRun::failed(const std::string& what) {
  if (!parallel_) return Status::internal("training failed: " + what);
  const std::string first_line = what.substr(0, what.find('\n'));
  return Status::io_error(parallel_->failure_message("training stopped: a collective failed (" + first_line + ")"));
}

}  // namespace

Result<TrainSummary> train_model(Store& store, const TrainRequest& request) {
  TrainingRun run(store, request);
  try {
    return run.run();
  } catch (const std::exception& e) {
    return run.failed(torch_error_text(e));
  }
}

}  // namespace sccello
