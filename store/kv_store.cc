#include "store/kv_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iostream>

#include "store/text_lines.h"

namespace sccello {

// Backend factories, defined in rocksdb_kv_store.cc and sqlite_kv_store.cc.
Result<std::unique_ptr<KvStore>> open_rocksdb_kv_store(const std::string& path, const KvOpenOptions& options);
Result<std::unique_ptr<KvStore>> open_sqlite_kv_store(const std::string& path, const KvOpenOptions& options);

std::string backend_name(Backend backend) {
  switch (backend) {
    case Backend::kAuto: return "auto";
    case Backend::kRocksDb: return "rocksdb";
    case Backend::kSqlite: return "sqlite";
  }
  return "?";
}

Result<Backend> parse_backend(std::string_view name) {
  if (name == "rocksdb") return Backend::kRocksDb;
  if (name == "sqlite") return Backend::kSqlite;
  if (name == "auto" || name.empty()) return Backend::kAuto;
  return Status::invalid("unknown backend '" + std::string(name) + "'; valid backends: rocksdb, sqlite");
}

std::string prefix_successor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty()) {
    auto& c = reinterpret_cast<unsigned char&>(s.back());
    if (c != 0xff) {
      ++c;
      return s;
    }
    s.pop_back();
  }
  return s;
}

namespace {

// The default SortedLoader: write_unlogged batches of about batch_bytes, flush() at the end.
class BatchLoader final : public SortedLoader {
 public:
  BatchLoader(KvStore& kv, size_t batch_bytes) : kv_(kv), batch_bytes_(batch_bytes) {}
  Status add(std::string_view key, std::string_view value) override {
    if (!last_.empty() && key <= last_)
      return Status::invalid("sorted load into '" + kv_.path() + "': keys out of order");
    last_.assign(key);
    batch_.put(key, value);
    return batch_.approximate_bytes() >= batch_bytes_ ? write() : Status::ok();
  }
  Status finish() override {
    SCCELLO_RETURN_IF_ERROR(write());
    return kv_.flush();
  }

 private:
  Status write() {
    if (batch_.empty()) return Status::ok();
    Status st = kv_.write_unlogged(batch_);
    batch_.clear();
    return st;
  }
  KvStore& kv_;
  size_t batch_bytes_;
  WriteBatch batch_;
  std::string last_;
};

}  // namespace

Result<std::unique_ptr<SortedLoader>> KvStore::sorted_loader(size_t batch_bytes, bool) {
  return std::unique_ptr<SortedLoader>(new BatchLoader(*this, batch_bytes));
}

Status KvStore::put(std::string_view key, std::string_view value) {
  WriteBatch batch;
  batch.put(key, value);
  return write(batch);
}

Status KvStore::del(std::string_view key) {
  WriteBatch batch;
  batch.del(key);
  return write(batch);
}

namespace {
bool is_sqlite_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char header[16] = {0};
  in.read(header, sizeof header);
  return in.gcount() == 16 && std::memcmp(header, "SQLite format 3", 16) == 0;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

int64_t file_size(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
}

std::vector<std::string> dir_entries(const std::string& path) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(path.c_str())) {
    while (dirent* e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) out.emplace_back(e->d_name);
    ::closedir(d);
  }
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// Files RocksDB writes while creating a database, before CURRENT names its MANIFEST: no data.
bool is_startup_file(const std::string& dir, const std::string& name) {
  std::string_view n = name;
  if (n == "LOCK" || n == "IDENTITY" || n == "LOG" || n.rfind("LOG.old.", 0) == 0) return true;
  if (n.rfind("MANIFEST-", 0) == 0 || n.rfind("OPTIONS-", 0) == 0) return true;
  if (ends_with(n, ".dbtmp")) return true;
  if (ends_with(n, ".log") && all_digits(n.substr(0, n.size() - 4))) return file_size(dir + "/" + name) == 0;
  return false;
}

// What a directory without CURRENT holds: nothing, only RocksDB start-up files, or other things.
enum class DirState { kEmpty, kInterruptedRocksDb, kOther };

