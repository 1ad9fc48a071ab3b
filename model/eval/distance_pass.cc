#include "model/eval/distance_pass.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cmath>
#include <limits>
#include <numeric>
#include <thread>

#include "model/eval/linalg.h"

namespace sccello::eval {
namespace {

// Bounded max-heap of the k nearest (distance, index) seen so far for one row.
class TopK {
 public:
  explicit TopK(int32_t k) : k_(k) { heap_.reserve(k); }
  void offer(float d, int32_t j) {
    if (static_cast<int32_t>(heap_.size()) < k_) {
      heap_.push_back({d, j});
      std::push_heap(heap_.begin(), heap_.end());
    } else if (k_ > 0 && std::make_pair(d, j) < heap_.front()) {
      std::pop_heap(heap_.begin(), heap_.end());
      heap_.back() = {d, j};
      std::push_heap(heap_.begin(), heap_.end());
    }
  }
  float worst() const {
    return static_cast<int32_t>(heap_.size()) < k_ ? std::numeric_limits<float>::infinity() : heap_.front().first;
  }
  void write(int32_t* idx, float* dist) {
    std::sort_heap(heap_.begin(), heap_.end());
    for (size_t t = 0; t < heap_.size(); ++t) {
      idx[t] = heap_[t].second;
      dist[t] = heap_[t].first;
    }
    for (size_t t = heap_.size(); t < static_cast<size_t>(k_); ++t) idx[t] = -1, dist[t] = 0;
  }

 private:
  int32_t k_;
  std::vector<std::pair<float, int32_t>> heap_;
};

// Cells sorted by (group, batch): each group, and each batch within it, is a contiguous run of
// columns, so per-row sums are run reductions instead of scattered adds.
struct PassInput {
  const std::vector<float>& centred;  // n x dims in sorted order, mean removed
  const std::vector<float>& norms;    // squared norms of the centred rows
  int64_t n, dims;
  const std::vector<int32_t>& group;  // sorted order
  const std::vector<int32_t>& batch;  // sorted order (may be empty)
  const std::vector<int64_t>& runs;   // starts of the (group, batch) runs, then n
  const DistancePassOptions& options;
};

double run_sum(const float* d, int64_t from, int64_t to) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = from;
  for (; j + 8 <= to; j += 8)
    for (int t = 0; t < 8; ++t) acc[t] += d[j + t];
  for (; j < to; ++j) acc[0] += d[j];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// Adds row i's distances to columns [c0, c0 + cols) into its group and batch sums.
void add_run_sums(const PassInput& in, int64_t i, int64_t c0, int64_t cols, const float* d, DistancePass* out) {
  double* gsum = out->group_sums.data() + i * out->groups;
  double* bsum = out->batches ? out->batch_sums.data() + i * out->batches : nullptr;
  auto it = std::upper_bound(in.runs.begin(), in.runs.end(), c0) - 1;
  for (; *it < c0 + cols; ++it) {
    const int64_t from = std::max(*it, c0), to = std::min(*(it + 1), c0 + cols);
    const double s = run_sum(d, from - c0, to - c0);
    gsum[in.group[from]] += s;
    if (bsum && in.group[from] == in.group[i]) bsum[in.batch[from]] += s;
  }
}

// Rows [r0, r1) against every column: sums and neighbour lists of those rows.
void process_rows(const PassInput& in, int64_t r0, int64_t r1, std::vector<float>* dots, DistancePass* out) {
  const int64_t rows = r1 - r0, cb = in.options.col_block;
  const int32_t k = in.options.k;
  std::vector<TopK> tops(rows, TopK(k));
  for (int64_t c0 = 0; c0 < in.n; c0 += cb) {
    const int64_t cols = std::min(cb, in.n - c0);
    gemm_abt(rows, cols, in.dims, 1.0f, in.centred.data() + r0 * in.dims, in.centred.data() + c0 * in.dims, 0.0f,
             dots->data());
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = r0 + r;
      const float ni = in.norms[i];
      float* d = dots->data() + r * cols;
      const float* nj = in.norms.data() + c0;
      for (int64_t c = 0; c < cols; ++c) d[c] = std::sqrt(std::max(0.0f, ni + nj[c] - 2.0f * d[c]));
      if (i >= c0 && i < c0 + cols) d[i - c0] = 0;  // self
      add_run_sums(in, i, c0, cols, d, out);
      if (!k) continue;
      float worst = tops[r].worst();
      for (int64_t c = 0; c < cols; ++c)
        if (d[c] <= worst && c0 + c != i) {
          tops[r].offer(d[c], static_cast<int32_t>(c0 + c));
          worst = tops[r].worst();
        }
    }
  }
  for (int64_t r = 0; r < rows && k; ++r)
    tops[r].write(out->knn.data() + (r0 + r) * k, out->knn_dist.data() + (r0 + r) * k);
}

std::vector<float> centre_rows(const std::vector<float>& values, int64_t n, int64_t dims) {
  std::vector<double> mean(dims, 0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = 0; d < dims; ++d) mean[d] += values[i * dims + d];
  for (double& m : mean) m /= std::max<int64_t>(n, 1);
  std::vector<float> out(values.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = 0; d < dims; ++d) out[i * dims + d] = static_cast<float>(values[i * dims + d] - mean[d]);
  return out;
}

// The order that sorts cells by (group, batch), stable, and the starts of its runs.
std::vector<int64_t> sort_order(const std::vector<int32_t>& group, const std::vector<int32_t>& batch,
                                std::vector<int64_t>* runs) {
  std::vector<int64_t> order(group.size());
  std::iota(order.begin(), order.end(), 0);
  auto key = [&](int64_t i) { return std::make_pair(group[i], batch.empty() ? 0 : batch[i]); };
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return key(a) < key(b); });
  runs->clear();
  for (size_t p = 0; p < order.size(); ++p)
    if (p == 0 || key(order[p]) != key(order[p - 1])) runs->push_back(static_cast<int64_t>(p));
  runs->push_back(static_cast<int64_t>(order.size()));
  return order;
}

