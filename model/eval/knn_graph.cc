#include "model/eval/knn_graph.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <numeric>
#include <thread>

namespace sccello::eval {
namespace {

// umap's smooth_knn_dist for one cell: distances of its neighbours (self excluded, ascending).
std::pair<double, double> rho_sigma(const float* dist, int32_t count, int32_t n_neighbors, double mean_all) {
  constexpr double kTolerance = 1e-5, kMinScale = 1e-3;
  const double target = std::log2(static_cast<double>(n_neighbors));
  double rho = 0, sum_all = 0;
  for (int32_t t = 0; t < count; ++t) {
    sum_all += dist[t];
    if (rho == 0 && dist[t] > 0) rho = dist[t];
  }
  double lo = 0, hi = INFINITY, mid = 1;
  for (int iter = 0; iter < 64; ++iter) {
    double psum = 0;
    for (int32_t t = 0; t < count; ++t) {
      const double d = dist[t] - rho;
      psum += d > 0 ? std::exp(-d / mid) : 1.0;
    }
    if (std::fabs(psum - target) < kTolerance) break;
    if (psum > target) {
      hi = mid;
      mid = (lo + hi) / 2;
    } else {
      lo = mid;
      mid = std::isinf(hi) ? mid * 2 : (lo + hi) / 2;
    }
  }
  // umap's floor: a fraction of the mean neighbour distance (self's zero included in the mean).
  const double mean_row = sum_all / static_cast<double>(count + 1);
  const double floor = kMinScale * (rho > 0 ? mean_row : mean_all);
  return {rho, std::max(mid, floor)};
}

template <class Weight>
WeightedGraph symmetrise(const KnnLists& lists, Weight weight) {
  std::map<std::pair<int32_t, int32_t>, std::pair<double, double>> pairs;  // (lo, hi) -> (w lo->hi, w hi->lo)
  for (int64_t i = 0; i < lists.n; ++i)
    for (int32_t t = 0; t < lists.k; ++t) {
      const int32_t j = lists.index[i * lists.k + t];
      if (j < 0 || j == i) continue;
      const double w = weight(i, t);
      auto& slot = pairs[{std::min<int32_t>(i, j), std::max<int32_t>(i, j)}];
      (i < j ? slot.first : slot.second) = w;
    }
  WeightedGraph g;
  g.n = lists.n;
  for (const auto& [ij, w] : pairs) {
    const double u = w.first + w.second - w.first * w.second;
    if (u <= 0) continue;
    g.from.push_back(ij.first);
    g.to.push_back(ij.second);
    g.weight.push_back(u);
  }
  return g;
}

int32_t find_root(std::vector<int32_t>& parent, int32_t x) {
  while (parent[x] != x) x = parent[x] = parent[parent[x]];
  return x;
}

}  // namespace

WeightedGraph umap_connectivities(const KnnLists& lists) {
  double total = 0;  // umap's global mean over the distance matrix, self column (0) included
  for (float d : lists.dist) total += d;
  const double mean_all = total / static_cast<double>(std::max<int64_t>(1, lists.n * (lists.k + 1)));
  std::vector<double> rho(lists.n), sigma(lists.n);
  for (int64_t i = 0; i < lists.n; ++i) {
    int32_t count = 0;
    while (count < lists.k && lists.index[i * lists.k + count] >= 0) ++count;
    std::tie(rho[i], sigma[i]) = rho_sigma(lists.dist.data() + i * lists.k, count, lists.k + 1, mean_all);
  }
  return symmetrise(lists, [&](int64_t i, int32_t t) {
    const double d = lists.dist[i * lists.k + t] - rho[i];
    return (d <= 0 || sigma[i] == 0) ? 1.0 : std::exp(-d / sigma[i]);
  });
}

WeightedGraph unweighted_knn_graph(const KnnLists& lists) {
  WeightedGraph g = symmetrise(lists, [](int64_t, int32_t) { return 1.0; });
  std::fill(g.weight.begin(), g.weight.end(), 1.0);
  return g;
}

double graph_connectivity(const WeightedGraph& graph, const std::vector<int32_t>& group, int32_t groups) {
  std::vector<int32_t> parent(graph.n);
  std::iota(parent.begin(), parent.end(), 0);
  for (size_t e = 0; e < graph.from.size(); ++e) {
    const int32_t a = graph.from[e], b = graph.to[e];
    if (group[a] != group[b]) continue;  // the subgraph induced by one group's cells
    parent[find_root(parent, a)] = find_root(parent, b);
  }
  std::vector<int64_t> group_size(groups, 0), largest(groups, 0);
  std::map<int32_t, int64_t> component_size;
  for (int64_t i = 0; i < graph.n; ++i) {
    ++group_size[group[i]];
    const int64_t s = ++component_size[find_root(parent, static_cast<int32_t>(i))];
    largest[group[i]] = std::max(largest[group[i]], s);
  }
  double total = 0;
  int32_t used = 0;
  for (int32_t g = 0; g < groups; ++g)
    if (group_size[g] > 0) total += static_cast<double>(largest[g]) / group_size[g], ++used;
  return used ? total / used : std::nan("");
}

}  // namespace sccello::eval
