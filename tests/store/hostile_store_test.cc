// Stores and imports under hostile conditions (docs/hostile-input.md): what may be adopted as a
// store (empty directory yes; foreign directories and SQLite databases no, left unchanged), a
// RocksDB creation that was interrupted, a SQLite hot journal left by a killed writer, is_a
// cycles and oversized closures refused before anything is written, names that are not UTF-8,
// and a malformed dataset manifest.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "graph/ontology_graph.h"
#include "store/corpus.h"
#include "store/kv_store.h"
#include "store/release_store.h"
#include "store/store.h"

namespace sccello {
namespace {

namespace fs = std::filesystem;

class HostileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sccello_hostile_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "store").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result<std::unique_ptr<KvStore>> open_kv(bool read_only, Backend backend = Backend::kAuto) {
    KvOpenOptions o;
    o.read_only = read_only;
    o.backend = backend;
    o.on_notice = [this](const std::string& n) { notices_.push_back(n); };
    return open_kv_store(path_, o);
  }
  std::unique_ptr<Store> open_store(Backend backend = Backend::kAuto) {
    auto s = Store::open(StoreOptions{path_, backend, false});
    EXPECT_TRUE(s.is_ok()) << s.status().message();
    return s.is_ok() ? std::move(s).value() : nullptr;
  }
  static std::string slurp(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path dir_;
  std::string path_;
  std::vector<std::string> notices_;
};

TEST_F(HostileStoreTest, EmptyDirectoryBecomesANewRocksDbStore) {
  fs::create_directories(path_);
  auto store = open_store();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->backend(), Backend::kRocksDb);
}

TEST_F(HostileStoreTest, ForeignDirectoryIsRefusedAndLeftAlone) {
  fs::create_directories(path_);
  std::ofstream(path_ + "/notes.txt") << "mine\n";
  auto st = Store::open(StoreOptions{path_, Backend::kAuto, false});
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.status().message().find("not a sccello store"), std::string::npos) << st.status().message();
  EXPECT_NE(st.status().message().find("notes.txt"), std::string::npos) << st.status().message();
  EXPECT_EQ(std::distance(fs::directory_iterator(path_), fs::directory_iterator()), 1);
}

// A creation killed before RocksDB wrote CURRENT leaves only start-up files: read-only opens
// say so, a writable open recreates the store and says what it did.
TEST_F(HostileStoreTest, InterruptedRocksDbCreationIsRecreated) {
  { ASSERT_TRUE(open_kv(false, Backend::kRocksDb).is_ok()); }
  fs::remove(path_ + "/CURRENT");
  auto ro = open_kv(true);
  ASSERT_FALSE(ro.is_ok());
  EXPECT_NE(ro.status().message().find("half-created"), std::string::npos) << ro.status().message();
  auto store = Store::open(StoreOptions{path_, Backend::kAuto, false});
  ASSERT_TRUE(store.is_ok()) << store.status().message();
  EXPECT_TRUE(fs::exists(path_ + "/CURRENT"));
  ASSERT_TRUE((*store)->kv().put("k", "v").is_ok());
}

TEST_F(HostileStoreTest, InterruptedCreationNoticeIsReported) {
  { ASSERT_TRUE(open_kv(false, Backend::kRocksDb).is_ok()); }
  fs::remove(path_ + "/CURRENT");
  ASSERT_TRUE(open_kv(false).is_ok());
  ASSERT_EQ(notices_.size(), 1u);
  EXPECT_NE(notices_[0].find("half-created"), std::string::npos) << notices_[0];
  EXPECT_NE(notices_[0].find(path_), std::string::npos) << notices_[0];
}

// Without CURRENT but with data (a non-empty write-ahead log), nothing is deleted.
TEST_F(HostileStoreTest, RocksDbWithDataButNoCurrentIsNotRecreated) {
  {
    auto kv = open_kv(false, Backend::kRocksDb);
    ASSERT_TRUE(kv.is_ok());
    ASSERT_TRUE((*kv)->put("meta/format_version", "1").is_ok());
  }
  fs::remove(path_ + "/CURRENT");
  size_t files = std::distance(fs::directory_iterator(path_), fs::directory_iterator());
  auto kv = open_kv(false);
  ASSERT_FALSE(kv.is_ok());
  EXPECT_NE(kv.status().message().find("not a sccello store"), std::string::npos) << kv.status().message();
  EXPECT_EQ(static_cast<size_t>(std::distance(fs::directory_iterator(path_), fs::directory_iterator())), files);
}

TEST_F(HostileStoreTest, ForeignSqliteDatabaseIsRefusedUnchanged) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE people(name TEXT); INSERT INTO people VALUES ('ada');", nullptr, nullptr,
                         nullptr), SQLITE_OK);
  sqlite3_close(db);
  std::string before = slurp(path_);
  auto store = Store::open(StoreOptions{path_, Backend::kAuto, false});
  ASSERT_FALSE(store.is_ok());
  EXPECT_NE(store.status().message().find("people"), std::string::npos) << store.status().message();
  EXPECT_EQ(slurp(path_), before);
}

TEST_F(HostileStoreTest, DatabaseWithKeysButNoFormatRecordIsNotAdopted) {
  for (Backend b : {Backend::kRocksDb, Backend::kSqlite}) {
    fs::remove_all(path_);
    {
      auto kv = open_kv(false, b);
      ASSERT_TRUE(kv.is_ok());
      ASSERT_TRUE((*kv)->put("someone/else", "x").is_ok());
    }
    auto store = Store::open(StoreOptions{path_, Backend::kAuto, false});
    ASSERT_FALSE(store.is_ok()) << backend_name(b);
    EXPECT_NE(store.status().message().find("not a sccello store"), std::string::npos) << store.status().message();
    auto kv = open_kv(true);
    ASSERT_TRUE(kv.is_ok());
    std::string v;
    EXPECT_TRUE((*kv)->get("meta/format_version", &v).is_not_found());
  }
}

