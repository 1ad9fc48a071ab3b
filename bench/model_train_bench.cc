// scCello training step on CPU, default model (6 layers, hidden 256), batch 8 x 512 tokens:
// cells/s and the split of a step into encoder forward, noised (second) forward, MGP, alignment,
// coherence + regularizer, backward and optimizer. A second benchmark times the loss heads alone
// (forward + backward on detached encoder outputs) to bound "everything but the encoder".
// Args: threads, bf16 (0/1).
#include <chrono>
#include <random>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <torch/nn/module.h>

#include "model/adamw.h"
#include "model/encoder.h"
#include "model/inference.h"
#include "model/losses.h"
#include "model/torch_compat.h"
#include "model/train_step.h"

namespace sccello {
namespace {

constexpr int64_t kCells = 8, kLen = 512, kTypes = 32;

// Random gene tokens (<cls> first), 15% masked as BERT, 4 cell types with levels 1..6.
MicroBatch make_batch(const ModelConfig& m) {
  at::manual_seed(7);
  auto ids = at::randint(2, m.cls_id, {kCells, kLen}, at::kLong);
  ids.select(1, 0).fill_(m.cls_id);
  auto chosen = at::rand({kCells, kLen}).lt(0.15).logical_and(ids.ne(m.cls_id));
  MicroBatch b;
  b.mlm_labels = at::where(chosen, ids, at::full_like(ids, -100));
  b.ids = at::where(chosen, at::full_like(ids, m.mask_id), ids);
  b.labels = at::tensor(std::vector<int64_t>{0, 1, 2, 3, 0, 1, 2, 3}, at::kLong);
  std::vector<int64_t> lv(kCells * kCells);
  std::vector<int64_t> anc(kCells * kCells);
  for (int64_t i = 0; i < kCells; ++i)
    for (int64_t j = 0; j < kCells; ++j) {
      int64_t a = i % 4, c = j % 4;
      lv[i * kCells + j] = a == c ? 6 : 1 + (a + c) % 4;
      anc[i * kCells + j] = a == c || (a == 0 && c == 1);
    }
  b.levels = at::tensor(lv, at::kLong).view({kCells, kCells});
  b.ancestor = at::tensor(anc, at::kLong).view({kCells, kCells}).ne(0);
  return b;
}

struct Fixture {
  ModelConfig config;
  ScCelloModel model{nullptr};
  std::unique_ptr<AdamW> adam;
  std::vector<at::Tensor> params;
  MicroBatch batch;
  LossConfig losses;
  explicit Fixture(bool dropout = true) {
    at::manual_seed(1);
    if (!dropout) config.dropout = config.attention_dropout = 0.0;
    model = ScCelloModel(config, kTypes);
    model->train();
    auto named = model_tensors(model);
    for (auto& [n, p] : named) params.push_back(p);
    adam = std::make_unique<AdamW>(named, AdamWOptions{0.9, 0.999, 1e-8, 0.001});
    batch = make_batch(config);
  }
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// One optimiser step over `accum` micro-batches with phase timings, as the trainer does it: the
// vocabulary keys are computed once per step and their gradient pushed through once.
void full_step(Fixture& f, bool bf16, int64_t accum, StepTimings* t) {
  for (auto& p : f.params) p.mutable_grad() = at::Tensor();
  auto start = std::chrono::steady_clock::now();
  at::Tensor keys, leaf;
  {
    AutocastScope autocast(bf16, false);
    keys = f.model->vocabulary_keys();
    leaf = keys.detach().requires_grad_(true);
  }
  t->mgp += seconds_since(start);
  for (int64_t k = 0; k < accum; ++k) {
    at::Tensor loss;
    LossTally tally;
    {
      AutocastScope autocast(bf16, false);
      loss = micro_batch_loss(f.model, f.batch, f.losses, leaf, &tally, t);
    }
    start = std::chrono::steady_clock::now();
    (loss / static_cast<double>(accum)).backward();
    t->backward += seconds_since(start);
  }
  start = std::chrono::steady_clock::now();
  keys.backward(leaf.grad());
  t->backward += seconds_since(start);
  start = std::chrono::steady_clock::now();
  f.adam->update(1e-4, clip_factor(f.params, 1.0));
  t->optimizer += seconds_since(start);
}

void report(benchmark::State& state, const StepTimings& t, double micro_batches) {
  const double steps = micro_batches;
  const double total = t.total();
  auto pct = [&](double v) { return benchmark::Counter(100.0 * v / total); };
  state.counters["cells/s"] = benchmark::Counter(kCells * steps, benchmark::Counter::kIsRate);
  state.counters["enc_fwd%"] = pct(t.encoder_forward);
  state.counters["noised_fwd%"] = pct(t.noised_forward);
  state.counters["mgp%"] = pct(t.mgp);
  state.counters["align%"] = pct(t.alignment);
  state.counters["coh+reg%"] = pct(t.coherence_reg);
  state.counters["backward%"] = pct(t.backward);
  state.counters["optim%"] = pct(t.optimizer);
  state.counters["ms/micro"] = benchmark::Counter(1000.0 * total / steps);
}

void BM_TrainStep(benchmark::State& state) {
  at::set_num_threads(static_cast<int>(state.range(0)));
  configure_cpu_allocator();
  const bool bf16 = state.range(1) != 0;
  const int64_t accum = state.range(2);
  Fixture f;
  StepTimings warm;
  full_step(f, bf16, 1, &warm);
  StepTimings t;
  double micro = 0;
  for (auto _ : state) {
    full_step(f, bf16, accum, &t);
    micro += accum;
  }
  report(state, t, micro);
}

// The loss heads alone: forward and backward of MGP (vocabulary keys included), coherence,
// regularizer and alignment on fixed encoder outputs, plus the optimizer update.
void BM_HeadsAndOptimizer(benchmark::State& state) {
  at::set_num_threads(static_cast<int>(state.range(0)));
  configure_cpu_allocator();
  const bool bf16 = state.range(1) != 0;
  Fixture f;
  at::Tensor seq1, seq2;
  {
    at::NoGradGuard no_grad;
    AutocastScope autocast(bf16, false);
    seq1 = f.model->encode(f.batch.ids).to(at::kFloat);
    seq2 = f.model->encode(f.batch.ids).to(at::kFloat);
  }
  const int64_t accum = state.range(2);
  for (auto _ : state) {
    for (auto& p : f.params) p.mutable_grad() = at::Tensor();
    at::Tensor keys, leaf;
    {
      AutocastScope autocast(bf16, false);
      keys = f.model->vocabulary_keys();
      leaf = keys.detach().requires_grad_(true);
    }
    for (int64_t k = 0; k < accum; ++k) {
      auto a = seq1.clone().requires_grad_(true), b = seq2.clone().requires_grad_(true);
      at::Tensor total;
      {
        AutocastScope autocast(bf16, false);
        auto flat = f.batch.mlm_labels.reshape({-1});
        auto pos = flat.ne(-100).nonzero().squeeze(1);
        auto q = f.model->mlm_head()->forward(a.reshape({-1, a.size(-1)}).index_select(0, pos));
        auto mgp = masked_gene_prediction_loss(q, leaf, flat.index_select(0, pos), f.model->scale());
        auto z = f.model->cell_embedding(a), z2 = f.model->cell_embedding(b);
        auto coh = cell_type_coherence_loss(z, f.model->prototypes()->weight, f.batch.labels, f.model->scale());
        auto P = f.model->prototypes()->weight.index_select(0, f.batch.labels);
        auto reg = prototype_regularizer_loss(f.model->affine()->forward(l2_normalize(P) * f.model->scale()), z,
                                              f.batch.labels, f.model->scale());
        auto inter = ontology_alignment_loss(alignment_similarity(z, z2, f.model->scale()), f.batch.levels,
                                             f.batch.ancestor, f.batch.labels.ge(0));
        total = mgp.loss + coh.loss + reg + inter;
      }
      (total / static_cast<double>(accum)).backward();
    }
    keys.backward(leaf.grad());
    f.adam->update(1e-4, clip_factor(f.params, 1.0));
  }
  state.counters["ms/micro"] = benchmark::Counter(1000.0 * state.iterations() * accum, benchmark::Counter::kIsRate |
                                                                                          benchmark::Counter::kInvert);
}

}  // namespace
}  // namespace sccello

BENCHMARK(sccello::BM_TrainStep)
    ->ArgNames({"threads", "bf16", "accum"})
    ->ArgsProduct({{1, 2}, {0, 1}, {1}})
    ->Args({1, 0, 4})
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(sccello::BM_HeadsAndOptimizer)
    ->ArgNames({"threads", "bf16", "accum"})
    ->ArgsProduct({{1, 2}, {0, 1}, {1}})
    ->Args({1, 0, 4})
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

namespace sccello {
namespace {

// Two consecutive encoder passes with autograd on (as in a training step), timed separately.
void BM_EncoderPasses(benchmark::State& state) {
  at::set_num_threads(static_cast<int>(state.range(0)));
  configure_cpu_allocator();
  Fixture f(state.range(1) != 0);
  double first = 0, second = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto a = f.model->encode(f.batch.ids);
    first += seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    auto b = f.model->encode(f.batch.ids);
    second += seconds_since(t0);
  }
  state.counters["first_ms"] = 1000.0 * first / state.iterations();
  state.counters["second_ms"] = 1000.0 * second / state.iterations();
}

}  // namespace
}  // namespace sccello

BENCHMARK(sccello::BM_EncoderPasses)->ArgNames({"threads", "dropout"})->ArgsProduct({{1}, {0, 1}})->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

namespace sccello {
namespace {

// MGP logits and cross-entropy alone (forward + backward) for 614 masked positions (15% of 8 x 512)
// against the 25,427-token vocabulary, hidden 256.
void BM_MgpLogits(benchmark::State& state) {
  at::set_num_threads(static_cast<int>(state.range(0)));
  configure_cpu_allocator();
  at::manual_seed(3);
  auto q = at::randn({614, 256}).requires_grad_(true);
  auto keys = l2_normalize(at::randn({25427, 256})).requires_grad_(true);
  auto targets = at::randint(2, 25426, {614}, at::kLong);
  for (auto _ : state) {
    auto r = masked_gene_prediction_loss(q, keys, targets, 10.0);
    r.loss.backward();
  }
}

}  // namespace
}  // namespace sccello

BENCHMARK(sccello::BM_MgpLogits)->ArgNames({"threads"})->Arg(1)->Iterations(5)->Unit(benchmark::kMillisecond)->UseRealTime();
