// A 2-D map of a cell embedding for plots: the exact k-nearest-neighbour graph of the embedding
// (the distance pass the clustering metrics use) laid out by igraph's UMAP from a PCA start
// (`igraph_layout_umap`, libigraph 0.10) with the neighbour distances. Deterministic for a seed.
// Not thread-safe: igraph's random generator is process-wide.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/status.h"

namespace sccello::eval {

struct LayoutOptions {
  int32_t n_neighbors = 15;  // with the cell itself, as the clustering graph
  double min_dist = 0.3;     // UMAP's minimum distance between laid-out points
  int32_t epochs = 300;      // optimisation epochs
  uint64_t seed = 0;
  int threads = 1;           // for the distance pass
};

// values: n x dims row-major -> n x 2 coordinates (x0, y0, x1, y1, ...). Needs more cells than
// n_neighbors.
Result<std::vector<double>> umap_layout(const std::vector<float>& values, int64_t dims, const LayoutOptions& options);

}  // namespace sccello::eval
