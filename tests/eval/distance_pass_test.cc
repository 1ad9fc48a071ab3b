// The distance pass (silhouettes, exact neighbours) against brute force over every pair, a
// hand-computed silhouette, and independence from the thread count and block sizes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include "model/eval/distance_pass.h"

namespace sccello::eval {
namespace {

double dist(const std::vector<float>& x, int64_t d, int64_t i, int64_t j) {
  double s = 0;
  for (int64_t t = 0; t < d; ++t) s += (double(x[i * d + t]) - x[j * d + t]) * (double(x[i * d + t]) - x[j * d + t]);
  return std::sqrt(s);
}

// sklearn's silhouette_samples, literally, over the cells in `members` with codes `code`.
std::vector<double> silhouette_oracle(const std::vector<float>& x, int64_t d, const std::vector<int64_t>& members,
                                      const std::vector<int32_t>& code) {
  std::vector<double> s;
  for (int64_t i : members) {
    std::map<int32_t, std::pair<double, int64_t>> by;  // code -> (sum, count)
    for (int64_t j : members)
      if (j != i) by[code[j]].first += dist(x, d, i, j), ++by[code[j]].second;
    const auto own = by[code[i]];
    if (own.second == 0) { s.push_back(0); continue; }
    const double a = own.first / own.second;
    double b = INFINITY;
    for (auto& [c, v] : by) if (c != code[i] && v.second) b = std::min(b, v.first / v.second);
    s.push_back((b - a) / std::max(a, b));
  }
  return s;
}

struct Fixture {
  int64_t n = 157, d = 9;
  std::vector<float> x;
  std::vector<int32_t> group, batch;
  Fixture() {
    std::mt19937 rng(3);
    std::normal_distribution<float> normal;
    group.resize(n);
    batch.resize(n);
    for (int64_t i = 0; i < n; ++i) {
      group[i] = i == 0 ? 3 : static_cast<int32_t>(rng() % 3);  // group 3 is a singleton
      batch[i] = static_cast<int32_t>(rng() % 2);
      for (int64_t t = 0; t < d; ++t) x.push_back(normal(rng) + 2.0f * group[i] * (t == 0) + 50.0f);  // far from 0
    }
  }
};

TEST(DistancePass, HandComputedSilhouette) {
  // 1-D: A = {0, 1}, B = {4, 5}. Cell 0: a = 1, b = 4.5 -> 3.5/4.5; cell 1: a = 1, b = 3.5 -> 2.5/3.5.
  const std::vector<float> x{0, 1, 4, 5};
  const std::vector<int32_t> g{0, 0, 1, 1};
  DistancePass p = run_distance_pass(x, 1, g, 2, {}, 0, {});
  const double expect = (2 * (3.5 / 4.5) + 2 * (2.5 / 3.5)) / 4;
  EXPECT_NEAR(silhouette_from_sums(p, g), expect, 1e-7);
}

TEST(DistancePass, SilhouettesMatchBruteForce) {
  Fixture f;
  DistancePassOptions o;
  o.k = 5;
  o.threads = 2;
  o.row_block = 16;
  o.col_block = 40;
  DistancePass p = run_distance_pass(f.x, f.d, f.group, 4, f.batch, 2, o);
  std::vector<int64_t> all(f.n);
  std::iota(all.begin(), all.end(), 0);
  std::vector<double> oracle = silhouette_oracle(f.x, f.d, all, f.group);
  std::vector<double> got = silhouette_samples(p.group_sums, 4, f.group);
  for (int64_t i = 0; i < f.n; ++i) EXPECT_NEAR(got[i], oracle[i], 1e-5) << i;
  EXPECT_EQ(got[0], 0.0);  // singleton group
  double want_batch = 0;  // scib ASW_batch over groups 0..2 (3 is a singleton: skipped)
  for (int32_t g = 0; g < 3; ++g) {
    std::vector<int64_t> members;
    for (int64_t i = 0; i < f.n; ++i) if (f.group[i] == g) members.push_back(i);
    double cell = 0;
    for (double s : silhouette_oracle(f.x, f.d, members, f.batch)) cell += 1 - std::fabs(s);
    want_batch += cell / members.size() / 3;
  }
  EXPECT_NEAR(batch_silhouette_from_sums(p, f.group, f.batch), want_batch, 1e-5);
}

TEST(DistancePass, ExactNeighboursAndThreadIndependence) {
  Fixture f;
  DistancePassOptions one;
  one.k = 7;
  one.threads = 1;
  DistancePassOptions many = one;
  many.threads = 3;
  many.row_block = 7;
  many.col_block = 33;
  DistancePass a = run_distance_pass(f.x, f.d, f.group, 4, {}, 0, one);
  DistancePass b = run_distance_pass(f.x, f.d, f.group, 4, {}, 0, many);
  EXPECT_EQ(a.knn, b.knn);
  for (size_t t = 0; t < a.group_sums.size(); ++t) EXPECT_NEAR(a.group_sums[t], b.group_sums[t], 1e-7 * a.group_sums[t]);  // float GEMM blocking
  for (int64_t i = 0; i < f.n; ++i) {
    std::vector<std::pair<double, int64_t>> all;
    for (int64_t j = 0; j < f.n; ++j) if (j != i) all.push_back({dist(f.x, f.d, i, j), j});
    std::sort(all.begin(), all.end());
    for (int t = 0; t < one.k; ++t) {
      EXPECT_NEAR(a.knn_dist[i * one.k + t], all[t].first, 1e-3) << i;
      EXPECT_EQ(a.knn[i * one.k + t], all[t].second) << i << " rank " << t;
    }
  }
}

}  // namespace
}  // namespace sccello::eval
