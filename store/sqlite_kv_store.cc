// SQLite backend of KvStore: one file holding a single WITHOUT ROWID table kv(k, v) whose BLOB
// keys sort bytewise like RocksDB's. Writers take an exclusive flock on the file for the
// lifetime of the handle, so a second writer fails fast instead of waiting.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "store/kv_store.h"

namespace sccello {
namespace {

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() const { return stmt_; }
  void bind(int i, std::string_view blob) {
    sqlite3_bind_blob(stmt_, i, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

std::string_view column_blob(sqlite3_stmt* stmt, int i) {
  const void* p = sqlite3_column_blob(stmt, i);
  int n = sqlite3_column_bytes(stmt, i);
  return p ? std::string_view(static_cast<const char*>(p), n) : std::string_view();
}

class SqliteKvStore final : public KvStore {
 public:
  SqliteKvStore(sqlite3* db, int lock_fd, std::string path, bool read_only)
      : db_(db), lock_fd_(lock_fd), path_(std::move(path)), read_only_(read_only) {}
  ~SqliteKvStore() override {
    sqlite3_close_v2(db_);
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }

  Status get(std::string_view key, std::string* value) const override {
    std::lock_guard<std::recursive_mutex> guard(mu_);
    Statement stmt(db_, "SELECT v FROM kv WHERE k = ?1");
    if (!stmt.ok()) return error("get");
    stmt.bind(1, key);
    int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE) return Status::not_found("key '" + std::string(key) + "'");
    if (rc != SQLITE_ROW) return error("get");
    std::string_view v = column_blob(stmt.get(), 0);
    value->assign(v.data(), v.size());
    return Status::ok();
  }

  Status write(const WriteBatch& batch) override {
    if (read_only_) return Status::invalid("store '" + path_ + "' was opened read-only");
    std::lock_guard<std::recursive_mutex> guard(mu_);
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) return error("begin");
    Status st = apply(batch);
    if (st.is_ok() && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) st = error("commit");
    if (!st.is_ok()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  }

  Status scan(std::string_view prefix, const ScanFn& fn, std::string_view start) const override {
    std::lock_guard<std::recursive_mutex> guard(mu_);
    std::string upper = prefix_successor(prefix);
    Statement stmt(db_, upper.empty() ? "SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k"
                                      : "SELECT k, v FROM kv WHERE k >= ?1 AND k < ?2 ORDER BY k");
    if (!stmt.ok()) return error("scan");
    stmt.bind(1, start.empty() || start < prefix ? prefix : start);
    if (!upper.empty()) stmt.bind(2, upper);
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      std::string_view key = column_blob(stmt.get(), 0);
      if (key.substr(0, prefix.size()) != prefix) break;
      if (!fn(key, column_blob(stmt.get(), 1))) return Status::ok();
    }
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? Status::ok() : error("scan");
  }

  Backend backend() const override { return Backend::kSqlite; }
  bool read_only() const override { return read_only_; }
  const std::string& path() const override { return path_; }

 private:
  Status apply(const WriteBatch& batch) {
    Statement put(db_, "INSERT OR REPLACE INTO kv(k, v) VALUES (?1, ?2)");
    Statement del(db_, "DELETE FROM kv WHERE k = ?1");
    Statement del_range(db_, "DELETE FROM kv WHERE k >= ?1 AND k < ?2");
    if (!put.ok() || !del.ok() || !del_range.ok()) return error("prepare");
    for (const auto& m : batch.mutations()) {
      Statement* stmt = nullptr;
      if (m.op == WriteBatch::Op::kPut) {
        stmt = &put;
        put.bind(1, m.key);
        put.bind(2, m.value);
      } else if (m.op == WriteBatch::Op::kDelete) {
        stmt = &del;
        del.bind(1, m.key);
      } else {
        stmt = &del_range;
        std::string end = prefix_successor(m.key);
        del_range.bind(1, m.key);
        del_range.bind(2, end.empty() ? std::string_view("\xff\xff\xff\xff\xff\xff\xff\xff", 8) : end);
      }
      if (sqlite3_step(stmt->get()) != SQLITE_DONE) return error("write");
      sqlite3_reset(stmt->get());
    }
    return Status::ok();
  }

  Status error(const char* what) const {
    std::string msg = sqlite3_errmsg(db_);
    int code = sqlite3_errcode(db_);
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
      return Status::busy("store '" + path_ + "' is busy (" + msg + "); wait for the other writer and retry");
    if (code == SQLITE_READONLY || code == SQLITE_CANTOPEN || code == SQLITE_PERM)
      return Status::io_error("cannot write store '" + path_ + "' (" + msg + "); check permissions or choose another --store");
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
      return Status::corruption("store '" + path_ + "' is corrupt (" + msg + ")");
    if (code == SQLITE_FULL) return Status::io_error("disk full while writing store '" + path_ + "'");
    return Status::io_error(std::string(what) + " failed on store '" + path_ + "': " + msg);
  }

  sqlite3* db_;
  int lock_fd_;
  std::string path_;
  bool read_only_;
  mutable std::recursive_mutex mu_;
};

Result<int> take_writer_lock(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return Status::io_error("cannot open store '" + path + "' for writing: " + std::strerror(errno) +
                            "; check that the directory exists and is writable");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Status::busy("store '" + path + "' is locked by another writer; wait for the other sccello "
                        "process to finish, then retry");
  }
  return fd;
}

bool has_hot_journal(const std::string& path) {
  struct stat st;
  return ::stat((path + "-journal").c_str(), &st) == 0 && st.st_size > 0;
}

// Runs `sql` on a fresh connection; "" on success, else SQLite's message.
std::string exec_once(const std::string& path, int flags, const char* sql) {
  sqlite3* db = nullptr;
  std::string msg;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    char* err = nullptr;
    rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) msg = err ? err : "unknown error";
    sqlite3_free(err);
  } else {
    msg = db ? sqlite3_errmsg(db) : "out of memory";
  }
  sqlite3_close_v2(db);
  return msg;
}

