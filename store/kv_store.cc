#include "store/kv_store.h"

#include <sys/stat.h>

#include <cstring>
#include <fstream>

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
}  // namespace

Result<Backend> detect_backend(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Backend::kAuto;
  if (S_ISDIR(st.st_mode)) {
    if (exists(path + "/CURRENT")) return Backend::kRocksDb;
    return Status::invalid("store path '" + path +
                           "' is a directory but not a RocksDB store (no CURRENT file); "
                           "pass an empty or new path, or the path of an existing sccello store");
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
  if (found == Backend::kAuto) {
    if (options.read_only || !options.create_if_missing)
      return Status::not_found("no store at '" + path +
                               "'; create one with `sccello ontology import FILE --store " + path + "`");
    if (chosen == Backend::kAuto) chosen = Backend::kRocksDb;
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
