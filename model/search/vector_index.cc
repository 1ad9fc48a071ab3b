#include "model/search/vector_index.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include <hnswlib/hnswlib.h>

namespace sccello {
namespace {

// 1 - dot(a, b): cosine distance of normalised rows. Compiled for AVX2+FMA and plain x86-64 and
// picked at load time (hnswlib chooses its SIMD at compile time only, and the build targets
// plain x86-64); this is the kernel every HNSW step runs.
__attribute__((target_clones("arch=haswell", "default"))) float cosine_distance(const void* a, const void* b,
                                                                                  const void* param) {
  const size_t n = *static_cast<const size_t*>(param);
  const float* x = static_cast<const float*>(a);
  const float* y = static_cast<const float*>(b);
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (size_t i = 0; i < n; ++i) s += x[i] * y[i];
  return 1.0f - s;
}

// dot(a, b) over n floats, same dispatch as cosine_distance.
__attribute__((target_clones("arch=haswell", "default"))) float dot(const float* x, const float* y, size_t n) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (size_t i = 0; i < n; ++i) s += x[i] * y[i];
  return s;
}

struct TopK {
  explicit TopK(size_t k) : k(k) {}
  void push(int64_t row, float sim) {
    if (heap.size() < k) {
      heap.push_back({row, sim});
      std::push_heap(heap.begin(), heap.end(), worse);
    } else if (sim > heap.front().similarity) {
      std::pop_heap(heap.begin(), heap.end(), worse);
      heap.back() = {row, sim};
      std::push_heap(heap.begin(), heap.end(), worse);
    }
  }
  std::vector<Neighbour> sorted() {
    std::sort(heap.begin(), heap.end(), [](const Neighbour& a, const Neighbour& b) {
      return a.similarity != b.similarity ? a.similarity > b.similarity : a.row < b.row;
    });
    return heap;
  }
  // Min-heap on similarity (ties: larger row is worse, so results are deterministic).
  static bool worse(const Neighbour& a, const Neighbour& b) {
    return a.similarity != b.similarity ? a.similarity > b.similarity : a.row < b.row;
  }
  size_t k;
  std::vector<Neighbour> heap;
};

Status fsync_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return Status::io_error("cannot reopen " + path + " to sync it");
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::ok() : Status::io_error("cannot sync " + path + " (disk full?)");
}

}  // namespace

struct VectorIndex::Space : public hnswlib::SpaceInterface<float> {
  explicit Space(size_t dims) : dims(dims) {}
  size_t get_data_size() override { return dims * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return &cosine_distance; }
  void* get_dist_func_param() override { return &dims; }
  size_t dims;
};

void l2_normalize_rows(std::vector<float>* rows, int64_t dims) {
  if (dims <= 0) return;
  for (size_t start = 0; start + dims <= rows->size(); start += dims) {
    float* r = rows->data() + start;
    double s = 0;
    for (int64_t i = 0; i < dims; ++i) s += double(r[i]) * r[i];
    if (s <= 0) continue;
    const float inv = static_cast<float>(1.0 / std::sqrt(s));
    for (int64_t i = 0; i < dims; ++i) r[i] *= inv;
  }
}

std::vector<std::vector<Neighbour>> exact_knn(const float* base, int64_t rows, int64_t dims, const float* queries,
                                              int64_t num_queries, int64_t k,
                                              const std::function<bool(int64_t)>& allow) {
  std::vector<TopK> tops(static_cast<size_t>(num_queries), TopK(static_cast<size_t>(std::max<int64_t>(k, 0))));
  // Row-major scan: each base row is read once and scored against every query while cached.
  for (int64_t r = 0; r < rows && k > 0; ++r) {
    if (allow && !allow(r)) continue;
    const float* row = base + r * dims;
    for (int64_t q = 0; q < num_queries; ++q)
      tops[static_cast<size_t>(q)].push(r, dot(row, queries + q * dims, static_cast<size_t>(dims)));
  }
  std::vector<std::vector<Neighbour>> out;
  out.reserve(tops.size());
  for (auto& t : tops) out.push_back(t.sorted());
  return out;
}

VectorIndex::VectorIndex(int64_t dims, HnswParams params)
    : dims_(dims), params_(params), space_(std::make_unique<Space>(static_cast<size_t>(dims))) {}
VectorIndex::~VectorIndex() = default;
VectorIndex::VectorIndex(VectorIndex&&) noexcept = default;
VectorIndex& VectorIndex::operator=(VectorIndex&&) noexcept = default;

int64_t VectorIndex::size() const { return hnsw_ ? static_cast<int64_t>(hnsw_->cur_element_count) : 0; }

