// hnswlib's approximate neighbour lists (knn_graph.h: hnsw_knn).
#include "model/eval/knn_graph.h"

// hnswlib 0.6 defines a few globals and functions in its headers (not inline): renamed here so
// that this library links beside others that include hnswlib too.
#define L2SqrSIMD16Ext sccello_eval_L2SqrSIMD16Ext
#define L2SqrSIMD4Ext sccello_eval_L2SqrSIMD4Ext
#define InnerProductSIMD4Ext sccello_eval_InnerProductSIMD4Ext
#define InnerProductSIMD16Ext sccello_eval_InnerProductSIMD16Ext
#define InnerProductDistanceSIMD4Ext sccello_eval_InnerProductDistanceSIMD4Ext
#define InnerProductDistanceSIMD16Ext sccello_eval_InnerProductDistanceSIMD16Ext
#define cpuid sccello_eval_cpuid
#define xgetbv sccello_eval_xgetbv
#define AVXCapable sccello_eval_AVXCapable
#define AVX512Capable sccello_eval_AVX512Capable
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>

namespace sccello::eval {

KnnLists hnsw_knn(const std::vector<float>& values, int64_t dims, int32_t k, int threads) {
  const int64_t n = static_cast<int64_t>(values.size()) / dims;
  hnswlib::L2Space space(static_cast<size_t>(dims));
  hnswlib::HierarchicalNSW<float> index(&space, static_cast<size_t>(n), 16, 200, 100);
  index.setEf(std::max<size_t>(2 * (k + 1), 100));
  threads = std::max(1, threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency()));
  auto parallel = [&](auto body) {
    std::atomic<int64_t> next{0};
    std::vector<std::thread> pool;
    auto run = [&] { for (int64_t i; (i = next++) < n;) body(i); };
    for (int t = 1; t < threads; ++t) pool.emplace_back(run);
    run();
    for (auto& t : pool) t.join();
  };
  index.addPoint(values.data(), 0);
  parallel([&](int64_t i) { if (i > 0) index.addPoint(values.data() + i * dims, static_cast<size_t>(i)); });
  KnnLists out{n, k, std::vector<int32_t>(n * k, -1), std::vector<float>(n * k, 0)};
  parallel([&](int64_t i) {
    auto found = index.searchKnn(values.data() + i * dims, static_cast<size_t>(k + 1));
    std::vector<std::pair<float, int32_t>> hits;
    for (; !found.empty(); found.pop())
      if (static_cast<int64_t>(found.top().second) != i)
        hits.push_back({std::sqrt(std::max(0.0f, found.top().first)), static_cast<int32_t>(found.top().second)});
    std::sort(hits.begin(), hits.end());
    for (size_t t = 0; t < hits.size() && t < static_cast<size_t>(k); ++t) {
      out.index[i * k + t] = hits[t].second;
      out.dist[i * k + t] = hits[t].first;
    }
  });
  return out;
}

}  // namespace sccello::eval
