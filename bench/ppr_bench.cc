// PPR speed on the real CL 2022-12-15 release (2,635 nodes, is_a, undirected): one source, all
// pairs in networkx mode (compare with bench/compare_networkx.py: networkx.pagerank per source),
// all pairs in exact mode. Setup (parse, graph build) happens outside the timed loops.
#include <benchmark/benchmark.h>

#include <thread>

#include "graph/ontology_graph.h"
#include "graph/ppr.h"
#include "store/release_store.h"

namespace sccello {
namespace {

const PprGraph& cl_walk() {
  static const PprGraph* walk = [] {
    auto rel = read_ontology_file(std::string(SCCELLO_DATA_DIR) + "/ontology/cl-basic-2022-12-15.obo", {});
    auto g = OntologyGraph::build(*rel);
    return new PprGraph(PprGraph::from_graph(g->graph(), false));
  }();
  return *walk;
}

void BM_PprSingleSource(benchmark::State& state) {
  const PprGraph& g = cl_walk();
  PprOptions o;
  int32_t s = 0;
  for (auto _ : state) {
    auto row = ppr_row(g, s, o);
    benchmark::DoNotOptimize(row);
    s = (s + 97) % static_cast<int32_t>(g.num_nodes());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PprSingleSource)->Unit(benchmark::kMicrosecond);

void BM_PprAllPairs(benchmark::State& state) {
  const PprGraph& g = cl_walk();
  PprOptions o;
  o.mode = state.range(0) ? PprMode::kExact : PprMode::kNetworkx;
  o.threads = static_cast<int>(state.range(1));
  for (auto _ : state) {
    auto rows = ppr_all(g, o);
    if (!rows.is_ok()) state.SkipWithError(rows.status().message().c_str());
    benchmark::DoNotOptimize(rows);
  }
  state.SetItemsProcessed(state.iterations() * g.num_nodes());
  state.SetLabel(std::string(o.mode == PprMode::kExact ? "exact" : "networkx") + ", rows/s = sources/s");
}
BENCHMARK(BM_PprAllPairs)
    ->ArgNames({"exact", "threads"})
    ->Args({0, 1})->Args({0, 2})->Args({1, 1})->Args({1, 2})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace sccello
