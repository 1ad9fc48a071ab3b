// Neighbour graph: UMAP connectivities' defining properties, graph connectivity on a hand-made
// graph, and hnswlib's recall against the exact lists on real data.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "model/eval/distance_pass.h"
#include "model/eval/knn_graph.h"
#include "tests/eval/eval_test_util.h"

namespace sccello::eval {
namespace {

KnnLists exact_lists(const Embeddings& e, int32_t k) {
  DistancePassOptions o;
  o.k = k;
  DistancePass p = run_distance_pass(e.values, e.dims, std::vector<int32_t>(e.num_cells(), 0), 1, {}, 0, o);
  return KnnLists{e.num_cells(), k, p.knn, p.knn_dist};
}

TEST(KnnGraph, UmapConnectivitiesProperties) {
  auto e = read_embeddings(kPbmc68k, "X_pca");
  ASSERT_TRUE(e.is_ok());
  const KnnLists lists = exact_lists(*e, 14);
  const WeightedGraph g = umap_connectivities(lists);
  std::map<std::pair<int32_t, int32_t>, double> w;
  for (size_t t = 0; t < g.from.size(); ++t) {
    ASSERT_LT(g.from[t], g.to[t]);
    ASSERT_GT(g.weight[t], 0);
    ASSERT_LE(g.weight[t], 1.0 + 1e-12);
    w[{g.from[t], g.to[t]}] = g.weight[t];
  }
  for (int64_t i = 0; i < lists.n; ++i) {  // the nearest neighbour is at rho: weight 1
    const int32_t j = lists.index[i * 14];
    const std::pair<int32_t, int32_t> edge{std::min<int32_t>(i, j), std::max<int32_t>(i, j)};
    EXPECT_DOUBLE_EQ(w[edge], 1.0) << i;
  }
  EXPECT_EQ(unweighted_knn_graph(lists).from.size(), g.from.size());
}

TEST(KnnGraph, GraphConnectivityHandMade) {
  // Group 0: {0,1,2} with edge 0-1 only -> largest 2/3; group 1: {3,4} connected -> 1.
  WeightedGraph g;
  g.n = 5;
  g.from = {0, 3, 2};
  g.to = {1, 4, 3};  // 2-3 crosses groups: ignored
  g.weight = {1, 1, 1};
  EXPECT_NEAR(graph_connectivity(g, {0, 0, 0, 1, 1}, 2), (2.0 / 3 + 1.0) / 2, 1e-15);
}

TEST(KnnGraph, HnswRecallOnRealData) {
  auto e = read_embeddings(kPbmc68k, "X_pca");
  ASSERT_TRUE(e.is_ok());
  const KnnLists exact = exact_lists(*e, 14), approx = hnsw_knn(e->values, e->dims, 14, 2);
  int64_t hit = 0;
  for (int64_t i = 0; i < exact.n; ++i) {
    std::set<int32_t> want(exact.index.begin() + i * 14, exact.index.begin() + (i + 1) * 14);
    for (int t = 0; t < 14; ++t) hit += want.count(approx.index[i * 14 + t]);
  }
  EXPECT_GT(static_cast<double>(hit) / (exact.n * 14), 0.99);
}

}  // namespace
}  // namespace sccello::eval
