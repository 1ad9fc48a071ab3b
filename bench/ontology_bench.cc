// Ontology store and graph benchmarks on cl-basic-2022-12-15.obo, both backends: import
// (parse + write), open store + load release + build graph with closure, is_ancestor,
// ancestors(term), release diff (in memory, and from the store). Baseline in the same process: the ancestor query a user would
// otherwise run, a SQLite recursive CTE over an indexed edge table.
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>

#include "graph/ontology_graph.h"
#include "graph/release_diff.h"
#include "store/release_store.h"
#include "store/store.h"

namespace sccello {
namespace {

const std::string kOnto = std::string(SCCELLO_DATA_DIR) + "/ontology/";
const std::string k2021 = kOnto + "cl-basic-2021-12-16.obo";
const std::string k2022 = kOnto + "cl-basic-2022-12-15.obo";

std::string scratch(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("sccello_obench_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

const OntologyRelease& release(const std::string& path) {
  static std::map<std::string, OntologyRelease> cache;
  auto it = cache.find(path);
  if (it == cache.end()) it = cache.emplace(path, read_ontology_file(path, {}).value()).first;
  return it->second;
}

const OntologyGraph& graph() {
  static OntologyGraph g = OntologyGraph::build(release(k2022)).value();
  return g;
}

Backend backend_of(const benchmark::State& state) { return state.range(0) == 0 ? Backend::kRocksDb : Backend::kSqlite; }

void BM_Import(benchmark::State& state) {
  Backend backend = backend_of(state);
  std::string path = scratch("import");
  for (auto _ : state) {
    state.PauseTiming();
    std::filesystem::remove_all(path);
    state.ResumeTiming();
    auto parsed = read_ontology_file(k2022, {});
    auto store = Store::open({path, backend, false}).value();
    auto out = ReleaseStore(*store).put(std::move(parsed).value(), {});
    if (!out.is_ok()) state.SkipWithError(out.status().message().c_str());
  }
  std::filesystem::remove_all(path);
  state.SetLabel(backend_name(backend));
  state.SetBytesProcessed(state.iterations() * std::filesystem::file_size(k2022));
}

void BM_OpenLoadBuildGraph(benchmark::State& state) {
  Backend backend = backend_of(state);
  std::string path = scratch("load_" + backend_name(backend));
  std::filesystem::remove_all(path);
  {
    auto store = Store::open({path, backend, false}).value();
    ReleaseStore(*store).put(release(k2022), {}).value();
  }
  size_t terms = 0;
  for (auto _ : state) {
    auto store = Store::open({path, Backend::kAuto, true}).value();
    auto loaded = ReleaseStore(*store).load("2022-12-15").value();
    auto g = OntologyGraph::build(loaded).value();
    terms = g.num_terms();
    benchmark::DoNotOptimize(g.is_ancestor(0, 1));
  }
  std::filesystem::remove_all(path);
  state.SetLabel(backend_name(backend) + ", " + std::to_string(terms) + " terms");
}

std::vector<std::pair<TermIndex, TermIndex>> random_pairs(size_t n) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<TermIndex> pick(0, static_cast<TermIndex>(graph().num_terms() - 1));
  std::vector<std::pair<TermIndex, TermIndex>> pairs(n);
  for (auto& p : pairs) p = {pick(rng), pick(rng)};
  return pairs;
}

void BM_IsAncestor(benchmark::State& state) {
  const OntologyGraph& g = graph();
  auto pairs = random_pairs(1 << 16);
  size_t i = 0, hits = 0;
  for (auto _ : state) {
    const auto& [a, t] = pairs[i++ & (pairs.size() - 1)];
    hits += g.is_ancestor(a, t);
  }
  benchmark::DoNotOptimize(hits);
  state.SetItemsProcessed(state.iterations());
}

void BM_Ancestors(benchmark::State& state) {
  const OntologyGraph& g = graph();
  auto pairs = random_pairs(1 << 12);
  size_t i = 0, total = 0;
  for (auto _ : state) {
    auto anc = g.ancestors(pairs[i++ & (pairs.size() - 1)].first);
    total += anc.size();
    benchmark::DoNotOptimize(anc.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["mean_ancestors"] = static_cast<double>(total) / state.iterations();
}

void BM_Diff(benchmark::State& state) {
  const OntologyRelease& a = release(k2021);
  const OntologyRelease& b = release(k2022);
  size_t changes = 0;
  for (auto _ : state) {
    ReleaseDiff d = diff_releases(a, b);
    changes = d.added.size() + d.newly_obsolete.size() + d.parents_changed.size();
    benchmark::DoNotOptimize(changes);
  }
  state.counters["changes"] = static_cast<double>(changes);
}

// The `ontology diff` path: open the store, load both releases, diff.
void BM_LoadTwoAndDiff(benchmark::State& state) {
  Backend backend = backend_of(state);
  std::string path = scratch("diff_" + backend_name(backend));
  std::filesystem::remove_all(path);
  {
    auto store = Store::open({path, backend, false}).value();
    ReleaseStore(*store).put(release(k2021), {}).value();
    ReleaseStore(*store).put(release(k2022), {}).value();
  }
  for (auto _ : state) {
    auto store = Store::open({path, Backend::kAuto, true}).value();
    ReleaseStore releases(*store);
    ReleaseDiff d = diff_releases(releases.load("2021-12-16").value(), releases.load("2022-12-15").value());
    benchmark::DoNotOptimize(d.added.size());
  }
  std::filesystem::remove_all(path);
  state.SetLabel(backend_name(backend));
}

// What a user would otherwise run: ancestors by a recursive CTE over an indexed SQLite table.
void BM_SqliteRecursiveCteAncestors(benchmark::State& state) {
  sqlite3* db = nullptr;
  sqlite3_open(":memory:", &db);
  sqlite3_exec(db, "CREATE TABLE e(child TEXT, parent TEXT); CREATE INDEX ec ON e(child);", nullptr, nullptr, nullptr);
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO e VALUES(?, ?)", -1, &ins, nullptr);
  const OntologyGraph& g = graph();
  for (TermIndex t = 0; t < g.num_terms(); ++t) {
    for (TermIndex p : g.parents(t)) {
      sqlite3_bind_text(ins, 1, g.id_of(t).c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(ins, 2, g.id_of(p).c_str(), -1, SQLITE_STATIC);
      sqlite3_step(ins);
      sqlite3_reset(ins);
    }
  }
  sqlite3_finalize(ins);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db,
                     "WITH RECURSIVE a(id) AS (SELECT parent FROM e WHERE child = ?1 UNION "
                     "SELECT e.parent FROM e JOIN a ON e.child = a.id) SELECT id FROM a",
                     -1, &q, nullptr);
  auto pairs = random_pairs(1 << 12);
  size_t i = 0, total = 0;
  for (auto _ : state) {
    sqlite3_bind_text(q, 1, g.id_of(pairs[i++ & (pairs.size() - 1)].first).c_str(), -1, SQLITE_TRANSIENT);
    while (sqlite3_step(q) == SQLITE_ROW) ++total;
    sqlite3_reset(q);
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  state.SetItemsProcessed(state.iterations());
  state.counters["mean_ancestors"] = static_cast<double>(total) / state.iterations();
}

BENCHMARK(BM_Import)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_OpenLoadBuildGraph)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_IsAncestor);
BENCHMARK(BM_Ancestors);
BENCHMARK(BM_SqliteRecursiveCteAncestors)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Diff)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LoadTwoAndDiff)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sccello
