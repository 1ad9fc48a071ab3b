// Cell search at scale: an index of SCCELLO_BENCH_CELLS (default 1,000,000) vectors of 256 dims —
// real cells (pbmc3k and pbmc4k, tokenized by the importer and projected to 256 dims by a fixed
// random projection of their rank-weighted top genes) repeated with small Gaussian noise — queried
// by noisy copies of real cells. Reports build time, bytes per cell in memory and on disk,
// queries/s and recall@10 against the exact scan at several HNSW beams, and the exact scan itself,
// side by side, one thread.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include <unistd.h>

#include "model/search/vector_index.h"
#include "store/cells/cell_import.h"
#include "store/corpus.h"
#include "store/store.h"

namespace sccello {
namespace {

constexpr int64_t kDims = 256;
constexpr int64_t kQueries = 300;

float projection(int32_t token, int64_t d) {
  uint64_t x = (static_cast<uint64_t>(token) << 20) ^ static_cast<uint64_t>(d) * 0x9E3779B97F4A7C15ull;
  x ^= x >> 33, x *= 0xff51afd7ed558ccdull, x ^= x >> 33, x *= 0xc4ceb9fe1a85ec53ull, x ^= x >> 33;
  return (x & 1) ? 1.0f : -1.0f;
}

template <typename T>
T or_die(Result<T> r, const char* what) {
  if (!r.is_ok()) {
    std::fprintf(stderr, "search_bench: %s: %s\n", what, r.status().message().c_str());
    std::exit(1);
  }
  return std::move(r).value();
}

std::vector<float> real_cells() {
  namespace fs = std::filesystem;
  const std::string dir = (fs::temp_directory_path() / ("sccello_search_bench_" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  StoreOptions so;
  so.path = dir;
  auto store = or_die(Store::open(so), "store");
  GeneVocab vocab = or_die(GeneVocab::load(std::string(SCCELLO_DATA_DIR) + "/vocab"), "vocabulary");
  std::vector<float> out;
  for (auto [file, name] : {std::pair{"/cells/pbmc3k_seurat/pbmc3k_seurat.h5ad", "a"},
                            std::pair{"/cells/pbmc4k_soupx/pbmc4k_soupx.h5ad", "b"}}) {
    CellImportOptions o;
    o.dataset = name;
    o.tokenizer.max_len = 256;
    or_die(import_cells(*store, vocab, std::string(SCCELLO_DATA_DIR) + file, o), "import");
    Corpus(*store).for_each(name, [&](int64_t, const CellRecord& c) {
      std::vector<float> v(kDims, 0.0f);
      for (size_t i = 1; i < c.tokens.size(); ++i)
        for (int64_t d = 0; d < kDims; ++d) v[d] += projection(c.tokens[i], d) / std::sqrt(float(i));
      out.insert(out.end(), v.begin(), v.end());
      return true;
    });
  }
  fs::remove_all(dir);
  l2_normalize_rows(&out, kDims);
  return out;
}

struct Fixture {
  int64_t rows = 0;
  std::vector<float> base, queries;
  std::vector<std::set<int64_t>> truth;
  std::unique_ptr<VectorIndex> index;
  double build_seconds = 0, exact_seconds_per_query = 0;
  int64_t file_bytes = 0;
};

Fixture& fixture() {
  static Fixture f = [] {
    Fixture f;
    const char* env = std::getenv("SCCELLO_BENCH_CELLS");
    f.rows = env ? std::atoll(env) : 1000000;
    std::vector<float> cells = real_cells();
    const int64_t n_real = static_cast<int64_t>(cells.size()) / kDims;
    std::fprintf(stderr, "search_bench: %lld real cells\n", (long long)n_real);
    std::mt19937_64 rng(237);
    std::normal_distribution<float> noise(0.0f, 0.02f);
    f.base.resize(static_cast<size_t>(f.rows * kDims));
    for (int64_t r = 0; r < f.rows; ++r)
      for (int64_t d = 0; d < kDims; ++d) f.base[r * kDims + d] = cells[(r % n_real) * kDims + d] + noise(rng);
    l2_normalize_rows(&f.base, kDims);
    std::uniform_int_distribution<int64_t> pick(0, n_real - 1);
    for (int64_t q = 0; q < kQueries; ++q) {
      const int64_t c = pick(rng);
      for (int64_t d = 0; d < kDims; ++d) f.queries.push_back(cells[c * kDims + d] + noise(rng));
    }
    l2_normalize_rows(&f.queries, kDims);
    HnswParams params;
    f.index = std::make_unique<VectorIndex>(kDims, params);
    auto t0 = std::chrono::steady_clock::now();
    std::fprintf(stderr, "search_bench: building the index of %lld rows\n", (long long)f.rows);
    f.index->add(f.base.data(), f.rows, static_cast<int>(std::thread::hardware_concurrency())).is_ok();
    f.build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::string file = (std::filesystem::temp_directory_path() / "sccello_search_bench.hnsw").string();
    f.index->save(file).is_ok();
    f.file_bytes = static_cast<int64_t>(std::filesystem::file_size(file));
    std::filesystem::remove(file);
    t0 = std::chrono::steady_clock::now();
    for (int64_t q = 0; q < kQueries; ++q) {
      std::set<int64_t> t;
      const auto nearest = exact_knn(f.base.data(), f.rows, kDims, f.queries.data() + q * kDims, 1, 10);
      for (const auto& n : nearest[0]) t.insert(n.row);
      f.truth.push_back(t);
    }
    f.exact_seconds_per_query = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / kQueries;
    return f;
  }();
  return f;
}

void BM_HnswQuery(benchmark::State& state) {
  Fixture& f = fixture();
  const int64_t ef = state.range(0);
  int64_t q = 0, found = 0, asked = 0;
  for (auto _ : state) {
    auto hits = f.index->search(f.queries.data() + (q % kQueries) * kDims, 10, ef);
    for (const auto& h : hits) found += f.truth[q % kQueries].count(h.row);
    asked += 10;
    ++q;
  }
  state.SetItemsProcessed(q);
  state.counters["recall@10"] = double(found) / double(asked);
  state.counters["cells"] = double(f.rows);
  state.counters["build_s"] = f.build_seconds;
  state.counters["mem_B_per_cell"] = double(f.index->memory_bytes()) / double(f.rows);
  state.counters["disk_B_per_cell"] = double(f.file_bytes) / double(f.rows);
}
BENCHMARK(BM_HnswQuery)->Arg(16)->Arg(32)->Arg(64)->Arg(128)->Unit(benchmark::kMicrosecond);

void BM_ExactQuery(benchmark::State& state) {
  Fixture& f = fixture();
  int64_t q = 0;
  for (auto _ : state) {
    auto hits = exact_knn(f.base.data(), f.rows, kDims, f.queries.data() + (q % kQueries) * kDims, 1, 10);
    benchmark::DoNotOptimize(hits);
    ++q;
  }
  state.SetItemsProcessed(q);
  state.counters["recall@10"] = 1.0;
  state.counters["B_per_cell"] = double(kDims * sizeof(float));
}
BENCHMARK(BM_ExactQuery)->Unit(benchmark::kMillisecond)->Iterations(20);

}  // namespace
}  // namespace sccello
