#include "model/search/vector_index.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

#include <hnswlib/hnswlib.h>

#include "store/byte_cursor.h"

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

// A read-only private mapping of a whole file.
struct VectorIndex::Mapping {
  void* base = MAP_FAILED;
  size_t size = 0;
  ~Mapping() {
    if (base != MAP_FAILED) ::munmap(base, size);
  }
  const char* bytes() const { return static_cast<const char*>(base); }
};

VectorIndex::VectorIndex(int64_t dims, HnswParams params)
    : dims_(dims), params_(params), space_(std::make_unique<Space>(static_cast<size_t>(dims))) {}
VectorIndex::~VectorIndex() {
  // hnswlib frees its base layer itself: not when it lies in our mapping.
  if (hnsw_ && mapping_) hnsw_->data_level0_memory_ = nullptr;
}
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

Status VectorIndex::own_base_layer() {
  if (!mapping_) return Status::ok();
  const size_t bytes = hnsw_->max_elements_ * hnsw_->size_data_per_element_;
  char* owned = static_cast<char*>(std::malloc(std::max<size_t>(bytes, 1)));
  if (owned == nullptr) return Status::internal("out of memory copying the vector index");
  std::memcpy(owned, hnsw_->data_level0_memory_, bytes);
  hnsw_->data_level0_memory_ = owned;
  for (size_t row = 0; row < internal_of_row_.size(); ++row) hnsw_->label_lookup_[row] = internal_of_row_[row];
  std::vector<std::mutex>(hnsw_->max_elements_).swap(hnsw_->link_list_locks_);
  std::vector<std::mutex>(hnsw_->max_update_element_locks).swap(hnsw_->link_list_update_locks_);
  internal_of_row_.clear();
  mapping_.reset();
  return Status::ok();
}

