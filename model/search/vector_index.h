// VectorIndex: cosine nearest neighbours over L2-normalised float32 rows, approximate through
// hnswlib's HNSW graph and exact through a full scan (the oracle, and `--exact`).
// Row ids are 0..size()-1 in insertion order. Why hnswlib (docs/search.md): header-only (no extra
// shared library at start-up), incremental add (`index add`), thread-safe concurrent inserts, and
// recall/speed on par with faiss HNSW; faiss's IVF-PQ is the plan for corpora beyond RAM.
// The exact search is a SIMD scan (exact_knn).
// Searches are thread-safe; add/save need exclusive use.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "graph/status.h"

namespace hnswlib {
template <typename T>
class HierarchicalNSW;
}

namespace sccello {

struct HnswParams {
  int64_t m = 16;                 // graph degree (bytes/cell: ~2*M*4 links + the vector)
  int64_t ef_construction = 200;  // build-time beam width
  int64_t ef_search = 64;         // query-time beam width (raised to k when smaller)
  uint64_t seed = 237;
};

struct Neighbour {
  int64_t row = -1;
  float similarity = 0;  // cosine
};

// Scales each row of a row-major matrix to unit L2 norm (zero rows stay zero).
void l2_normalize_rows(std::vector<float>* rows, int64_t dims);

// Exact top-k rows of `base` (rows x dims, normalised) by cosine to each query (normalised), in
// descending similarity; `allow(row)` filters (null: all). One pass over the rows with a SIMD dot
// product (no BLAS: the light `sccello` executable links none; a query is memory-bound anyway).
std::vector<std::vector<Neighbour>> exact_knn(const float* base, int64_t rows, int64_t dims, const float* queries,
                                              int64_t num_queries, int64_t k,
                                              const std::function<bool(int64_t)>& allow = nullptr);

class VectorIndex {
 public:
  VectorIndex(int64_t dims, HnswParams params);
  ~VectorIndex();
  VectorIndex(VectorIndex&&) noexcept;
  VectorIndex& operator=(VectorIndex&&) noexcept;

  // Appends rows (normalised) with ids size().. ; `threads` concurrent inserts; progress(done).
  Status add(const float* rows, int64_t count, int threads, const std::function<void(int64_t)>& progress = nullptr);
  // Approximate top-k of one normalised query; `allow` filters (hits it rejects are skipped, so
  // fewer than k may come back: the caller widens or falls back to exact_knn).
  std::vector<Neighbour> search(const float* query, int64_t k, int64_t ef,
                                const std::function<bool(int64_t)>& allow = nullptr) const;
  // The stored (normalised) row.
  std::vector<float> row(int64_t id) const;

  int64_t size() const;
  int64_t dims() const { return dims_; }
  const HnswParams& params() const { return params_; }
  int64_t memory_bytes() const;  // vectors + graph links, as held in RAM

  // Writes to `path` atomically (a temporary file, fsync, rename).
  Status save(const std::string& path) const;
  // Opens a file written by save(); `expected_rows` (-1: any) and the dims are checked. The file
  // is memory-mapped (read-only, private) and hnswlib's base layer points into the mapping, so
  // opening costs one validating pass over it instead of hnswlib's loadIndex (a copy of the file
  // and three lseek calls per element: 206k system calls for 100k cells). Every structural field
  // is checked (sizes, levels, each neighbour id, labels a permutation of 0..n-1): a damaged file
  // is refused, never searched. add() first copies the mapping into owned memory.
  static Result<VectorIndex> load(const std::string& path, int64_t dims, HnswParams params, int64_t expected_rows);

 private:
  struct Space;
  struct Mapping;
  Status own_base_layer();  // mapped -> malloc'd, as hnswlib expects before it resizes
  int64_t dims_;
  HnswParams params_;
  std::unique_ptr<Space> space_;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> hnsw_;
  std::unique_ptr<Mapping> mapping_;       // the file behind hnsw_'s base layer (null: owned)
  std::vector<uint32_t> internal_of_row_;  // row (hnswlib label) -> internal id, while mapped
};

}  // namespace sccello
