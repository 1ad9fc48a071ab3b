// One pass over all pairwise euclidean distances of an embedding (n x d, row-major floats), in
// row blocks on worker threads with BLAS GEMMs: per-cell distance sums to every label group (for
// the label silhouette), to every batch among same-label cells (for the batch silhouette), and
// the exact k nearest neighbours. O(n^2 d) time, O(n (labels + batches + k)) memory.
// Stateless; the result is a plain value.
#pragma once

#include <cstdint>
#include <vector>

namespace sccello::eval {

struct DistancePassOptions {
  int32_t k = 0;       // neighbours per cell, self excluded (0: no neighbour lists)
  int threads = 1;     // worker threads (<= 0: hardware)
  int64_t row_block = 128;    // rows per work item
  int64_t col_block = 4096;   // columns per GEMM
};

struct DistancePass {
  int32_t groups = 0, batches = 0;
  std::vector<double> group_sums;  // n x groups: sum of distances from cell i to the cells of each group
  std::vector<double> batch_sums;  // n x batches: same, over the cells of i's own group only
  std::vector<int32_t> knn;        // n x k neighbour indices, nearest first
  std::vector<float> knn_dist;     // n x k distances
};

// `group[i]` in [0, groups); `batch` empty or `batch[i]` in [0, batches).
// REQUIRES: values.size() == n * dims, group.size() == n.
DistancePass run_distance_pass(const std::vector<float>& values, int64_t dims, const std::vector<int32_t>& group,
                               int32_t groups, const std::vector<int32_t>& batch, int32_t batches,
                               const DistancePassOptions& options);

// Mean silhouette width (sklearn's silhouette_score, euclidean) from the group sums; cells of a
// singleton group score 0. NaN when there are fewer than 2 groups or every cell is its own group.
double silhouette_from_sums(const DistancePass& pass, const std::vector<int32_t>& group);

// Per-cell silhouette values (same definition).
std::vector<double> silhouette_samples(const std::vector<double>& sums, int32_t groups,
                                       const std::vector<int32_t>& group);

// scib's ASW_batch: for each group with 2..(size-1) distinct batches, 1 - |silhouette of the
// batches within the group| per cell, averaged over the group's cells, then over groups. NaN
// when no group qualifies.
double batch_silhouette_from_sums(const DistancePass& pass, const std::vector<int32_t>& group,
                                  const std::vector<int32_t>& batch);

}  // namespace sccello::eval
