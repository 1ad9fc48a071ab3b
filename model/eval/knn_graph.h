// The cell neighbourhood graph the clustering metrics run on: k nearest neighbours (exact lists
// from the distance pass, or hnswlib's approximate ones), turned into scanpy's weighted graph
// (UMAP fuzzy-simplicial-set connectivities, as `sc.pp.neighbors` computes them), plus scib's
// graph connectivity score. Plain values; functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <vector>

namespace sccello::eval {

// Neighbour lists: n x k, nearest first, self excluded; -1 pads rows with fewer neighbours.
struct KnnLists {
  int64_t n = 0;
  int32_t k = 0;
  std::vector<int32_t> index;
  std::vector<float> dist;
};

// Undirected weighted graph as an edge list (i < j), each edge once.
struct WeightedGraph {
  int64_t n = 0;
  std::vector<int32_t> from, to;
  std::vector<double> weight;
};

// Approximate neighbours with hnswlib (L2, M=16, ef_construction=200, ef=max(2k, 100)),
// built on `threads` threads. Distances are euclidean (not squared).
KnnLists hnsw_knn(const std::vector<float>& values, int64_t dims, int32_t k, int threads);

// scanpy's connectivities for n_neighbors = lists.k + 1 (scanpy counts the cell itself among its
// neighbours): per cell rho = distance to the nearest neighbour, sigma from the binary search
// sum_j exp(-(d_j - rho)/sigma) = log2(k + 1), w_ij = exp(-(d_ij - rho_i)/sigma_i), then the fuzzy
// union w_ij + w_ji - w_ij w_ji. Zero-weight edges are dropped.
WeightedGraph umap_connectivities(const KnnLists& lists);

// The same edges with weight 1 (the plain symmetrised kNN graph).
WeightedGraph unweighted_knn_graph(const KnnLists& lists);

// scib graph connectivity: for each group, the largest connected component of the subgraph
// induced by its cells, divided by the group's size; averaged over groups.
double graph_connectivity(const WeightedGraph& graph, const std::vector<int32_t>& group, int32_t groups);

}  // namespace sccello::eval
