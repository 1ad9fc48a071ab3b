// TargetCache: derived target rows kept in the store's `cache/` area, keyed by (release content
// hash, provider slot = describe() without its version, term): one raw similarity row (f64) and
// one compact level row (u8) per source term. Each value records the full describe(): an entry
// written by another provider version is reported stale, never returned. Does not own the Store;
// same thread-safety as KvStore.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "graph/ontology.h"
#include "graph/status.h"

namespace sccello {

class Store;

struct TargetCacheKey {
  std::string content_hash;  // ReleaseInfo::content_hash of the release the rows derive from
  std::string describe;      // TargetProvider::describe(), e.g. "ppr/1:alpha=0.9,..."
  size_t row_length = 0;     // values per row (terms of the graph)
};

enum class CacheLookup { kHit, kMiss, kStale };

class TargetCache {
 public:
  explicit TargetCache(Store& store) : store_(&store) {}

  // kHit fills `row`; kStale: an entry exists for this slot but from another describe() or shape.
  Result<CacheLookup> get(const TargetCacheKey& key, const TermId& term, std::vector<double>* row) const;
  // Writes rows (row-major, terms.size() x key.row_length) in one atomic batch.
  Status put(const TargetCacheKey& key, const std::vector<TermId>& terms, const double* rows);
  // Same, plus the level rows (row-major u8, same shape; may be null) in the same batch.
  Status put(const TargetCacheKey& key, const std::vector<TermId>& terms, const double* rows,
             const uint8_t* levels);

  // Level rows: the provider's integer level of the term with every term of the graph, read
  // without decoding raw values (a fresh provider's level matrix). Same hit/miss/stale rules.
  Result<CacheLookup> get_levels(const TargetCacheKey& key, const TermId& term,
                                 std::vector<uint8_t>* row) const;
  // Visits the slot's level rows in one prefix scan (key order): `want(term)` says whether to
  // decode one; `got(term, kHit|kStale, row)` then receives it (row filled on kHit).
  using LevelWant = std::function<bool(std::string_view term)>;
  using LevelGot = std::function<void(std::string_view term, CacheLookup found, std::vector<uint8_t>* row)>;
  Status scan_levels(const TargetCacheKey& key, const LevelWant& want, const LevelGot& got) const;
  // Writes level rows only (row-major, terms.size() x key.row_length) in one atomic batch.
  Status put_levels(const TargetCacheKey& key, const std::vector<TermId>& terms, const uint8_t* levels);
  // Deletes every cached row of one release (all providers).
  Status drop_release(const std::string& content_hash);

  // "cache/targets/<hash>/<slot>/<term>", slot = describe() with "/<version>" removed.
  static std::string key_of(const TargetCacheKey& key, const TermId& term);
  static std::string slot_of(const std::string& describe);
  // "cache/targets/<hash>/<slot>/#levels/<term>": a slot's level rows are contiguous (one
  // scan) and apart from its raw rows. Values carry their own magic and describe(), so even a
  // contrived slot whose keys collide with these reads as stale, never as another's data.
  static std::string level_key_of(const TargetCacheKey& key, const TermId& term);
  // Value codecs (exposed for tests that plant stale entries). Level rows are stored sparsely:
  // the most common level, then (index gap, level) for every other entry.
  static std::string encode(const std::string& describe, const double* row, size_t n);
  static std::string encode_levels(const std::string& describe, const uint8_t* row, size_t n);

 private:
  Store* store_;
};

}  // namespace sccello
