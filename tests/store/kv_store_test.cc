// KvStore contract, run against both backends.
#include "store/kv_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "store/store.h"

namespace sccello {
namespace {

class KvStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sccello_kv_" + std::to_string(::getpid()) + "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "store").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<KvStore> open(bool read_only = false) {
    KvOpenOptions options;
    options.backend = read_only ? Backend::kAuto : GetParam();
    options.read_only = read_only;
    auto kv = open_kv_store(path_, options);
    EXPECT_TRUE(kv.is_ok()) << kv.status().to_string();
    return kv.is_ok() ? std::move(kv).value() : nullptr;
  }

  std::filesystem::path dir_;
  std::string path_;
};

std::vector<std::string> keys_with(const KvStore& kv, std::string_view prefix, std::string_view start = {}) {
  std::vector<std::string> keys;
  EXPECT_TRUE(kv.scan(prefix, [&](std::string_view k, std::string_view) {
    keys.emplace_back(k);
    return true;
  }, start).is_ok());
  return keys;
}

TEST_P(KvStoreTest, PutGetDeleteAndOrderedScan) {
  auto kv = open();
  ASSERT_TRUE(kv);
  WriteBatch batch;
  batch.put("a/2", "two");
  batch.put("a/1", "one");
  batch.put("a/\xff", "high");
  batch.put("b/1", "other");
  ASSERT_TRUE(kv->write(batch).is_ok());
  std::string v;
  ASSERT_TRUE(kv->get("a/1", &v).is_ok());
  EXPECT_EQ(v, "one");
  EXPECT_TRUE(kv->get("a/3", &v).is_not_found());
  EXPECT_EQ(keys_with(*kv, "a/"), (std::vector<std::string>{"a/1", "a/2", "a/\xff"}));
  EXPECT_EQ(keys_with(*kv, "a/", "a/2"), (std::vector<std::string>{"a/2", "a/\xff"}));
  ASSERT_TRUE(kv->del("a/2").is_ok());
  EXPECT_EQ(keys_with(*kv, "a/"), (std::vector<std::string>{"a/1", "a/\xff"}));
}

TEST_P(KvStoreTest, DeletePrefixIsAtomicWithPuts) {
  auto kv = open();
  ASSERT_TRUE(kv);
  WriteBatch batch;
  for (int i = 0; i < 100; ++i) batch.put("x/" + std::to_string(1000 + i), "v");
  batch.put("xy", "not under x/");
  ASSERT_TRUE(kv->write(batch).is_ok());
  WriteBatch replace;
  replace.delete_prefix("x/");
  replace.put("x/new", "n");
  ASSERT_TRUE(kv->write(replace).is_ok());
  EXPECT_EQ(keys_with(*kv, "x"), (std::vector<std::string>{"x/new", "xy"}));
}

TEST_P(KvStoreTest, BinaryValuesRoundTrip) {
  auto kv = open();
  ASSERT_TRUE(kv);
  std::string blob("\0\1\2\xff zero inside", 16);
  ASSERT_TRUE(kv->put(std::string("k\0z", 3), blob).is_ok());
  std::string v;
  ASSERT_TRUE(kv->get(std::string("k\0z", 3), &v).is_ok());
  EXPECT_EQ(v, blob);
}

TEST_P(KvStoreTest, SecondWriterIsRefusedButReadersAreNot) {
  auto writer = open();
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->put("k", "v").is_ok());
  KvOpenOptions options;
  auto second = open_kv_store(path_, options);
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), Status::Code::kBusy) << second.status().to_string();
  EXPECT_NE(second.status().message().find(path_), std::string::npos);
  auto reader = open(/*read_only=*/true);
  ASSERT_TRUE(reader);
  std::string v;
  EXPECT_TRUE(reader->get("k", &v).is_ok());
  EXPECT_FALSE(reader->put("k2", "v").is_ok());
}

TEST_P(KvStoreTest, BackendIsDetectedAndMismatchRefused) {
  { ASSERT_TRUE(open()); }
  auto found = detect_backend(path_);
  ASSERT_TRUE(found.is_ok());
  EXPECT_EQ(found.value(), GetParam());
  KvOpenOptions options;
  options.backend = GetParam() == Backend::kRocksDb ? Backend::kSqlite : Backend::kRocksDb;
  auto wrong = open_kv_store(path_, options);
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_NE(wrong.status().message().find("--backend"), std::string::npos);
}

