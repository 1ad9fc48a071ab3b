#include "model/eval/embedding_layout.h"

#include <igraph.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "model/eval/distance_pass.h"

namespace sccello::eval {
namespace {

struct Graph {
  igraph_t g;
  bool made = false;
  ~Graph() { if (made) igraph_destroy(&g); }
};

// Each unordered neighbour pair once (i < j), with its distance.
void neighbour_edges(const DistancePass& pass, int64_t n, int32_t k, std::vector<igraph_integer_t>* ends,
                     std::vector<double>* dist) {
  std::vector<std::pair<int64_t, int64_t>> seen;
  for (int64_t i = 0; i < n; ++i)
    for (int32_t j = 0; j < k; ++j) {
      const int64_t other = pass.knn[i * k + j];
      if (other < 0 || other == i) continue;
      const bool listed_by_other = [&] {
        for (int32_t m = 0; m < k; ++m)
          if (pass.knn[other * k + m] == i) return true;
        return false;
      }();
      if (listed_by_other && other < i) continue;  // the pair was added from `other`'s side
      ends->push_back(i);
      ends->push_back(other);
      dist->push_back(pass.knn_dist[i * k + j]);
    }
}

// Top-2 principal component scores (power iteration with deflation on the d x d covariance),
// scaled to [-10, 10] like umap-learn's initialisation: the starting layout.
std::vector<double> pca_start(const std::vector<float>& values, int64_t n, int64_t d) {
  std::vector<double> mean(d, 0), cov(d * d, 0), out(2 * n, 0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t a = 0; a < d; ++a) mean[a] += values[i * d + a] / double(n);
  std::vector<double> row(d);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t a = 0; a < d; ++a) row[a] = values[i * d + a] - mean[a];
    for (int64_t a = 0; a < d; ++a)
      for (int64_t b = 0; b < d; ++b) cov[a * d + b] += row[a] * row[b];
  }
  for (int c = 0; c < 2; ++c) {
    std::vector<double> v(d), w(d);
    for (int64_t a = 0; a < d; ++a) v[a] = 1.0 + 0.01 * double((a * 7919 + c * 104729) % 101);
    double lambda = 0;
    for (int it = 0; it < 200; ++it) {
      double norm = 0;
      for (int64_t a = 0; a < d; ++a) {
        w[a] = 0;
        for (int64_t b = 0; b < d; ++b) w[a] += cov[a * d + b] * v[b];
        norm += w[a] * w[a];
      }
      norm = std::sqrt(norm);
      if (norm <= 0) break;
      lambda = norm;
      for (int64_t a = 0; a < d; ++a) v[a] = w[a] / norm;
    }
    for (int64_t a = 0; a < d; ++a)
      for (int64_t b = 0; b < d; ++b) cov[a * d + b] -= lambda * v[a] * v[b];
    double lo = 1e300, hi = -1e300;
    for (int64_t i = 0; i < n; ++i) {
      double score = 0;
      for (int64_t a = 0; a < d; ++a) score += (values[i * d + a] - mean[a]) * v[a];
      out[2 * i + c] = score;
      lo = std::min(lo, score), hi = std::max(hi, score);
    }
    for (int64_t i = 0; i < n; ++i) out[2 * i + c] = hi > lo ? 20 * (out[2 * i + c] - lo) / (hi - lo) - 10 : 0;
  }
  return out;
}

}  // namespace

Result<std::vector<double>> umap_layout(const std::vector<float>& values, int64_t dims, const LayoutOptions& options) {
  const int64_t n = dims > 0 ? static_cast<int64_t>(values.size()) / dims : 0;
  const int32_t k = options.n_neighbors - 1;
  if (n <= options.n_neighbors)
    return Status::invalid("too few cells for an embedding map (" + std::to_string(n) + "; need more than " +
                           std::to_string(options.n_neighbors) + ")");
  DistancePassOptions dp;
  dp.k = k;
  dp.threads = options.threads;
  const DistancePass pass = run_distance_pass(values, dims, std::vector<int32_t>(n, 0), 1, {}, 0, dp);
  std::vector<igraph_integer_t> ends;
  std::vector<double> dist;
  neighbour_edges(pass, n, k, &ends, &dist);
  igraph_vector_int_t edge_view;
  igraph_vector_int_view(&edge_view, ends.data(), static_cast<igraph_integer_t>(ends.size()));
  Graph graph;
  if (igraph_create(&graph.g, &edge_view, static_cast<igraph_integer_t>(n), IGRAPH_UNDIRECTED) != IGRAPH_SUCCESS)
    return Status::internal("igraph could not build the neighbour graph of the embedding map");
  graph.made = true;
  igraph_vector_t dist_view;
  igraph_vector_view(&dist_view, dist.data(), static_cast<igraph_integer_t>(dist.size()));
  igraph_matrix_t layout;
  igraph_matrix_init(&layout, n, 2);
  const std::vector<double> start = pca_start(values, n, dims);
  for (int64_t i = 0; i < n; ++i) MATRIX(layout, i, 0) = start[2 * i], MATRIX(layout, i, 1) = start[2 * i + 1];
  igraph_rng_seed(igraph_rng_default(), options.seed);
  const igraph_error_t rc =
      igraph_layout_umap(&graph.g, &layout, true, &dist_view, options.min_dist, options.epochs, 0.3);
  std::vector<double> out;
  if (rc == IGRAPH_SUCCESS) {
    out.resize(2 * n);
    for (int64_t i = 0; i < n; ++i) out[2 * i] = MATRIX(layout, i, 0), out[2 * i + 1] = MATRIX(layout, i, 1);
  }
  igraph_matrix_destroy(&layout);
  if (rc != IGRAPH_SUCCESS) return Status::internal(std::string("igraph UMAP layout failed: ") + igraph_strerror(rc));
  return out;
}

}  // namespace sccello::eval