int64_t VectorIndex::memory_bytes() const {
  if (!hnsw_) return 0;
  int64_t bytes = static_cast<int64_t>(hnsw_->max_elements_ * hnsw_->size_data_per_element_);
  for (size_t i = 0; i < hnsw_->cur_element_count; ++i)
    bytes += static_cast<int64_t>(hnsw_->element_levels_[i] * hnsw_->size_links_per_element_);
  return bytes;
}

Status VectorIndex::add(const float* rows, int64_t count, int threads, const std::function<void(int64_t)>& progress) {
  try {
    const size_t first = static_cast<size_t>(size());
    if (!hnsw_) {
      hnsw_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), static_cast<size_t>(count),
                                                                 static_cast<size_t>(params_.m),
                                                                 static_cast<size_t>(params_.ef_construction),
                                                                 static_cast<size_t>(params_.seed));
    } else {
      hnsw_->resizeIndex(first + static_cast<size_t>(count));
    }
    // The first point of an empty graph becomes its entry point: hnswlib does not make that
    // step safe against concurrent inserts, so it goes in alone before the workers start.
    int64_t start = 0;
    if (first == 0 && count > 0) {
      hnsw_->addPoint(rows, 0);
      start = 1;
    }
    std::atomic<int64_t> next{start}, done{start};
    std::mutex progress_mu;
    auto worker = [&] {
      for (int64_t i; (i = next.fetch_add(1)) < count;) {
        hnsw_->addPoint(rows + i * dims_, first + static_cast<size_t>(i));
        const int64_t d = done.fetch_add(1) + 1;
        if (progress && d % 1024 == 0) {
          std::lock_guard<std::mutex> lock(progress_mu);
          progress(d);
        }
      }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < std::max(1, threads); ++t) pool.emplace_back(worker);
    worker();
    for (auto& th : pool) th.join();
    if (progress) progress(count);
    return Status::ok();
  } catch (const std::exception& e) {
    return Status::internal(std::string("building the HNSW index failed: ") + e.what());
  }
}

std::vector<Neighbour> VectorIndex::search(const float* query, int64_t k, int64_t ef,
                                           const std::function<bool(int64_t)>& allow) const {
  std::vector<Neighbour> out;
  if (!hnsw_ || k <= 0) return out;
  const int64_t want = std::min<int64_t>(k, size());
  // setEf is a plain member write; searches that share an index use the same ef per process.
  const_cast<hnswlib::HierarchicalNSW<float>*>(hnsw_.get())->setEf(static_cast<size_t>(std::max(ef, want)));
  auto found = hnsw_->searchKnn(query, static_cast<size_t>(std::max(want, ef)));
  TopK top(static_cast<size_t>(want));
  while (!found.empty()) {
    const auto& [dist, label] = found.top();
    if (!allow || allow(static_cast<int64_t>(label))) top.push(static_cast<int64_t>(label), 1.0f - dist);
    found.pop();
  }
  return top.sorted();
}

std::vector<float> VectorIndex::row(int64_t id) const {
  if (!hnsw_ || id < 0 || id >= size()) return {};
  return hnsw_->getDataByLabel<float>(static_cast<hnswlib::labeltype>(id));
}

Status VectorIndex::save(const std::string& path) const {
  if (!hnsw_) return Status::invalid("cannot save an empty vector index to " + path);
  const std::string tmp = path + ".tmp";
  try {
    hnsw_->saveIndex(tmp);
  } catch (const std::exception& e) {
    std::remove(tmp.c_str());
    return Status::io_error("cannot write " + tmp + ": " + e.what());
  }
  Status synced = fsync_file(tmp);
  if (!synced.is_ok() || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return synced.is_ok() ? Status::io_error("cannot rename " + tmp + " to " + path) : synced;
  }
  return Status::ok();
}

Result<VectorIndex> VectorIndex::load(const std::string& path, int64_t dims, HnswParams params,
                                      int64_t expected_rows) {
  VectorIndex index(dims, params);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return Status::not_found("the index file " + path + " is missing: rebuild the index (sccello index build)");
  try {
    index.hnsw_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(index.space_.get(), path);
  } catch (const std::exception& e) {
    return Status::corruption("the index file " + path + " is corrupt (" + e.what() +
                              "): drop and rebuild the index");
  }
  if (index.hnsw_->data_size_ != static_cast<size_t>(dims) * sizeof(float) ||
      (expected_rows >= 0 && index.size() != expected_rows))
    return Status::corruption("the index file " + path + " does not match its record (" +
                              std::to_string(index.size()) + " rows, expected " + std::to_string(expected_rows) +
                              "): drop and rebuild the index");
  return index;
}

}  // namespace sccello
