// KvStore: the ordered byte key-value space every sccello store is built on, with two
// backends (RocksDB: a directory, the default; SQLite: one file). Domain records (releases,
// terms, corpus cells, target caches) are encoded over it by store/ classes; see docs/STORE.md
// for the key layout. One WriteBatch is applied atomically. A KvStore is safe to read from
// several threads; writes must come from one thread. A writable store holds an exclusive
// process lock: a second writer gets Status::busy; read-only opens never block.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "graph/status.h"

namespace sccello {

// Ordered list of mutations applied all-or-nothing by KvStore::write.
class WriteBatch {
 public:
  enum class Op { kPut, kDelete, kDeletePrefix };
  struct Mutation {
    Op op;
    std::string key;
    std::string value;
  };

  void put(std::string_view key, std::string_view value) {
    mutations_.push_back({Op::kPut, std::string(key), std::string(value)});
    bytes_ += key.size() + value.size();
  }
  void del(std::string_view key) { mutations_.push_back({Op::kDelete, std::string(key), {}}); }
  // Deletes every key that starts with `prefix`.
  void delete_prefix(std::string_view prefix) {
    mutations_.push_back({Op::kDeletePrefix, std::string(prefix), {}});
  }
  const std::vector<Mutation>& mutations() const { return mutations_; }
  size_t approximate_bytes() const { return bytes_; }
  bool empty() const { return mutations_.empty(); }
  void clear() { mutations_.clear(); bytes_ = 0; }

 private:
  std::vector<Mutation> mutations_;
  size_t bytes_ = 0;
};

// Writes keys in strictly ascending order that nothing refers to yet, like write_unlogged but in
// bulk: the RocksDB backend writes them straight into a table file that finish() ingests (no
// memtable, no flush later, memory bounded by one block, whatever the number of keys); other
// backends gather them into write_unlogged batches. Dropped without finish(), what it wrote is
// left as unreferenced keys or an unreferenced file, never half a table.
class SortedLoader {
 public:
  virtual ~SortedLoader() = default;
  // REQUIRES: key greater than every key added before (an error otherwise).
  virtual Status add(std::string_view key, std::string_view value) = 0;
  // Makes every key added visible and durable.
  virtual Status finish() = 0;
};

// Visitor for scans: return false to stop early.
using ScanFn = std::function<bool(std::string_view key, std::string_view value)>;

enum class Backend { kAuto, kRocksDb, kSqlite };

std::string backend_name(Backend backend);
// "rocksdb" | "sqlite" | "auto"; anything else is an error listing the valid names.
Result<Backend> parse_backend(std::string_view name);

struct KvOpenOptions {
  Backend backend = Backend::kAuto;  // kAuto: detect from what is at the path; create RocksDB
  bool read_only = false;            // read-only opens neither lock nor create
  bool create_if_missing = true;     // ignored when read_only
  // Told, in one sentence naming the path, what opening repaired: a RocksDB directory whose
  // creation was interrupted (recreated empty), a SQLite hot journal left by a killed writer
  // (rolled back). Unset: printed to stderr as "sccello: note: ...".
  std::function<void(const std::string&)> on_notice;
};

// Calls options.on_notice, or prints the note to stderr.
void notify(const KvOpenOptions& options, const std::string& note);

class KvStore {
 public:
  virtual ~KvStore() = default;

  // NotFound when the key is absent.
  virtual Status get(std::string_view key, std::string* value) const = 0;
  // Applies every mutation of `batch` atomically and durably.
  virtual Status write(const WriteBatch& batch) = 0;
  // Applies `batch` without making it durable on its own (RocksDB: no WAL): for records nothing
  // refers to yet, which a later flush() makes durable before a write() refers to them. A crash
  // before that flush may lose them. Default: write().
  virtual Status write_unlogged(const WriteBatch& batch) { return write(batch); }
  // Makes every earlier write_unlogged() durable. Default: nothing to do.
  virtual Status flush() { return Status::ok(); }
  // A bulk writer of ascending keys (see SortedLoader); `batch_bytes` sizes the batches of
  // backends that write through write_unlogged. Default: those batches. `compress` false: the
  // values are dense already (tokenized cell records: LZ4 saved 2% of their bytes at 6% of an
  // import's CPU time), and a backend that compresses may store them as they are.
  virtual Result<std::unique_ptr<SortedLoader>> sorted_loader(size_t batch_bytes, bool compress = true);
  // Visits keys with `prefix`, ascending bytewise, starting at the first key >= `start`
  // (an empty `start` means the prefix itself).
  virtual Status scan(std::string_view prefix, const ScanFn& fn,
                      std::string_view start = {}) const = 0;

  virtual Backend backend() const = 0;
  virtual bool read_only() const = 0;
  virtual const std::string& path() const = 0;

  // Convenience over write().
  Status put(std::string_view key, std::string_view value);
  Status del(std::string_view key);
};

// Opens (or creates) the key-value space at `path`. Errors name the path and what to do:
// missing path in read-only mode, a path holding something that is not a store (a non-empty
// directory that is not RocksDB, a SQLite database with tables of its own), a backend that
// disagrees with what is there, a lock held by another writer, a read-only directory. An empty
// directory is a new store. A directory holding only the start-up files of a RocksDB creation
// that was interrupted (no CURRENT, no data) is recreated when opened for writing.
Result<std::unique_ptr<KvStore>> open_kv_store(const std::string& path, const KvOpenOptions& options);

// What is at `path`: kRocksDb, kSqlite, or kAuto when nothing is there yet (no path, an empty
// directory, or a RocksDB directory whose creation was interrupted: see open_kv_store).
Result<Backend> detect_backend(const std::string& path);

// The smallest string greater than every string starting with `prefix` ("" if none).
std::string prefix_successor(std::string_view prefix);

}  // namespace sccello