// A writer killed mid-transaction leaves a hot journal that a read-only connection cannot roll
// back (SQLITE_READONLY_ROLLBACK). Rolls it back through a short read-write connection under
// the writer lock; a journal whose writer is alive (lock held) is left to it.
Status roll_back_hot_journal(const std::string& path, const KvOpenOptions& open) {
  if (!has_hot_journal(path)) return Status::ok();
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return Status::io_error("store '" + path + "' holds an unfinished write of a killed writer (hot journal '" + path +
                            "-journal') that only a user who may write the store can roll back (" +
                            std::strerror(errno) + "); run any write command as that user, then retry");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {  // a live writer owns the journal
    ::close(fd);
    return Status::ok();
  }
  std::string msg = exec_once(path, SQLITE_OPEN_READWRITE, "SELECT 1 FROM kv LIMIT 1");
  ::close(fd);
  if (!msg.empty())
    return Status::corruption("store '" + path + "': cannot roll back the unfinished write of a killed writer (" +
                              msg + ")");
  notify(open, "store '" + path + "': rolled back an unfinished write left by a killed writer (hot journal)");
  return Status::ok();
}

// Refuses a SQLite database with tables other than sccello's kv(k, v): it is not a store.
Status check_sqlite_schema(sqlite3* db, const std::string& path) {
  Statement stmt(db, "SELECT name, type FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name");
  if (!stmt.ok()) return Status::corruption("'" + path + "' is not a usable SQLite database (" + sqlite3_errmsg(db) + ")");
  std::string foreign;
  while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
    std::string name = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
    if (name != "kv") foreign += (foreign.empty() ? "" : ", ") + name;
  }
  if (foreign.empty()) return Status::ok();
  return Status::invalid("'" + path + "' is a SQLite database but not a sccello store (it has tables or indexes: " +
                         foreign.substr(0, 200) + "); choose another --store path");
}

}  // namespace

Result<std::unique_ptr<KvStore>> open_sqlite_kv_store(const std::string& path, const KvOpenOptions& open) {
  int lock_fd = -1;
  if (!open.read_only) {
    SCCELLO_ASSIGN_OR_RETURN(lock_fd, take_writer_lock(path));
    if (has_hot_journal(path))
      notify(open, "store '" + path + "': rolled back an unfinished write left by a killed writer (hot journal)");
  } else {
    SCCELLO_RETURN_IF_ERROR(roll_back_hot_journal(path, open));
  }
  int flags = open.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    if (lock_fd >= 0) ::close(lock_fd);
    return Status::io_error("cannot open SQLite store '" + path + "': " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  if (Status st = check_sqlite_schema(db, path); !st.is_ok()) {
    sqlite3_close_v2(db);
    if (lock_fd >= 0) ::close(lock_fd);
    return st;
  }
  const char* setup = open.read_only ? "SELECT 1 FROM kv LIMIT 1"
                                     : "PRAGMA synchronous=FULL;"
                                       "CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID";
  char* err = nullptr;
  if (sqlite3_exec(db, setup, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    sqlite3_close_v2(db);
    if (lock_fd >= 0) ::close(lock_fd);
    return Status::corruption("'" + path + "' is not a usable sccello SQLite store (" + msg + ")");
  }
  return std::unique_ptr<KvStore>(new SqliteKvStore(db, lock_fd, path, open.read_only));
}

}  // namespace sccello
