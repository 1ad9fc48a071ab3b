// TargetCache: derived target rows (one raw similarity row per source term) kept in the store's
// `cache/` area, keyed by (release content hash, provider slot = describe() without its version,
// term). The value records the full describe(): an entry written by another provider version is
// reported stale, never returned. Does not own the Store; same thread-safety as KvStore.
#pragma once

#include <string>
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
  // Deletes every cached row of one release (all providers).
  Status drop_release(const std::string& content_hash);

  // "cache/targets/<hash>/<slot>/<term>", slot = describe() with "/<version>" removed.
  static std::string key_of(const TargetCacheKey& key, const TermId& term);
  static std::string slot_of(const std::string& describe);
  // Value codec (exposed for tests that plant stale entries).
  static std::string encode(const std::string& describe, const double* row, size_t n);

 private:
  Store* store_;
};

}  // namespace sccello
