#include "model/eval/partition_metrics.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <map>
#include <unordered_map>

namespace sccello::eval {
namespace {

struct Contingency {
  std::vector<int64_t> rows, cols;         // class sizes of a and b
  std::map<std::pair<int32_t, int32_t>, int64_t> cells;  // non-zero counts n_ij
  int64_t n = 0;
};

Contingency contingency(std::vector<int32_t> a, std::vector<int32_t> b) {
  assert(a.size() == b.size());
  Contingency c;
  c.rows.assign(dense_codes(&a), 0);
  c.cols.assign(dense_codes(&b), 0);
  for (size_t i = 0; i < a.size(); ++i) {
    ++c.rows[a[i]];
    ++c.cols[b[i]];
    ++c.cells[{a[i], b[i]}];
  }
  c.n = static_cast<int64_t>(a.size());
  return c;
}

double entropy(const std::vector<int64_t>& sizes, int64_t n) {
  double h = 0;
  for (int64_t s : sizes)
    if (s > 0) h -= (static_cast<double>(s) / n) * (std::log(static_cast<double>(s)) - std::log(static_cast<double>(n)));
  return h;
}

double mutual_info(const Contingency& c) {
  const double n = static_cast<double>(c.n);
  double mi = 0;
  for (const auto& [ij, nij] : c.cells) {
    const double p = nij / n;
    const double term = p * (std::log(static_cast<double>(nij)) - std::log(n)) +
                        p * (-std::log(static_cast<double>(c.rows[ij.first]) * c.cols[ij.second]) + 2 * std::log(n));
    if (std::fabs(term) >= 1e-16) mi += term;  // sklearn zeroes |term| < eps
  }
  return std::max(mi, 0.0);
}

double pairs(int64_t k) { return 0.5 * static_cast<double>(k) * static_cast<double>(k - 1); }

}  // namespace

int32_t dense_codes(std::vector<int32_t>* codes) {
  std::unordered_map<int32_t, int32_t> seen;
  for (int32_t& c : *codes) c = seen.emplace(c, static_cast<int32_t>(seen.size())).first->second;
  return static_cast<int32_t>(seen.size());
}

double normalized_mutual_info(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  Contingency c = contingency(a, b);
  if (c.rows.size() == c.cols.size() && c.rows.size() <= 1) return 1.0;
  const double mi = mutual_info(c);
  if (mi == 0) return 0.0;
  const double norm = 0.5 * (entropy(c.rows, c.n) + entropy(c.cols, c.n));
  return mi / std::max(norm, 2.220446049250313e-16);
}

double adjusted_rand_index(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  Contingency c = contingency(a, b);
  double index = 0, sum_rows = 0, sum_cols = 0;
  for (const auto& [ij, nij] : c.cells) index += pairs(nij);
  for (int64_t s : c.rows) sum_rows += pairs(s);
  for (int64_t s : c.cols) sum_cols += pairs(s);
  const double total = pairs(c.n);
  if (total == 0) return 1.0;
  const double expected = sum_rows * sum_cols / total;
  const double max_index = 0.5 * (sum_rows + sum_cols);
  if (max_index == expected) return 1.0;  // both partitions trivial in the same way
  return (index - expected) / (max_index - expected);
}

}  // namespace sccello::eval
