// Store: an opened sccello store (a KvStore plus its format check). Domain views sit on top of
// it and do not own it: ReleaseStore (ontology releases, store/release_store.h), Corpus (tokenized
// cells = the cell-to-term mappings, store/corpus.h) and TargetCache (derived rows, store/target_cache.h).
// Thread-safety as KvStore: concurrent reads, one writing thread.
#pragma once

#include <memory>
#include <string>

#include "graph/status.h"
#include "store/kv_store.h"

namespace sccello {

struct StoreOptions {
  std::string path = "sccello-store";  // a directory (RocksDB) or a file (SQLite)
  Backend backend = Backend::kAuto;     // detected from what is at `path`; new stores: RocksDB
  bool read_only = false;               // read-only: no lock, no creation, no writes
};

class Store {
 public:
  // The on-disk format this build reads and writes. Opening a store with another value is an
  // error, never a silent misread.
  static constexpr int kFormatVersion = 1;

  // Opens or creates the store; writes the format record on creation. A database that holds
  // keys but no format record is not a sccello store and is refused, never adopted.
  static Result<std::unique_ptr<Store>> open(const StoreOptions& options);

  KvStore& kv() { return *kv_; }
  const KvStore& kv() const { return *kv_; }
  const std::string& path() const { return kv_->path(); }
  Backend backend() const { return kv_->backend(); }
  bool read_only() const { return kv_->read_only(); }

 private:
  explicit Store(std::unique_ptr<KvStore> kv) : kv_(std::move(kv)) {}
  Status check_or_write_format();

  std::unique_ptr<KvStore> kv_;
};

// Path from the environment: SCCELLO_STORE, else "sccello-store".
std::string default_store_path();

}  // namespace sccello
