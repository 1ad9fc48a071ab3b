// RocksDB backend of KvStore: one directory, RocksDB's own LOCK file makes writers exclusive.
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>

#include "store/kv_store.h"

namespace sccello {
namespace {

rocksdb::Slice slice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

Status from_rocks(const rocksdb::Status& s, const std::string& path, const char* what) {
  if (s.ok()) return Status::ok();
  std::string msg = s.ToString();
  if (msg.find("lock") != std::string::npos || msg.find("Resource temporarily unavailable") != std::string::npos)
    return Status::busy("store '" + path + "' is locked by another writer (" + msg +
                        "); wait for the other sccello process to finish, then retry");
  if (s.IsNotFound()) return Status::not_found(std::string(what) + " in store '" + path + "': " + msg);
  if (s.IsCorruption()) return Status::corruption("store '" + path + "' is corrupt (" + msg + ")");
  if (msg.find("Permission denied") != std::string::npos || msg.find("Read-only") != std::string::npos)
    return Status::io_error("cannot write store '" + path + "' (" + msg +
                            "); check the directory's permissions or choose another --store");
  return Status::io_error(std::string(what) + " failed for store '" + path + "': " + msg);
}

// Table files being written by SstLoaders live here until ingested; a killed writer's leftovers
// are removed by the next writable open (nothing refers to them).
std::string ingest_dir(const std::string& path) { return path + "/sccello-ingest"; }

// How a table file is written: the kernel is asked to start writing it back every megabyte
// (sync_file_range), so that the fdatasync before it is ingested waits for the last megabyte
// only; a 50k-cell import's 100 MB file waited ~40 ms there.
rocksdb::EnvOptions table_env_options() {
  rocksdb::EnvOptions env;
  env.bytes_per_sync = 1 << 20;
  return env;
}

// SortedLoader of the RocksDB backend: one table file written with SstFileWriter (the store's
// own options: LZ4 unless the caller says the values do not compress, bloom filters) and
// ingested by finish(); the file moves into the store.
class SstLoader final : public SortedLoader {
 public:
  SstLoader(rocksdb::DB* db, const rocksdb::Options& options, std::string store_path)
      : db_(db),
        // the file is ingested right after and read back soon (training): its pages stay cached
        writer_(table_env_options(), options, /*column_family=*/nullptr, /*invalidate_page_cache=*/false),
        store_path_(std::move(store_path)) {}
  ~SstLoader() override { remove_file(); }

  Status open() {
    static std::atomic<uint64_t> counter{0};
    std::filesystem::create_directories(ingest_dir(store_path_), ignored_);
    file_ = ingest_dir(store_path_) + "/" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".sst";
    return from_rocks(writer_.Open(file_), store_path_, "open a table file for import");
  }
  Status add(std::string_view key, std::string_view value) override {
    ++entries_;
    return from_rocks(writer_.Put(slice(key), slice(value)), store_path_, "sorted load");
  }
  Status finish() override {
    if (entries_ == 0) return Status::ok();  // an empty table file cannot be finished; nothing to ingest
    SCCELLO_RETURN_IF_ERROR(from_rocks(writer_.Finish(), store_path_, "finish a table file for import"));
    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;
    Status st = from_rocks(db_->IngestExternalFile({file_}, ingest), store_path_, "ingest the imported table file");
    remove_file();
    return st;
  }

 private:
  // The table file (what ingesting left, or all of it when never ingested), and the folder when
  // empty (another loader's file stays).
  void remove_file() {
    if (file_.empty()) return;
    std::filesystem::remove(file_, ignored_);
    std::filesystem::remove(ingest_dir(store_path_), ignored_);
    file_.clear();
  }
  rocksdb::DB* db_;
  rocksdb::SstFileWriter writer_;
  std::string store_path_, file_;
  int64_t entries_ = 0;
  std::error_code ignored_;
};

class RocksDbKvStore final : public KvStore {
 public:
  RocksDbKvStore(std::unique_ptr<rocksdb::DB> db, std::string path, bool read_only, rocksdb::Options options)
      : db_(std::move(db)), path_(std::move(path)), read_only_(read_only), options_(std::move(options)) {}