TEST_P(KvStoreTest, ReadOnlyOpenOfMissingPathFailsClearly) {
  KvOpenOptions options;
  options.read_only = true;
  auto kv = open_kv_store(path_ + "-absent", options);
  ASSERT_FALSE(kv.is_ok());
  EXPECT_TRUE(kv.status().is_not_found());
  EXPECT_NE(kv.status().message().find("-absent"), std::string::npos);
}

TEST_P(KvStoreTest, StoreRefusesNewerFormat) {
  {
    StoreOptions options{path_, GetParam(), false};
    auto store = Store::open(options);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    ASSERT_TRUE((*store)->kv().put("meta/format_version", "99").is_ok());
  }
  StoreOptions options{path_, GetParam(), false};
  auto store = Store::open(options);
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), Status::Code::kUnsupported);
  EXPECT_NE(store.status().message().find("newer"), std::string::npos);
}

// The bulk path of imports: 20,000 ascending keys (binary values, several batches on SQLite,
// one ingested table file on RocksDB) read back exactly, beside keys written the ordinary way.
TEST_P(KvStoreTest, SortedLoaderKeysReadBackLikeWrittenOnes) {
  auto kv = open();
  ASSERT_TRUE(kv->put("a/before", "x").is_ok());
  auto loader = kv->sorted_loader(64 << 10);
  ASSERT_TRUE(loader.is_ok()) << loader.status().to_string();
  std::vector<std::string> want;
  for (int i = 0; i < 20000; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "b/%08d", i);
    std::string value(static_cast<size_t>(i % 97), static_cast<char>(i & 0xff));
    ASSERT_TRUE((*loader)->add(key, value).is_ok());
    want.push_back(key);
  }
  ASSERT_TRUE((*loader)->finish().is_ok());
  ASSERT_TRUE(kv->put("c/after", "y").is_ok());
  EXPECT_EQ(keys_with(*kv, "b/"), want);
  std::string v;
  ASSERT_TRUE(kv->get("b/00012345", &v).is_ok());
  EXPECT_EQ(v, std::string(12345 % 97, static_cast<char>(12345 & 0xff)));
  EXPECT_EQ(keys_with(*kv, "a/").size(), 1u);
  EXPECT_EQ(keys_with(*kv, "c/").size(), 1u);
  kv.reset();
  EXPECT_EQ(keys_with(*open(true), "b/").size(), 20000u);  // durable: there after reopening
  EXPECT_FALSE(std::filesystem::exists(path_ + "/sccello-ingest"));  // no table file left behind
}

TEST_P(KvStoreTest, SortedLoaderRefusesKeysOutOfOrder) {
  auto kv = open();
  auto loader = kv->sorted_loader(1 << 20);
  ASSERT_TRUE(loader.is_ok());
  ASSERT_TRUE((*loader)->add("k/2", "v").is_ok());
  Status st = (*loader)->add("k/1", "v");
  if (st.is_ok()) st = (*loader)->finish();  // RocksDB's SstFileWriter may report it at either call
  EXPECT_FALSE(st.is_ok());
}

TEST_P(KvStoreTest, SortedLoaderDroppedUnfinishedPublishesNothingOnRocksDb) {
  auto kv = open();
  {
    auto loader = kv->sorted_loader(1 << 20);
    ASSERT_TRUE(loader.is_ok());
    ASSERT_TRUE((*loader)->add("k/1", "v").is_ok());
  }  // dropped: a killed or failed import
  if (GetParam() == Backend::kRocksDb) {
    EXPECT_TRUE(keys_with(*kv, "k/").empty());
    EXPECT_FALSE(std::filesystem::exists(path_ + "/sccello-ingest"));
  }
}

// A writer killed mid-import leaves its table file; the next writable open removes it.
TEST_P(KvStoreTest, AKilledImportsTableFileIsRemovedByTheNextWriter) {
  if (GetParam() != Backend::kRocksDb) GTEST_SKIP() << "RocksDB only: SQLite rolls back its journal";
  open().reset();
  std::filesystem::create_directories(path_ + "/sccello-ingest");
  { std::ofstream(path_ + "/sccello-ingest/1234-0.sst") << "half a table"; }
  open(true).reset();  // readers leave it alone
  EXPECT_TRUE(std::filesystem::exists(path_ + "/sccello-ingest/1234-0.sst"));
  auto kv = open();
  EXPECT_FALSE(std::filesystem::exists(path_ + "/sccello-ingest"));
}

INSTANTIATE_TEST_SUITE_P(Backends, KvStoreTest, ::testing::Values(Backend::kRocksDb, Backend::kSqlite),
                         [](const auto& info) { return backend_name(info.param); });

}  // namespace
}  // namespace sccello
