// ReleaseStore on both backends: import of the real releases, no-op re-import, refusal of
// different content, replace, load round trip, dropped undefined is_a, failed imports leaving
// the store unchanged, locks, missing/read-only paths, newer formats.
#include "store/release_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "graph/ontology_graph.h"
#include "store/release_codec.h"
#include "store/sha256.h"
#include "store/store.h"

namespace sccello {
namespace {

const std::string kOnto = std::string(SCCELLO_DATA_DIR) + "/ontology/";

class ReleaseStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sccello_rel_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "store").string();
  }
  void TearDown() override {
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all);
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<Store> open(bool read_only = false) {
    StoreOptions options{path_, read_only ? Backend::kAuto : GetParam(), read_only};
    auto store = Store::open(options);
    EXPECT_TRUE(store.is_ok()) << store.status().to_string();
    return store.is_ok() ? std::move(store).value() : nullptr;
  }

  static OntologyRelease file(const std::string& name) {
    auto r = read_ontology_file(kOnto + name, {});
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return std::move(r).value();
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_P(ReleaseStoreTest, ImportsAllBundledReleasesAndListsThemInOrder) {
  auto store = open();
  ReleaseStore releases(*store);
  for (const char* f : {"cl-basic-2021-12-16.obo", "cl-basic-2022-12-15.obo", "CL-ontology-v2024-01-04.json.gz",
                        "CL-ontology-v2025-01-08.json.gz"}) {
    auto out = releases.put(file(f), {});
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    EXPECT_FALSE(out->unchanged);
    // The 2025-01-08 JSON lists CL:4047034 among its own ancestors: that self is_a is dropped.
    bool is_2025 = std::string(f).find("2025") != std::string::npos;
    EXPECT_EQ(out->dropped_edges, is_2025 ? 1 : 0) << f;
    if (is_2025) {
      ASSERT_EQ(out->warnings.size(), 1u);
      EXPECT_NE(out->warnings[0].find("CL:4047034"), std::string::npos) << out->warnings[0];
    }
    EXPECT_EQ(out->info.content_hash.size(), 64u);
  }
  auto list = releases.list().value();
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list[0].name, "2021-12-16");
  EXPECT_EQ(list[3].name, "2025-01-08");
  EXPECT_EQ(list[1].num_terms, 2804);
  EXPECT_EQ(list[1].num_obsolete, 160);
  EXPECT_EQ(list[1].num_edges, 4498);
  EXPECT_EQ(list[1].source_file, "cl-basic-2022-12-15.obo");
  EXPECT_EQ(list[3].num_edges, 4035 - 1);
  EXPECT_EQ(releases.resolve("").value(), "2025-01-08");
  EXPECT_TRUE(OntologyGraph::build(releases.load("").value()).is_ok());
  auto unknown = releases.resolve("1999-01-01");
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_NE(unknown.status().message().find("2021-12-16, 2022-12-15"), std::string::npos);
}

TEST_P(ReleaseStoreTest, LoadRoundTripsAndBuildsTheGraph) {
  OntologyRelease original = file("cl-basic-2022-12-15.obo");
  { auto store = open(); ASSERT_TRUE(ReleaseStore(*store).put(original, {}).is_ok()); }
  auto store = open(/*read_only=*/true);
  auto loaded = ReleaseStore(*store).load("2022-12-15");
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->info.name, "2022-12-15");
  ASSERT_EQ(loaded->terms.size(), original.terms.size());
  EXPECT_EQ(encode_release_content(*loaded), encode_release_content(original));
  EXPECT_EQ(loaded->info.content_hash, release_content_hash(original));
  auto g = OntologyGraph::build(*loaded).value();
  EXPECT_EQ(g.num_terms(), 2644u);
  EXPECT_TRUE(g.is_ancestor(*g.index_of("CL:0000542"), *g.index_of("CL:0000236")));
}

TEST_P(ReleaseStoreTest, ReimportIsANoOpDifferentContentNeedsReplace) {
  auto store = open();
  ReleaseStore releases(*store);
  ASSERT_TRUE(releases.put(file("cl-basic-2021-12-16.obo"), {}).is_ok());
  auto again = releases.put(file("cl-basic-2021-12-16.obo"), {});
  ASSERT_TRUE(again.is_ok());
  EXPECT_TRUE(again->unchanged);
  ImportOptions same_name;
  same_name.release_name = "2021-12-16";
  auto clash = releases.put(file("cl-basic-2022-12-15.obo"), same_name);
  ASSERT_FALSE(clash.is_ok());
  EXPECT_NE(clash.status().message().find("--replace"), std::string::npos);
  EXPECT_EQ(releases.info("2021-12-16")->num_terms, 2592);
  same_name.replace = true;
  ASSERT_TRUE(releases.put(file("cl-basic-2022-12-15.obo"), same_name).is_ok());
  EXPECT_EQ(releases.info("2021-12-16")->num_terms, 2804);
  EXPECT_EQ(releases.list()->size(), 1u);
}

