// Cell embedding throughput on CPU, default model, cells of 512 tokens, batches of 16, one thread
// by default: cells/s in fp32 and bf16 (the issue asks >= 15 and >= 25 cells/s per core).
// Args: threads, bf16 (0/1).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include "model/encoder.h"
#include "model/inference.h"

namespace sccello {
namespace {

void BM_Embed(benchmark::State& state) {
  at::set_num_threads(static_cast<int>(state.range(0)));
  configure_cpu_allocator();
  ModelConfig config;
  at::manual_seed(1);
  ScCelloModel model(config, 16);
  const int64_t n = 32;
  std::vector<std::vector<int32_t>> cells(n);
  for (auto& c : cells) {
    auto ids = at::randint(2, config.cls_id, {511}, at::kInt);
    c.assign(1, static_cast<int32_t>(config.cls_id));
    c.insert(c.end(), ids.data_ptr<int32_t>(), ids.data_ptr<int32_t>() + 511);
  }
  EmbedOptions options;
  options.batch_size = 16;
  options.bf16 = state.range(1) != 0;
  embed_cells(model, {cells[0]}, options);  // warm-up
  for (auto _ : state) {
    auto out = embed_cells(model, cells, options);
    benchmark::DoNotOptimize(out);
  }
  state.counters["cells/s"] = benchmark::Counter(static_cast<double>(n * state.iterations()), benchmark::Counter::kIsRate);
  state.counters["cells/s/core"] = benchmark::Counter(static_cast<double>(n * state.iterations()) / state.range(0),
                                                      benchmark::Counter::kIsRate);
}

}  // namespace
}  // namespace sccello

BENCHMARK(sccello::BM_Embed)
    ->ArgNames({"threads", "bf16"})
    ->ArgsProduct({{1, 2}, {0, 1}})
    ->Iterations(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