Status VectorIndex::add(const float* rows, int64_t count, int threads, const std::function<void(int64_t)>& progress) {
  SCCELLO_RETURN_IF_ERROR(own_base_layer());
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
  if (!mapping_) return hnsw_->getDataByLabel<float>(static_cast<hnswlib::labeltype>(id));
  const auto* data = reinterpret_cast<const float*>(hnsw_->getDataByInternalId(internal_of_row_[static_cast<size_t>(id)]));
  return std::vector<float>(data, data + dims_);
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

namespace {

// hnswlib 0.6's file: a header of PODs, the base layer (per element: u32 neighbour count with the
// deleted flag in its third byte, maxM0 u32 neighbour ids, the vector, the u64 label), then per
// element a u32 byte size and the upper layers' lists (per level: u32 count, maxM u32 ids).
struct HnswHeader {
  size_t offset_level0, max_elements, count, size_per_element, label_offset, offset_data;
  int max_level;
  uint32_t entry_point;
  size_t max_m, max_m0, m;
  double mult;
  size_t ef_construction;
};

bool read_header(ByteCursor& c, HnswHeader* h) {
  return c.get(&h->offset_level0) && c.get(&h->max_elements) && c.get(&h->count) && c.get(&h->size_per_element) &&
         c.get(&h->label_offset) && c.get(&h->offset_data) && c.get(&h->max_level) && c.get(&h->entry_point) &&
         c.get(&h->max_m) && c.get(&h->max_m0) && c.get(&h->m) && c.get(&h->mult) && c.get(&h->ef_construction);
}

// The layout this build writes for `dims` floats; anything else is not our file.
std::string check_header(const HnswHeader& h, int64_t dims) {
  const size_t links0 = h.max_m0 * sizeof(uint32_t) + sizeof(uint32_t);
  if (h.m == 0 || h.m > 4096 || h.max_m != h.m || h.max_m0 != 2 * h.m) return "graph degree fields";
  if (h.offset_level0 != 0 || h.offset_data != links0 || h.label_offset != links0 + static_cast<size_t>(dims) * sizeof(float) ||
      h.size_per_element != h.label_offset + sizeof(hnswlib::labeltype))
    return "element layout (not " + std::to_string(dims) + " dims)";
  if (h.count == 0 || h.count > h.max_elements || h.count > (size_t{1} << 32) - 1) return "element count";
  if (h.entry_point >= h.count || h.max_level < 0 || h.max_level > 64) return "entry point or top level";
  if (!(h.mult > 0) || !std::isfinite(h.mult)) return "level multiplier";
  return "";
}

// One neighbour list: count <= cap, not marked deleted, every id < count of elements.
bool list_ok(const char* list, size_t cap, size_t elements) {
  uint32_t header;
  std::memcpy(&header, list, sizeof header);
  const uint32_t n = header & 0xFFFFu;    // hnswlib's count: the low 16 bits
  if (n > cap || (header >> 16) != 0) return false;  // byte 2 is the deleted mark: never set here
  for (uint32_t j = 0; j < n; ++j) {
    uint32_t id;
    std::memcpy(&id, list + sizeof(uint32_t) * (1 + j), sizeof id);
    if (id >= elements) return false;
  }
  return true;
}

}  // namespace

Result<VectorIndex> VectorIndex::load(const std::string& path, int64_t dims, HnswParams params,
                                      int64_t expected_rows) {
  VectorIndex index(dims, params);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::not_found("the index file " + path + " is missing: rebuild the index (sccello index build)");
  struct stat st {};
  auto mapping = std::make_unique<Mapping>();
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    mapping->size = static_cast<size_t>(st.st_size);
    mapping->base = ::mmap(nullptr, mapping->size, PROT_READ, MAP_PRIVATE, fd, 0);
  }
  ::close(fd);
  const std::string corrupt = "the index file " + path + " is corrupt (";
  const std::string rebuild = "): drop and rebuild the index (sccello index drop NAME, then index build)";
  if (mapping->base == MAP_FAILED) return Status::corruption(corrupt + "empty or unreadable" + rebuild);
  ByteCursor c(mapping->bytes(), mapping->size);
  HnswHeader h{};
  if (!read_header(c, &h)) return Status::corruption(corrupt + "truncated header" + rebuild);
  if (std::string bad = check_header(h, dims); !bad.empty()) return Status::corruption(corrupt + bad + rebuild);
  if (expected_rows >= 0 && h.count != static_cast<size_t>(expected_rows))
    return Status::corruption("the index file " + path + " does not match its record (" + std::to_string(h.count) +
                              " rows, expected " + std::to_string(expected_rows) + "): drop and rebuild the index");
  const size_t base_bytes = h.count * h.size_per_element;
  if (base_bytes / h.size_per_element != h.count) return Status::corruption(corrupt + "element count" + rebuild);
  const char* base = c.here();
  if (!c.skip(base_bytes)) return Status::corruption(corrupt + "truncated base layer" + rebuild);
  // The base layer: neighbour lists in range, labels a permutation of the rows.
  std::vector<uint32_t> internal_of_row(h.count, UINT32_MAX);
  for (size_t i = 0; i < h.count; ++i) {
    const char* element = base + i * h.size_per_element;
    hnswlib::labeltype label;
    std::memcpy(&label, element + h.label_offset, sizeof label);
    if (!list_ok(element, h.max_m0, h.count) || label >= h.count || internal_of_row[label] != UINT32_MAX)
      return Status::corruption(corrupt + "base layer element " + std::to_string(i) + rebuild);
    internal_of_row[label] = static_cast<uint32_t>(i);
  }
  auto hnsw = std::make_unique<hnswlib::HierarchicalNSW<float>>(index.space_.get());
  hnswlib::HierarchicalNSW<float>& g = *hnsw;
  g.max_elements_ = h.count;  // the mapping holds exactly the stored elements
  g.cur_element_count = 0;    // raised as the upper layers are read (the destructor's bound)
  g.size_data_per_element_ = h.size_per_element;
  g.num_deleted_ = 0;
  g.M_ = h.m;
  g.maxM_ = h.max_m;
  g.maxM0_ = h.max_m0;
  g.ef_construction_ = h.ef_construction;
  g.mult_ = h.mult;
  g.revSize_ = 1.0 / h.mult;
  g.maxlevel_ = h.max_level;
  g.enterpoint_node_ = h.entry_point;
  g.size_links_level0_ = h.max_m0 * sizeof(uint32_t) + sizeof(uint32_t);
  g.size_links_per_element_ = h.max_m * sizeof(uint32_t) + sizeof(uint32_t);
  g.offsetData_ = h.offset_data;
  g.offsetLevel0_ = h.offset_level0;
  g.label_offset_ = h.label_offset;
  g.data_size_ = index.space_->get_data_size();
  g.fstdistfunc_ = index.space_->get_dist_func();
  g.dist_func_param_ = index.space_->get_dist_func_param();
  g.data_level0_memory_ = const_cast<char*>(base);  // PROT_READ: hnswlib's search only reads it
  g.linkLists_ = static_cast<char**>(std::calloc(h.count, sizeof(char*)));
  g.element_levels_.assign(h.count, 0);
  g.visited_list_pool_ = new hnswlib::VisitedListPool(1, static_cast<int>(h.count));
  g.ef_ = 10;  // the per-element insert locks come with own_base_layer(): searches take none
  index.hnsw_ = std::move(hnsw);
  index.mapping_ = std::move(mapping);  // from here the destructor leaves the base layer alone
  if (g.linkLists_ == nullptr) return Status::internal("out of memory opening the index file " + path);
  // Upper layers: per element its byte size, whole levels, each list in range.
  for (size_t i = 0; i < h.count; ++i) {
    uint32_t bytes = 0;
    if (!c.get(&bytes) || bytes % g.size_links_per_element_ != 0 || bytes / g.size_links_per_element_ > size_t(h.max_level))
      return Status::corruption(corrupt + "upper layers of element " + std::to_string(i) + rebuild);
    const int levels = static_cast<int>(bytes / g.size_links_per_element_);
    g.cur_element_count = i + 1;
    if (levels == 0) continue;
    const char* lists = c.here();
    if (!c.skip(bytes)) return Status::corruption(corrupt + "truncated upper layers" + rebuild);
    for (int l = 0; l < levels; ++l)
      if (!list_ok(lists + l * g.size_links_per_element_, h.max_m, h.count))
        return Status::corruption(corrupt + "upper layer list of element " + std::to_string(i) + rebuild);
    g.linkLists_[i] = static_cast<char*>(std::malloc(bytes));
    if (g.linkLists_[i] == nullptr) return Status::internal("out of memory opening the index file " + path);
    std::memcpy(g.linkLists_[i], lists, bytes);
    g.element_levels_[i] = levels;
  }
  if (!c.at_end()) return Status::corruption(corrupt + "trailing bytes" + rebuild);
  if (g.element_levels_[h.entry_point] != h.max_level) return Status::corruption(corrupt + "entry point level" + rebuild);
  index.internal_of_row_ = std::move(internal_of_row);
  return index;
}

}  // namespace sccello