TEST_P(ReleaseStoreTest, IsAToUndefinedTermIsDroppedWithAWarning) {
  OntologyRelease r;
  r.info.name = "tiny";
  r.info.source_file = "tiny.obo";
  r.terms = {{"CL:1", "a"}, {"CL:2", "b"}};
  r.edges = {{"CL:2", "is_a", "CL:1"}, {"CL:2", "is_a", "CL:404"}, {"CL:1", "is_a", "CL:405"},
             {"CL:2", "develops_from", "UBERON:1"}};
  auto store = open();
  auto out = ReleaseStore(*store).put(r, {});
  ASSERT_TRUE(out.is_ok());
  EXPECT_EQ(out->dropped_edges, 2);
  ASSERT_EQ(out->warnings.size(), 1u);
  EXPECT_NE(out->warnings[0].find("2 is_a edge(s)"), std::string::npos) << out->warnings[0];
  EXPECT_NE(out->warnings[0].find("CL:2 is_a CL:404"), std::string::npos);
  EXPECT_EQ(ReleaseStore(*store).load("tiny")->edges.size(), 2u);  // the relationship edge is kept
}

TEST_P(ReleaseStoreTest, FailingAnImportMidwayLeavesTheStoreUnchanged) {
  auto store = open();
  ReleaseStore releases(*store);
  ASSERT_TRUE(releases.put(file("cl-basic-2021-12-16.obo"), {}).is_ok());
  auto snapshot = [&] {
    std::vector<std::pair<std::string, std::string>> kv;
    EXPECT_TRUE(store->kv().scan("", [&](std::string_view k, std::string_view v) {
      kv.emplace_back(k, v);
      return true;
    }).is_ok());
    return kv;
  };
  auto before = snapshot();
  ImportOptions failing;
  failing.before_commit = [] { return Status::io_error("injected failure"); };
  EXPECT_FALSE(releases.put(file("cl-basic-2022-12-15.obo"), failing).is_ok());
  failing.release_name = "2021-12-16";
  failing.replace = true;
  EXPECT_FALSE(releases.put(file("cl-basic-2022-12-15.obo"), failing).is_ok());
  EXPECT_EQ(snapshot(), before);
  // A file that cannot be read fails before anything is staged.
  EXPECT_FALSE(read_ontology_file(kOnto + "does-not-exist.json.gz", {}).is_ok());
  EXPECT_EQ(snapshot(), before);
}

TEST_P(ReleaseStoreTest, SecondWriterIsRefusedReadersAreNot) {
  auto writer = open();
  ASSERT_TRUE(ReleaseStore(*writer).put(file("cl-basic-2021-12-16.obo"), {}).is_ok());
  StoreOptions options{path_, GetParam(), false};
  auto second = Store::open(options);
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), Status::Code::kBusy);
  EXPECT_NE(second.status().message().find(path_), std::string::npos);
  auto reader = open(/*read_only=*/true);
  EXPECT_EQ(ReleaseStore(*reader).list()->size(), 1u);
}

TEST_P(ReleaseStoreTest, MissingAndUncreatablePaths) {
  StoreOptions missing{path_ + "-absent", Backend::kAuto, true};
  auto r = Store::open(missing);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("-absent"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path_ + "-absent"));
  // Paths that cannot be created even by root: under /proc, and under a regular file.
  std::string file = (dir_ / "plain-file").string();
  { std::FILE* f = std::fopen(file.c_str(), "w"); std::fclose(f); }
  for (const std::string& bad : {std::string("/proc/sccello-store"), file + "/store"}) {
    StoreOptions create{bad, GetParam(), false};
    auto opened = Store::open(create);
    ASSERT_FALSE(opened.is_ok()) << bad;
    EXPECT_NE(opened.status().message().find(bad), std::string::npos) << opened.status().message();
  }
}

TEST_P(ReleaseStoreTest, ReadOnlyDirectoryIsRefused) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  std::filesystem::permissions(dir_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  StoreOptions create{path_, GetParam(), false};
  auto ro = Store::open(create);
  ASSERT_FALSE(ro.is_ok());
  EXPECT_NE(ro.status().message().find(path_), std::string::npos);
}

TEST_P(ReleaseStoreTest, NewerFormatIsRefusedBeforeAnyReleaseIsRead) {
  {
    auto store = open();
    ASSERT_TRUE(ReleaseStore(*store).put(file("cl-basic-2021-12-16.obo"), {}).is_ok());
    ASSERT_TRUE(store->kv().put("meta/format_version", "2").is_ok());
  }
  StoreOptions options{path_, GetParam(), true};
  auto store = Store::open(options);
  ASSERT_FALSE(store.is_ok());
  EXPECT_NE(store.status().message().find("newer"), std::string::npos);
}

TEST_P(ReleaseStoreTest, DamagedRecordIsCorruptionNamingTheKey) {
  auto store = open();
  ReleaseStore releases(*store);
  ASSERT_TRUE(releases.put(file("cl-basic-2021-12-16.obo"), {}).is_ok());
  ASSERT_TRUE(store->kv().put("rel/content/2021-12-16", "SCRC\x01garbage").is_ok());
  auto r = releases.load("2021-12-16");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find("rel/content/2021-12-16"), std::string::npos);
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 h;
  h.update(std::string(1000000, 'a'));
  EXPECT_EQ(h.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

INSTANTIATE_TEST_SUITE_P(Backends, ReleaseStoreTest, ::testing::Values(Backend::kRocksDb, Backend::kSqlite),
                         [](const auto& info) { return backend_name(info.param); });

}  // namespace
}  // namespace sccello