void run_parallel(const PassInput& in, DistancePass* out) {
  const DistancePassOptions& o = in.options;
  int threads = o.threads > 0 ? o.threads : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::max(1, std::min<int>(threads, static_cast<int>((in.n + o.row_block - 1) / o.row_block)));
  set_blas_threads(1);  // parallel over row blocks instead
  std::atomic<int64_t> next{0};
  auto work = [&] {
    std::vector<float> dots(o.row_block * std::min(o.col_block, in.n));
    for (int64_t r0; (r0 = next.fetch_add(o.row_block)) < in.n;)
      process_rows(in, r0, std::min(in.n, r0 + o.row_block), &dots, out);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

// Moves the per-cell results of the sorted order back to the caller's order.
DistancePass unsort(const DistancePass& sorted, const std::vector<int64_t>& order, int32_t k) {
  DistancePass out = sorted;
  const int64_t n = static_cast<int64_t>(order.size());
  for (int64_t p = 0; p < n; ++p) {
    const int64_t i = order[p];
    std::copy_n(sorted.group_sums.begin() + p * sorted.groups, sorted.groups, out.group_sums.begin() + i * sorted.groups);
    std::copy_n(sorted.batch_sums.begin() + p * sorted.batches, sorted.batches, out.batch_sums.begin() + i * sorted.batches);
    for (int32_t t = 0; t < k; ++t) {
      const int32_t j = sorted.knn[p * k + t];
      out.knn[i * k + t] = j < 0 ? -1 : static_cast<int32_t>(order[j]);
      out.knn_dist[i * k + t] = sorted.knn_dist[p * k + t];
    }
  }
  return out;
}

}  // namespace

DistancePass run_distance_pass(const std::vector<float>& values, int64_t dims, const std::vector<int32_t>& group,
                               int32_t groups, const std::vector<int32_t>& batch, int32_t batches,
                               const DistancePassOptions& options) {
  const int64_t n = static_cast<int64_t>(group.size());
  assert(static_cast<int64_t>(values.size()) == n * dims);
  std::vector<int64_t> runs;
  const std::vector<int64_t> order = sort_order(group, batch, &runs);
  std::vector<float> sorted(values.size());
  std::vector<int32_t> sgroup(n), sbatch(batch.empty() ? 0 : n);
  for (int64_t p = 0; p < n; ++p) {
    std::copy_n(values.begin() + order[p] * dims, dims, sorted.begin() + p * dims);
    sgroup[p] = group[order[p]];
    if (!batch.empty()) sbatch[p] = batch[order[p]];
  }
  DistancePass out;
  out.groups = groups;
  out.batches = batch.empty() ? 0 : batches;
  out.group_sums.assign(n * groups, 0);
  out.batch_sums.assign(n * out.batches, 0);
  out.knn.assign(n * options.k, -1);
  out.knn_dist.assign(n * options.k, 0);
  const std::vector<float> centred = centre_rows(sorted, n, dims);
  std::vector<float> norms(n);
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t d = 0; d < dims; ++d) s += static_cast<double>(centred[i * dims + d]) * centred[i * dims + d];
    norms[i] = static_cast<float>(s);
  }
  run_parallel(PassInput{centred, norms, n, dims, sgroup, sbatch, runs, options}, &out);
  return unsort(out, order, options.k);
}

