// Target provider speed on the real CL 2022-12-15 release: a cached row in memory, a 600 x 600
// level matrix from the in-memory rows, a 600 x 600 level matrix by a fresh provider over a warm
// store (RocksDB and SQLite, reopened after the cache was filled, so reads go through the
// backend), the old raw-row path for comparison, and the trainer's per-batch call (levels +
// ancestor mask). Setup outside the timed loops.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>

#include "plugins/row_provider.h"
#include "plugins/target_registry.h"
#include "store/release_store.h"
#include "store/store.h"

namespace sccello {
namespace {

struct Fixture {
  std::filesystem::path dir;
  StoreOptions options;
  std::unique_ptr<Store> store;
  std::vector<TermId> nodes;  // every PPR node, release order

  explicit Fixture(Backend backend) {
    dir = std::filesystem::temp_directory_path() /
          ("sccello_targets_bench_" + std::to_string(::getpid()) + "_" + backend_name(backend));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    options.path = (dir / (backend == Backend::kSqlite ? "store.sqlite" : "store")).string();
    options.backend = backend;
    open();
    auto rel = read_ontology_file(std::string(SCCELLO_DATA_DIR) + "/ontology/cl-basic-2022-12-15.obo", {});
    if (!rel || !ReleaseStore(*store).put(*rel, {}).is_ok()) std::abort();
    auto all = provider({});
    nodes = all->label_space();
    (void)all->precompute();  // fills the store's cache with every row
    all.reset();
    store.reset();
    open();  // a warm store: the cache is on disk (and in the OS page cache), not in memtables
  }
  ~Fixture() { std::filesystem::remove_all(dir); }

  void open() {
    auto opened = Store::open(options);
    if (!opened) std::abort();
    store = std::move(opened.value());
  }
  std::unique_ptr<TargetProvider> provider(std::vector<TermId> labels) {
    TargetContext ctx;
    ctx.store = store.get();
    ctx.label_space = std::move(labels);
    ctx.threads = 1;
    auto p = make_target_provider("ppr", ctx);
    if (!p) std::abort();
    return std::move(p.value());
  }
  std::vector<TermId> first(size_t n) const { return {nodes.begin(), nodes.begin() + n}; }
};

Fixture& fixture(Backend backend = Backend::kRocksDb) {
  static Fixture* rocks = nullptr;
  static Fixture* sqlite = nullptr;
  Fixture*& f = backend == Backend::kSqlite ? sqlite : rocks;
  if (!f) f = new Fixture(backend);
  return *f;
}

std::vector<LabelIndex> iota_labels(size_t n) {
  std::vector<LabelIndex> l(n);
  for (size_t i = 0; i < n; ++i) l[i] = static_cast<LabelIndex>(i);
  return l;
}

// One row from the in-memory cache (a shared_ptr to the row of a label).
void BM_CachedRow(benchmark::State& state) {
  auto p = fixture().provider(fixture().nodes);
  auto* rows = static_cast<RowTargetProvider*>(p.get());
  (void)rows->precompute();
  LabelIndex l = 0;
  const LabelIndex n = static_cast<LabelIndex>(p->label_space().size());
  for (auto _ : state) {
    auto r = rows->row(l);
    benchmark::DoNotOptimize(r);
    l = (l + 1) % n;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CachedRow)->Unit(benchmark::kNanosecond);

// raw_row: a cached row copied out over a 600-term label space as floats.
void BM_CachedRawRow600(benchmark::State& state) {
  auto p = fixture().provider(fixture().first(600));
  (void)p->precompute();
  LabelIndex l = 0;
  for (auto _ : state) {
    auto r = p->raw_row(l);
    benchmark::DoNotOptimize(r);
    l = (l + 1) % 600;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CachedRawRow600)->Unit(benchmark::kNanosecond);

// 600 x 600 levels, rows already in memory.
void BM_LevelMatrix600_Memory(benchmark::State& state) {
  auto p = fixture().provider(fixture().first(600));
  (void)p->precompute();
  auto labels = iota_labels(600);
  for (auto _ : state) {
    auto lv = p->levels(labels);
    benchmark::DoNotOptimize(lv);
  }
  state.SetItemsProcessed(state.iterations() * 600 * 600);
}
BENCHMARK(BM_LevelMatrix600_Memory)->Unit(benchmark::kMicrosecond);

// 600 x 600 levels by a fresh provider over a warm store: 600 compact level rows read from the
// store's cache, then the matrix. Args: backend (0 RocksDB, 1 SQLite), reopen (1: the store is
// closed and opened again before each provider, so RocksDB's block cache starts empty; the OS page
// cache stays warm).
void BM_LevelMatrix600_FreshProvider(benchmark::State& state) {
  Fixture& f = fixture(state.range(0) ? Backend::kSqlite : Backend::kRocksDb);
  state.SetLabel(std::string(state.range(0) ? "sqlite" : "rocksdb") + (state.range(1) ? ", store reopened" : ""));
  auto labels = iota_labels(600);
  for (auto _ : state) {
    state.PauseTiming();
    if (state.range(1)) {
      f.store.reset();
      f.open();
    }
    auto p = f.provider(f.first(600));
    state.ResumeTiming();
    auto lv = p->levels(labels);
    benchmark::DoNotOptimize(lv);
    state.PauseTiming();
    auto st = static_cast<RowTargetProvider*>(p.get())->stats();
    if (st.rows_computed != 0 || st.level_rows_loaded != 600) state.SkipWithError("level rows were not loaded");
    p.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * 600 * 600);
}
BENCHMARK(BM_LevelMatrix600_FreshProvider)
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(100);

// For comparison, the raw-row path: a fresh provider loading the 600 raw f64 rows from the cache
// and deriving their levels (what `precompute` and `raw_row` do). Arg: 0 RocksDB, 1 SQLite.
void BM_RawRows600_FreshProvider(benchmark::State& state) {
  Fixture& f = fixture(state.range(0) ? Backend::kSqlite : Backend::kRocksDb);
  state.SetLabel(state.range(0) ? "sqlite" : "rocksdb");
  for (auto _ : state) {
    state.PauseTiming();
    auto p = f.provider(f.first(600));
    state.ResumeTiming();
    benchmark::DoNotOptimize(p->precompute());
    state.PauseTiming();
    auto st = static_cast<RowTargetProvider*>(p.get())->stats();
    if (st.rows_computed != 0 || st.rows_loaded != 600) state.SkipWithError("raw rows were not loaded");
    p.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * 600);
}
BENCHMARK(BM_RawRows600_FreshProvider)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(30);

// The trainer's per-batch call: levels + ancestor mask for n random labels of all 2,635 types.
void BM_BatchTargets(benchmark::State& state) {
  auto p = fixture().provider(fixture().nodes);
  (void)p->precompute();
  const size_t n = static_cast<size_t>(state.range(0));
  std::mt19937 rng(237);
  std::uniform_int_distribution<LabelIndex> pick(0, static_cast<LabelIndex>(p->label_space().size() - 1));
  std::vector<LabelIndex> labels(n);
  for (auto& l : labels) l = pick(rng);
  std::vector<int32_t> levels(n * n);
  std::vector<uint8_t> mask(n * n);
  for (auto _ : state) {
    (void)p->batch_targets(labels, levels.data(), mask.data());
    benchmark::DoNotOptimize(levels.data());
  }
  state.SetItemsProcessed(state.iterations() * n * n);
}
BENCHMARK(BM_BatchTargets)->Arg(64)->Arg(256)->Arg(600)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sccello
