// NMI and ARI against hand-computed cases and brute-force oracles (pair counting for ARI, the
// entropy definitions for NMI) on random partitions.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "model/eval/partition_metrics.h"

namespace sccello::eval {
namespace {

// ARI by looking at every pair of cells.
double ari_oracle(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  double both = 0, in_a = 0, in_b = 0, pairs = 0;
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = i + 1; j < a.size(); ++j) {
      const bool sa = a[i] == a[j], sb = b[i] == b[j];
      both += sa && sb;
      in_a += sa;
      in_b += sb;
      ++pairs;
    }
  const double expected = in_a * in_b / pairs, max_index = (in_a + in_b) / 2;
  return (both - expected) / (max_index - expected);
}

double nmi_oracle(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const double n = static_cast<double>(a.size());
  std::map<int32_t, double> pa, pb;
  std::map<std::pair<int32_t, int32_t>, double> pab;
  for (size_t i = 0; i < a.size(); ++i) pa[a[i]] += 1 / n, pb[b[i]] += 1 / n, pab[{a[i], b[i]}] += 1 / n;
  double ha = 0, hb = 0, mi = 0;
  for (auto& [k, p] : pa) ha -= p * std::log(p);
  for (auto& [k, p] : pb) hb -= p * std::log(p);
  for (auto& [k, p] : pab) mi += p * std::log(p / (pa[k.first] * pb[k.second]));
  return mi / ((ha + hb) / 2);
}

TEST(PartitionMetrics, HandComputed) {
  // a = {0,0,1,1}, b = {0,0,0,1}: n_ij = [[2,0],[1,1]], sum C(n_ij,2) = 1, rows 1+1, cols 3+0.
  // expected = 2*3/6 = 1, max = 2.5: ARI = 0 / 1.5 = 0.
  EXPECT_NEAR(adjusted_rand_index({0, 0, 1, 1}, {0, 0, 0, 1}), 0.0, 1e-15);
  // H(a) = log 2, H(b) = -(3/4 log 3/4 + 1/4 log 1/4), MI = 1/2 log(4/3) + 1/4 log(2/3) + 1/4 log 2;
  // sklearn's normalized_mutual_info_score gives 0.34371101848545077.
  const double hb = -(0.75 * std::log(0.75) + 0.25 * std::log(0.25));
  const double mi = 0.5 * std::log(4.0 / 3) + 0.25 * std::log(2.0 / 3) + 0.25 * std::log(2.0);
  EXPECT_NEAR(normalized_mutual_info({0, 0, 1, 1}, {0, 0, 0, 1}), mi / ((std::log(2.0) + hb) / 2), 1e-15);
  EXPECT_NEAR(normalized_mutual_info({0, 0, 1, 1}, {0, 0, 0, 1}), 0.34371101848545077, 1e-14);
  EXPECT_DOUBLE_EQ(adjusted_rand_index({0, 0, 1, 1}, {5, 5, 7, 7}), 1.0);
  EXPECT_DOUBLE_EQ(normalized_mutual_info({0, 0, 1, 1}, {5, 5, 7, 7}), 1.0);
  EXPECT_DOUBLE_EQ(normalized_mutual_info({3, 3, 3}, {1, 1, 1}), 1.0);  // sklearn: one class each -> 1
  EXPECT_DOUBLE_EQ(adjusted_rand_index({3, 3, 3}, {1, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(normalized_mutual_info({0, 0, 1, 1}, {0, 1, 0, 1}), 0.0);  // independent
  // Permutation of one labelling: -0.5 (sklearn's adjusted_rand_score([0,0,1,1],[0,1,0,1])).
  EXPECT_NEAR(adjusted_rand_index({0, 0, 1, 1}, {0, 1, 0, 1}), -0.5, 1e-15);
}

TEST(PartitionMetrics, MatchesOraclesOnRandomPartitions) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 30; ++trial) {
    const int n = 20 + trial * 7, ka = 2 + trial % 5, kb = 2 + trial % 7;
    std::vector<int32_t> a(n), b(n);
    for (int i = 0; i < n; ++i) {
      a[i] = static_cast<int32_t>(rng() % ka) * 10;  // sparse codes: metrics must not care
      b[i] = (rng() % 3 == 0) ? a[i] / 10 : static_cast<int32_t>(rng() % kb);
    }
    EXPECT_NEAR(adjusted_rand_index(a, b), ari_oracle(a, b), 1e-12) << trial;
    EXPECT_NEAR(normalized_mutual_info(a, b), nmi_oracle(a, b), 1e-12) << trial;
    EXPECT_NEAR(adjusted_rand_index(a, b), adjusted_rand_index(b, a), 1e-14);
  }
}

TEST(PartitionMetrics, DenseCodesInFirstAppearanceOrder) {
  std::vector<int32_t> c{9, 4, 9, -1, 4};
  EXPECT_EQ(dense_codes(&c), 3);
  EXPECT_EQ(c, (std::vector<int32_t>{0, 1, 0, 2, 1}));
}

}  // namespace
}  // namespace sccello::eval
