// Leiden community detection on a weighted undirected graph through igraph, with the quality
// scanpy's `sc.tl.leiden` optimises (leidenalg's RBConfigurationVertexPartition):
// Q = sum_ij (A_ij - resolution * k_i k_j / 2m) [c_i = c_j], k = weighted degree. Iterated until
// the partition is stable, randomness beta = 0.01 (leidenalg's default), seeded.
// Not thread-safe: igraph's random generator is process-wide.
// quality is igraph's: sum_ij (A_ij - resolution k_i k_j / 2m) [c_i = c_j] / 2m.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/status.h"
#include "model/eval/knn_graph.h"

namespace sccello::eval {

struct LeidenOptions {
  double resolution = 1.0;
  uint64_t seed = 0;        // igraph's default generator is seeded with this before each run
  int max_iterations = -1;  // < 0: until an iteration changes nothing
  // Independent runs (seeds seed, seed+1, ...); the partition of highest quality is kept. igraph's
  // single run reaches lower quality than leidenalg's optimiser at high resolutions; the best of
  // a few runs closes most of that gap.
  int restarts = 4;
};

struct LeidenResult {
  std::vector<int32_t> membership;  // cluster of each node, 0..clusters-1
  int32_t clusters = 0;
  double quality = 0;
};

Result<LeidenResult> leiden(const WeightedGraph& graph, const LeidenOptions& options);

}  // namespace sccello::eval
