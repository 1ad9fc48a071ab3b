// `sccello ontology ...` run as a user would (the built binary via popen), on both backends:
// answers checked against the real releases, identical output across backends, and errors.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <map>

#include "store/store.h"

namespace {

const std::string kCli = SCCELLO_CLI;
const std::string kOnto = std::string(SCCELLO_DATA_DIR) + "/ontology/";

struct CliRun {
  int rc = -1;
  std::string out;  // stdout and stderr together
};

CliRun run(const std::string& args) {
  CliRun r;
  FILE* p = ::popen((kCli + " " + args + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class OntologyCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                     ("sccello_ocli_" + std::to_string(::getpid())));
    std::filesystem::create_directories(*dir_);
    for (const char* backend : {"rocksdb", "sqlite"}) {
      std::string store = (*dir_ / backend).string();
      for (const char* f : {"cl-basic-2021-12-16.obo", "cl-basic-2022-12-15.obo", "CL-ontology-v2024-01-04.json.gz",
                            "CL-ontology-v2025-01-08.json.gz"}) {
        CliRun r = run("--store " + store + " --backend " + backend + " ontology import " + kOnto + f + " --tsv");
        ASSERT_EQ(r.rc, 0) << r.out;
      }
    }
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  static std::string store(const char* backend) { return "--store " + (*dir_ / backend).string() + " "; }
  static std::filesystem::path* dir_;
};
std::filesystem::path* OntologyCli::dir_ = nullptr;

const std::vector<std::string> kQueries = {
    "ontology list --tsv",
    "ontology show CL:0000236 --release 2022-12-15 --tsv",
    "ontology search 'T CELL' --tsv",
    "ontology ancestors CL:0000236 --release 2022-12-15 --tsv",
    "ontology descendants CL:0000542 --json",
    "ontology lca CL:0000624 CL:0000625 --release 2021-12-16",
    "ontology diff 2021-12-16 2022-12-15 --tsv",
    "ontology diff 2021-12-16 2022-12-15 --summary --json",
    "ontology migrate CL:0000663 CP:0000000 CL:0008029 --from 2021-12-16 --to 2022-12-15 --tsv",
};

std::string without_import_times(const std::string& s) {
  // `list` ends each row with the import time: the only column allowed to differ.
  std::string out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find('\n', pos);
    std::string line = s.substr(pos, end - pos);
    out += line.substr(0, line.rfind('\t')) + "\n";
    pos = end == std::string::npos ? s.size() : end + 1;
  }
  return out;
}

TEST_F(OntologyCli, EveryQueryAnswersIdenticallyOnBothBackends) {
  for (const std::string& q : kQueries) {
    CliRun a = run(store("rocksdb") + q), b = run(store("sqlite") + q);
    ASSERT_EQ(a.rc, 0) << q << "\n" << a.out;
    ASSERT_EQ(b.rc, 0) << q << "\n" << b.out;
    EXPECT_EQ(without_import_times(a.out), without_import_times(b.out)) << q;
    EXPECT_GT(a.out.size(), 20u) << q;
  }
}

TEST_F(OntologyCli, AnswersMatchTheReleases) {
  CliRun anc = run(store("rocksdb") + "ontology ancestors CL:0000236 --release 2022-12-15 --tsv");
  EXPECT_EQ(anc.out.substr(0, anc.out.find('\n')), "term_id\tname\tdepth");
  EXPECT_NE(anc.out.find("CL:0000542\tlymphocyte\t7\n"), std::string::npos) << anc.out;
  EXPECT_EQ(std::count(anc.out.begin(), anc.out.end(), '\n'), 14);  // header + 13 ancestors
  CliRun lca = run(store("sqlite") + "ontology lca CL:0000624 CL:0000625 --tsv");
  EXPECT_EQ(lca.out, "term_id\tname\tdepth\nCL:0000791\tmature alpha-beta T cell\t" +
                         lca.out.substr(lca.out.rfind('\t') + 1));
  CliRun sum = run(store("rocksdb") + "ontology diff 2021-12-16 2022-12-15 --summary --tsv");
  EXPECT_EQ(sum.out, "change\tcount\nadded\t215\nobsolete\t17\nobsolete_with_replacement\t15\nrenamed\t57\n"
                     "parents\t68\nremoved\t3\n");
  CliRun mig = run(store("sqlite") + "ontology migrate CL:0000663 --from 2021-12-16 --to 2022-12-15 --tsv");
  EXPECT_EQ(mig.out, "term_id\tname\tstatus\tto_term_id\tto_name\tconsider\n"
                     "CL:0000663\tvalve cell\treplaced\tCL:1000147\tcardiac valve cell\t\n");
  CliRun search = run(store("rocksdb") + "ontology search 'b lymphocyte' --tsv --release 2022-12-15");
  EXPECT_NE(search.out.find("CL:0000236\tB cell\tB lymphocyte\tfalse\n"), std::string::npos) << search.out;
  CliRun list = run(store("sqlite") + "ontology list --tsv");
  EXPECT_EQ(std::count(list.out.begin(), list.out.end(), '\n'), 5);
  EXPECT_NE(list.out.find("2022-12-15\tcl-basic-2022-12-15.obo\tobo\t2804\t160\t4498\t"), std::string::npos);
}

TEST_F(OntologyCli, ReimportIsUnchangedAndClashNeedsReplace) {
  CliRun again = run(store("rocksdb") + "ontology import " + kOnto + "cl-basic-2022-12-15.obo --tsv");
  EXPECT_EQ(again.rc, 0);
  EXPECT_NE(again.out.find("\tunchanged\t"), std::string::npos) << again.out;
  CliRun clash = run(store("sqlite") + "ontology import " + kOnto + "cl-basic-2021-12-16.obo --release 2022-12-15");
  EXPECT_EQ(clash.rc, 1);
  EXPECT_NE(clash.out.find("sccello: error: release '2022-12-15' already holds different content"),
            std::string::npos) << clash.out;
}

TEST_F(OntologyCli, UserErrorsAreClearAndNonZero) {
  std::map<std::string, std::string> cases = {
      {"ontology show CL:9999999", "unknown term 'CL:9999999'"},
      {"ontology ancestors CL:0000663 --release 2022-12-15", "obsolete in release 2022-12-15 (replaced by CL:1000147)"},
      {"ontology diff 2021-12-16 1999-01-01", "unknown release '1999-01-01'"},
      {"ontology import " + kOnto + "missing.obo", "missing.obo"},
  };
  for (const auto& [args, message] : cases) {
    CliRun r = run(store("rocksdb") + args);
    EXPECT_EQ(r.rc, 1) << args;
    EXPECT_NE(r.out.find("sccello: error: "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(message), std::string::npos) << args << "\n" << r.out;
  }
  CliRun absent = run("--store " + (*dir_ / "absent").string() + " ontology list");
  EXPECT_EQ(absent.rc, 1);
  EXPECT_NE(absent.out.find("absent"), std::string::npos) << absent.out;
  EXPECT_FALSE(std::filesystem::exists(*dir_ / "absent"));  // read-only commands create nothing
}

TEST_F(OntologyCli, SecondWriterOnALockedStoreIsRefused) {
  for (auto backend : {sccello::Backend::kRocksDb, sccello::Backend::kSqlite}) {
    std::string name = sccello::backend_name(backend);
    auto holder = sccello::Store::open({(*dir_ / name).string(), backend, false});
    ASSERT_TRUE(holder.is_ok()) << holder.status().to_string();
    CliRun r = run(store(name.c_str()) + "ontology import " + kOnto + "cl-basic-2021-12-16.obo --release other");
    EXPECT_EQ(r.rc, 1) << r.out;
    EXPECT_NE(r.out.find("sccello: error: "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find((*dir_ / name).string()), std::string::npos) << r.out;
    // Readers are not blocked by the writer.
    EXPECT_EQ(run(store(name.c_str()) + "ontology list --tsv").rc, 0);
  }
}

TEST_F(OntologyCli, BadFileLeavesTheStoreUnchanged) {
  std::string bad = (*dir_ / "bad.obo").string();
  FILE* f = std::fopen(bad.c_str(), "w");
  std::fputs("format-version: 1.2\n\n[Term]\nid: CL:1\ndef: \"open\n", f);
  std::fclose(f);
  CliRun before = run(store("sqlite") + "ontology list --tsv");
  CliRun r = run(store("sqlite") + "ontology import " + bad);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("bad.obo:5: unterminated quoted string"), std::string::npos) << r.out;
  EXPECT_EQ(run(store("sqlite") + "ontology list --tsv").out, before.out);
}

}  // namespace
