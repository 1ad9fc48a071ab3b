#include "model/eval/leiden.h"

#include <igraph.h>

#include <algorithm>
#include <mutex>

namespace sccello::eval {
namespace {

// igraph objects that free themselves.
struct IgraphGraph {
  igraph_t g;
  bool made = false;
  ~IgraphGraph() { if (made) igraph_destroy(&g); }
};
struct IgraphVector {
  igraph_vector_t v;
  explicit IgraphVector(igraph_integer_t n) { igraph_vector_init(&v, n); }
  ~IgraphVector() { igraph_vector_destroy(&v); }
};
struct IgraphIntVector {
  igraph_vector_int_t v;
  explicit IgraphIntVector(igraph_integer_t n) { igraph_vector_int_init(&v, n); }
  ~IgraphIntVector() { igraph_vector_int_destroy(&v); }
};

Status build(const WeightedGraph& graph, IgraphGraph* out) {
  IgraphIntVector edges(static_cast<igraph_integer_t>(2 * graph.from.size()));
  for (size_t e = 0; e < graph.from.size(); ++e) {
    VECTOR(edges.v)[2 * e] = graph.from[e];
    VECTOR(edges.v)[2 * e + 1] = graph.to[e];
  }
  if (igraph_create(&out->g, &edges.v, static_cast<igraph_integer_t>(graph.n), IGRAPH_UNDIRECTED) != IGRAPH_SUCCESS)
    return Status::internal("igraph could not build the neighbour graph");
  out->made = true;
  return Status::ok();
}

// One seeded run.
Result<LeidenResult> run_once(const IgraphGraph& g, const WeightedGraph& graph, double resolution, uint64_t seed,
                              int max_iterations) {
  const igraph_integer_t m = static_cast<igraph_integer_t>(graph.weight.size());
  IgraphVector weights(m), strength(static_cast<igraph_integer_t>(graph.n));
  double total = 0;
  for (igraph_integer_t e = 0; e < m; ++e) {
    VECTOR(weights.v)[e] = graph.weight[e];
    VECTOR(strength.v)[graph.from[e]] += graph.weight[e];
    VECTOR(strength.v)[graph.to[e]] += graph.weight[e];
    total += graph.weight[e];
  }
  if (total <= 0) return Status::invalid("the neighbour graph has no edges: too few cells to cluster");
  IgraphIntVector membership(static_cast<igraph_integer_t>(graph.n));
  igraph_integer_t clusters = 0;
  igraph_real_t quality = 0;
  igraph_rng_seed(igraph_rng_default(), seed);
  // Modularity through the CPM form: node weights = degrees, resolution / 2m.
  igraph_error_t rc = igraph_community_leiden(&g.g, &weights.v, &strength.v, resolution / (2.0 * total), 0.01, false,
                                              max_iterations, &membership.v, &clusters, &quality);
  if (rc != IGRAPH_SUCCESS) return Status::internal("igraph Leiden failed: " + std::string(igraph_strerror(rc)));
  LeidenResult out;
  out.membership.resize(graph.n);
  for (int64_t i = 0; i < graph.n; ++i) out.membership[i] = static_cast<int32_t>(VECTOR(membership.v)[i]);
  out.clusters = static_cast<int32_t>(clusters);
  out.quality = quality;
  return out;
}

}  // namespace

Result<LeidenResult> leiden(const WeightedGraph& graph, const LeidenOptions& options) {
  static std::once_flag quiet;
  std::call_once(quiet, [] { igraph_set_error_handler(igraph_error_handler_ignore); });
  IgraphGraph g;
  SCCELLO_RETURN_IF_ERROR(build(graph, &g));
  LeidenResult best;
  for (int r = 0; r < std::max(1, options.restarts); ++r) {
    SCCELLO_ASSIGN_OR_RETURN(LeidenResult run, run_once(g, graph, options.resolution, options.seed + r, options.max_iterations));
    if (r == 0 || run.quality > best.quality) best = std::move(run);
  }
  return best;
}

}  // namespace sccello::eval