DirState classify_dir(const std::string& path, std::string* example) {
  std::vector<std::string> names = dir_entries(path);
  if (names.empty()) return DirState::kEmpty;
  for (const std::string& n : names)
    if (!is_startup_file(path, n)) {
      *example = n;
      return DirState::kOther;
    }
  return DirState::kInterruptedRocksDb;
}

// True when another process holds RocksDB's lock on `dir`/LOCK (a creation in progress).
bool rocksdb_lock_held(const std::string& dir) {
  int fd = ::open((dir + "/LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  bool held = ::fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
  ::close(fd);
  return held;
}

// Removes the start-up files of an interrupted creation so that RocksDB creates afresh.
Status clear_interrupted_rocksdb(const std::string& path, const KvOpenOptions& options) {
  if (rocksdb_lock_held(path))
    return Status::busy("store '" + path + "' is being created by another sccello process; wait for it, then retry");
  for (const std::string& n : dir_entries(path))
    if (n != "LOCK" && ::unlink((path + "/" + n).c_str()) != 0)
      return Status::io_error("store '" + path + "' was left half-created and '" + n + "' cannot be removed (" +
                              std::strerror(errno) + "); delete the directory and retry");
  notify(options, "store '" + path + "' was left half-created by an interrupted sccello (no CURRENT file, no data); "
                  "created it afresh");
  return Status::ok();
}
}  // namespace

void notify(const KvOpenOptions& options, const std::string& note) {
  if (options.on_notice) options.on_notice(note);
  else std::cerr << "sccello: note: " << note << "\n";
}

Result<Backend> detect_backend(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Backend::kAuto;
  if (S_ISDIR(st.st_mode)) {
    if (exists(path + "/CURRENT")) return Backend::kRocksDb;
    std::string example;
    DirState state = classify_dir(path, &example);
    if (state != DirState::kOther) return Backend::kAuto;
    return Status::invalid("store path '" + path + "' is a non-empty directory that is not a sccello store (no "
                           "RocksDB CURRENT file; it holds e.g. '" + example + "'); pass an empty or new path, or "
                           "the path of an existing sccello store");
  }
  if (st.st_size == 0) return Backend::kSqlite;  // an empty file: treat as a new SQLite store
  if (is_sqlite_file(path)) return Backend::kSqlite;
  return Status::invalid("store path '" + path +
                         "' is a file that is not a SQLite database; pass the path of a sccello "
                         "store, or a new path to create one");
}

Result<std::unique_ptr<KvStore>> open_kv_store(const std::string& path, const KvOpenOptions& options) {
  if (path.empty()) return Status::invalid("empty store path; pass --store PATH or set SCCELLO_STORE");
  SCCELLO_ASSIGN_OR_RETURN(Backend found, detect_backend(path));
  Backend chosen = options.backend;
  std::string unused;
  bool interrupted = found == Backend::kAuto && dir_exists(path) &&
                     classify_dir(path, &unused) == DirState::kInterruptedRocksDb;
  if (found == Backend::kAuto) {
    if (interrupted && (options.read_only || !options.create_if_missing))
      return Status::not_found("store '" + path + "' was left half-created by an interrupted sccello (no CURRENT "
                               "file, no data); open it for writing (e.g. `sccello ontology import FILE`) to "
                               "create it afresh, or delete the directory");
    if (options.read_only || !options.create_if_missing)
      return Status::not_found("no store at '" + path +
                               "'; create one with `sccello ontology import FILE --store " + path + "`");
    if (chosen == Backend::kAuto) chosen = Backend::kRocksDb;
    if (dir_exists(path) && chosen == Backend::kSqlite)
      return Status::invalid("store path '" + path + "' is a directory; a SQLite store is a file: pass a file path");
    if (interrupted) SCCELLO_RETURN_IF_ERROR(clear_interrupted_rocksdb(path, options));
  } else if (chosen == Backend::kAuto) {
    chosen = found;
  } else if (chosen != found) {
    return Status::invalid("store '" + path + "' is a " + backend_name(found) + " store but --backend " +
                           backend_name(chosen) + " was requested; drop --backend or use another path");
  }
  if (chosen == Backend::kRocksDb) return open_rocksdb_kv_store(path, options);
  return open_sqlite_kv_store(path, options);
}

}  // namespace sccello