std::vector<double> silhouette_samples(const std::vector<double>& sums, int32_t groups,
                                       const std::vector<int32_t>& group) {
  std::vector<int64_t> size(groups, 0);
  for (int32_t g : group) ++size[g];
  std::vector<double> s(group.size(), 0.0);
  for (size_t i = 0; i < group.size(); ++i) {
    const int32_t g = group[i];
    if (size[g] <= 1) continue;
    const double a = sums[i * groups + g] / static_cast<double>(size[g] - 1);
    double b = std::numeric_limits<double>::infinity();
    for (int32_t h = 0; h < groups; ++h)
      if (h != g && size[h] > 0) b = std::min(b, sums[i * groups + h] / static_cast<double>(size[h]));
    const double m = std::max(a, b);
    s[i] = (std::isfinite(b) && m > 0) ? (b - a) / m : 0.0;
  }
  return s;
}

double silhouette_from_sums(const DistancePass& pass, const std::vector<int32_t>& group) {
  std::vector<int64_t> size(pass.groups, 0);
  for (int32_t g : group) ++size[g];
  const int64_t present = std::count_if(size.begin(), size.end(), [](int64_t s) { return s > 0; });
  if (present < 2 || present >= static_cast<int64_t>(group.size())) return std::nan("");
  std::vector<double> s = silhouette_samples(pass.group_sums, pass.groups, group);
  double total = 0;
  for (double v : s) total += v;
  return total / static_cast<double>(s.size());
}

double batch_silhouette_from_sums(const DistancePass& pass, const std::vector<int32_t>& group,
                                  const std::vector<int32_t>& batch) {
  double label_total = 0;
  int64_t labels_used = 0;
  for (int32_t g = 0; g < pass.groups; ++g) {
    std::vector<int64_t> members;
    for (size_t i = 0; i < group.size(); ++i)
      if (group[i] == g) members.push_back(static_cast<int64_t>(i));
    std::vector<int64_t> batch_size(pass.batches, 0);
    for (int64_t i : members) ++batch_size[batch[i]];
    const int64_t present = std::count_if(batch_size.begin(), batch_size.end(), [](int64_t s) { return s > 0; });
    if (present <= 1 || present == static_cast<int64_t>(members.size())) continue;
    std::vector<double> sums;
    std::vector<int32_t> codes;
    for (int64_t i : members) {
      sums.insert(sums.end(), pass.batch_sums.begin() + i * pass.batches, pass.batch_sums.begin() + (i + 1) * pass.batches);
      codes.push_back(batch[i]);
    }
    double cell_total = 0;
    for (double s : silhouette_samples(sums, pass.batches, codes)) cell_total += 1.0 - std::fabs(s);
    label_total += cell_total / static_cast<double>(members.size());
    ++labels_used;
  }
  return labels_used ? label_total / static_cast<double>(labels_used) : std::nan("");
}

}  // namespace sccello::eval