// A writer killed mid-transaction (a cache spill already wrote the journal and the database)
// leaves a hot journal; a read-only open rolls it back and reads the committed content.
TEST_F(HostileStoreTest, SqliteHotJournalOfAKilledWriterDoesNotBreakReadOnlyOpens) {
  {
    auto store = open_store(Backend::kSqlite);
    ASSERT_TRUE(store);
    WriteBatch batch;
    for (int i = 0; i < 300; ++i) batch.put("k/" + std::to_string(i), std::string(3000, 'a'));
    ASSERT_TRUE(store->kv().write(batch).is_ok());
  }
  pid_t pid = fork();
  if (pid == 0) {
    sqlite3* db = nullptr;
    sqlite3_open(path_.c_str(), &db);
    sqlite3_exec(db, "PRAGMA cache_size=5; BEGIN IMMEDIATE;", nullptr, nullptr, nullptr);
    for (int i = 0; i < 300; ++i) {
      std::string sql = "INSERT OR REPLACE INTO kv VALUES (CAST('k/" + std::to_string(i) + "' AS BLOB), zeroblob(3000))";
      sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    }
    _exit(7);  // killed before COMMIT
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_EQ(WEXITSTATUS(status), 7);
  ASSERT_TRUE(fs::exists(path_ + "-journal") && fs::file_size(path_ + "-journal") > 0);
  auto kv = open_kv(true);
  ASSERT_TRUE(kv.is_ok()) << kv.status().message();
  std::string v;
  ASSERT_TRUE((*kv)->get("k/7", &v).is_ok());
  EXPECT_EQ(v, std::string(3000, 'a'));
  ASSERT_EQ(notices_.size(), 1u);
  EXPECT_NE(notices_[0].find("killed writer"), std::string::npos) << notices_[0];
}

Term term(const std::string& id) {
  Term t;
  t.id = id;
  t.name = id;
  return t;
}

TEST_F(HostileStoreTest, IsACycleIsRefusedBeforeAnythingIsWritten) {
  auto store = open_store();
  ASSERT_TRUE(store);
  OntologyRelease r;
  r.info.name = "cyclic";
  r.info.source_file = "cyclic.obo";
  r.terms = {term("CL:1"), term("CL:2"), term("CL:3")};
  r.edges = {{"CL:2", "is_a", "CL:1"}, {"CL:3", "is_a", "CL:2"}, {"CL:1", "is_a", "CL:3"}};
  auto out = ReleaseStore(*store).put(r, {});
  ASSERT_FALSE(out.is_ok());
  EXPECT_NE(out.status().message().find("cycle"), std::string::npos) << out.status().message();
  EXPECT_NE(out.status().message().find("nothing written"), std::string::npos) << out.status().message();
  int keys = 0;
  ASSERT_TRUE(store->kv().scan("rel/", [&](std::string_view, std::string_view) { return ++keys, true; }).is_ok());
  EXPECT_EQ(keys, 0);
}

// 12,000 terms in one chain: 72M ancestor pairs would need ~550 MiB of lists. Refused fast.
TEST_F(HostileStoreTest, DeepChainPastTheClosureBoundIsRefused) {
  auto store = open_store();
  ASSERT_TRUE(store);
  OntologyRelease r;
  r.info.name = "deep";
  r.info.source_file = "deep.obo";
  const int n = 12000;
  for (int i = 0; i < n; ++i) r.terms.push_back(term("CL:" + std::to_string(i)));
  for (int i = 1; i < n; ++i) r.edges.push_back({"CL:" + std::to_string(i), "is_a", "CL:" + std::to_string(i - 1)});
  auto out = ReleaseStore(*store).put(r, {});
  ASSERT_FALSE(out.is_ok());
  EXPECT_NE(out.status().message().find("ancestor pairs"), std::string::npos) << out.status().message();
  EXPECT_NE(out.status().message().find("limit"), std::string::npos) << out.status().message();
  GraphOptions small;
  small.max_closure_bytes = 1 << 20;  // the n x n bitsets alone need 17 MiB
  auto g = OntologyGraph::build(r, small);
  ASSERT_FALSE(g.is_ok());
  EXPECT_NE(g.status().message().find("the closure of 12000 terms"), std::string::npos) << g.status().message();
}

TEST_F(HostileStoreTest, NamesThatAreNotUtf8AreRefused) {
  auto store = open_store();
  ASSERT_TRUE(store);
  OntologyRelease r;
  r.info.name = "bad\xff";
  r.info.source_file = "x.obo";
  r.terms = {term("CL:1")};
  auto out = ReleaseStore(*store).put(r, {});
  ASSERT_FALSE(out.is_ok());
  EXPECT_NE(out.status().message().find("UTF-8"), std::string::npos) << out.status().message();
  auto w = DatasetWriter::begin(*store, "caf\xe9", {});
  ASSERT_FALSE(w.is_ok());
  EXPECT_NE(w.status().message().find("UTF-8"), std::string::npos) << w.status().message();
}

TEST_F(HostileStoreTest, ManifestOfTheWrongShapeIsAnErrorNotACrash) {
  auto store = open_store();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->kv().put("ds/m/x", R"({"name": 5, "num_cells": "many"})").is_ok());
  auto list = Corpus(*store).datasets();
  ASSERT_FALSE(list.is_ok());
  EXPECT_NE(list.status().message().find("manifest"), std::string::npos) << list.status().message();
}

}  // namespace
}  // namespace sccello
