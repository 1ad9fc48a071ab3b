// Questions asked of a bound target provider by `sccello targets show|row`, the HTTP service and
// the Python module: one pair's raw value, level and ancestor flag; the terms most similar to one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plugins/target_provider.h"

namespace sccello {

// The term name of label `l` when the provider is graph-backed, else "".
std::string provider_term_name(const TargetProvider& p, LabelIndex l);

struct PairTarget {
  double raw = 0;      // raw similarity of label 1 seen from label 0
  int32_t level = 0;
  bool ancestor = false;
};
// REQUIRES: p's label space holds the pair (label 0, label 1).
Result<PairTarget> pair_target(const TargetProvider& p);

struct SimilarTerm {
  TermId term_id;
  std::string name;
  double raw = 0;
  int32_t level = 0;
  bool ancestor = false;
};
// The `top` labels with the highest raw similarity to `term` (ties: lower label first). NotFound
// when `term` is not a node of the provider's graph.
Result<std::vector<SimilarTerm>> most_similar_terms(const TargetProvider& p, const TermId& term, int top);

// The n x n matrix over the label space, row-major: raw similarities (raw_matrix), or the integer
// levels as doubles. `targets matrix` prints or saves it.
Result<std::vector<double>> target_matrix(const TargetProvider& p, bool raw);

// The raw n x n matrix written as a float64 NumPy .npy at `path` (atomically), computed into
// memory the kernel maps in huge pages where it allows (a 55 MB matrix page-faults ~30 times
// instead of ~13,500 times, and is never zero-filled twice).
Status write_raw_matrix_npy(const TargetProvider& p, const std::string& path);

}  // namespace sccello