  // A writer leaves its memtable in a table file and the WAL empty, so that the next open (every
  // command) does not replay a log: a 50k-cell import left ~35 MB that each later open re-read.
  ~RocksDbKvStore() override {
    if (!read_only_ && db_) {
      rocksdb::FlushOptions flush;
      flush.wait = true;
      db_->Flush(flush);
      db_->Close();
    }
  }

  Status flush() override {
    if (read_only_) return Status::ok();
    rocksdb::FlushOptions options;
    options.wait = true;
    return from_rocks(db_->Flush(options), path_, "flush");
  }

  Status get(std::string_view key, std::string* value) const override {
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), slice(key), value);
    if (s.IsNotFound()) return Status::not_found("key '" + std::string(key) + "'");
    return from_rocks(s, path_, "get");
  }

  Result<std::unique_ptr<SortedLoader>> sorted_loader(size_t, bool compress) override {
    if (read_only_) return Status::invalid("store '" + path_ + "' was opened read-only");
    rocksdb::Options table_options = options_;
    if (!compress) table_options.compression = rocksdb::kNoCompression;
    auto loader = std::make_unique<SstLoader>(db_.get(), table_options, path_);
    SCCELLO_RETURN_IF_ERROR(loader->open());
    return std::unique_ptr<SortedLoader>(std::move(loader));
  }

  Status write(const WriteBatch& batch) override { return apply(batch, /*logged=*/true); }
  Status write_unlogged(const WriteBatch& batch) override { return apply(batch, /*logged=*/false); }

  Status apply(const WriteBatch& batch, bool logged) {
    if (read_only_) return Status::invalid("store '" + path_ + "' was opened read-only");
    rocksdb::WriteBatch wb;
    for (const auto& m : batch.mutations()) {
      switch (m.op) {
        case WriteBatch::Op::kPut: wb.Put(slice(m.key), slice(m.value)); break;
        case WriteBatch::Op::kDelete: wb.Delete(slice(m.key)); break;
        case WriteBatch::Op::kDeletePrefix: {
          std::string end = prefix_successor(m.key);
          wb.DeleteRange(slice(m.key), end.empty() ? rocksdb::Slice("\xff\xff\xff\xff", 4) : slice(end));
          break;
        }
      }
    }
    rocksdb::WriteOptions options;
    options.sync = logged;
    options.disableWAL = !logged;
    return from_rocks(db_->Write(options, &wb), path_, "write");
  }

  Status scan(std::string_view prefix, const ScanFn& fn, std::string_view start) const override {
    std::string upper = prefix_successor(prefix);
    rocksdb::Slice upper_slice(upper);
    rocksdb::ReadOptions options;
    if (!upper.empty()) options.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options));
    std::string_view first = start.empty() || start < prefix ? prefix : start;
    for (it->Seek(slice(first)); it->Valid(); it->Next()) {
      rocksdb::Slice k = it->key();
      std::string_view key(k.data(), k.size());
      if (key.substr(0, prefix.size()) != prefix) break;
      rocksdb::Slice v = it->value();
      if (!fn(key, std::string_view(v.data(), v.size()))) break;
    }
    return from_rocks(it->status(), path_, "scan");
  }

  Backend backend() const override { return Backend::kRocksDb; }
  bool read_only() const override { return read_only_; }
  const std::string& path() const override { return path_; }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::string path_;
  bool read_only_;
  rocksdb::Options options_;
};

rocksdb::Options make_options(const KvOpenOptions& open) {
  rocksdb::Options options;
  options.create_if_missing = !open.read_only && open.create_if_missing;
  options.compression = rocksdb::kLZ4Compression;
  options.max_open_files = 256;
  options.keep_log_file_num = 2;
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

}  // namespace

Result<std::unique_ptr<KvStore>> open_rocksdb_kv_store(const std::string& path, const KvOpenOptions& open) {
  rocksdb::Options options = make_options(open);
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = open.read_only ? rocksdb::DB::OpenForReadOnly(options, path, &raw)
                                     : rocksdb::DB::Open(options, path, &raw);
  if (!s.ok()) return from_rocks(s, path, "open");
  if (!open.read_only) {  // this writer holds the lock: no other writer's table file is in flight
    std::error_code ignored;
    std::filesystem::remove_all(ingest_dir(path), ignored);
  }
  return std::unique_ptr<KvStore>(
      new RocksDbKvStore(std::unique_ptr<rocksdb::DB>(raw), path, open.read_only, std::move(options)));
}

}  // namespace sccello
