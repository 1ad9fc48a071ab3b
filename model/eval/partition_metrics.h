// Agreement between two partitions of the same cells, given as integer codes (any non-negative
// values): NMI and ARI with scikit-learn's definitions. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <vector>

namespace sccello::eval {

// Normalised mutual information, arithmetic-mean normalisation (sklearn's default):
// MI / ((H(a) + H(b)) / 2), natural log; 1 when both partitions have a single (or no) class.
// REQUIRES: a.size() == b.size().
double normalized_mutual_info(const std::vector<int32_t>& a, const std::vector<int32_t>& b);

// Adjusted Rand index (Hubert & Arabie 1985); 1 for identical partitions, including the
// degenerate cases sklearn treats as 1 (one cluster each, or every cell alone).
double adjusted_rand_index(const std::vector<int32_t>& a, const std::vector<int32_t>& b);

// Renumbers arbitrary codes to 0..k-1 in order of first appearance; returns k.
int32_t dense_codes(std::vector<int32_t>* codes);

}  // namespace sccello::eval
