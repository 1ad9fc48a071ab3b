// `sccello targets ...` end to end on both store backends with the real CL 2022-12-15 release:
// list (with --plugin), show, row, matrix (levels and raw), and the error paths.
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sccello {
namespace {

struct CliRun {
  int status = -1;
  std::string out;  // stdout and stderr
};

CliRun run(const std::string& args) {
  CliRun r;
  const std::string cmd = std::string(SCCELLO_CLI) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t got;
  while ((got = fread(buf, 1, sizeof(buf), pipe)) > 0) r.out.append(buf, got);
  const int st = pclose(pipe);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

class TargetsCli : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("sccello_targets_cli_" + std::to_string(::getpid()) + GetParam());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store_ = "--store " + (dir_ / (GetParam() == "sqlite" ? "s.sqlite" : "s")).string() + " --backend " + GetParam();
    CliRun r = run(store_ + " ontology import " + std::string(SCCELLO_DATA_DIR) + "/ontology/cl-basic-2022-12-15.obo");
    ASSERT_EQ(r.status, 0) << r.out;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string store_;
};

TEST_P(TargetsCli, ListShowRowMatrix) {
  CliRun list = run("targets list --tsv --plugin " + std::string(SCCELLO_TEST_PLUGIN));
  ASSERT_EQ(list.status, 0) << list.out;
  EXPECT_NE(list.out.find("ppr\t1\talpha=0.9,threshold=0.0001,mode=networkx"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("neighbours\t2\tweight=0.5,edges=is_a"), std::string::npos);

  CliRun show = run(store_ + " targets show --target ppr CL:0000236 CL:0000945 --tsv");
  ASSERT_EQ(show.status, 0) << show.out;
  EXPECT_NE(show.out.find("CL:0000236\tB cell\tCL:0000945\tlymphocyte of B lineage\t0.05764573943474589\t9\t1\t"),
            std::string::npos) << show.out;

  CliRun row = run(store_ + " targets row CL:0000236 --top 3 --tsv");
  ASSERT_EQ(row.status, 0) << row.out;
  EXPECT_NE(row.out.find("1\tCL:0000236\tB cell\t0.2834193310922807\t11\t1\n"
                         "2\tCL:0001201\tB cell, CD19-positive\t0.06078680663081522\t9\t0\n"),
            std::string::npos) << row.out;

  std::ofstream((dir_ / "terms.txt").string()) << "CL:0000236\nCL:0000945\nCL:0017500\n";
  CliRun m = run(store_ + " targets matrix --terms " + (dir_ / "terms.txt").string() + " --tsv");
  ASSERT_EQ(m.status, 0) << m.out;
  EXPECT_EQ(m.out.rfind("term_id\tCL:0000236\tCL:0000945\tCL:0017500\nCL:0000236\t11\t9\t1\n", 0), 0u) << m.out;
  EXPECT_NE(m.out.find("CL:0017500\t1\t1\t1\n"), std::string::npos) << m.out;  // no is_a edge: level 1
  CliRun raw = run(store_ + " targets matrix --terms " + (dir_ / "terms.txt").string() + " --raw --tsv --target ppr:mode=exact");
  ASSERT_EQ(raw.status, 0) << raw.out;
  EXPECT_NE(raw.out.find("CL:0000236\t0.283732675595"), std::string::npos) << raw.out;  // networkx at tol=1e-16

  CliRun plugin = run(store_ + " targets show --plugin " + std::string(SCCELLO_TEST_PLUGIN) +
                   " --target neighbours CL:0000236 CL:0000945 --tsv");
  ASSERT_EQ(plugin.status, 0) << plugin.out;
  EXPECT_NE(plugin.out.find("\t0.5\t2\t1\tneighbours/2:weight=0.5,edges=is_a"), std::string::npos) << plugin.out;
}

// The whole graph as .npy (computed in place, written from the mapped matrix): the header's
// shape, the term order beside it, and the values equal the printed rows of `targets row` and
// the .terms.tsv names; each PPR row sums to 1.
TEST_P(TargetsCli, AllPairsRawToNpy) {
  const std::string npy = (dir_ / "ppr.npy").string();
  CliRun r = run(store_ + " targets matrix --all --raw --out " + npy);
  ASSERT_EQ(r.status, 0) << r.out;
  std::ifstream in(npy, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  ASSERT_GT(bytes.size(), 10u);
  const size_t header = 10 + (static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8);
  EXPECT_NE(bytes.find("'descr': '<f8', 'fortran_order': False, 'shape': (2635, 2635)"), std::string::npos);
  ASSERT_EQ(bytes.size(), header + 2635u * 2635u * 8u);
  auto value = [&](size_t i, size_t j) {
    double v;
    std::memcpy(&v, bytes.data() + header + (i * 2635 + j) * 8, 8);
    return v;
  };
  std::ifstream terms_in((dir_ / "ppr.terms.tsv").string());
  std::vector<std::string> ids;
  for (std::string line; std::getline(terms_in, line);) ids.push_back(line.substr(line.find('\t') + 1));
  ASSERT_EQ(ids.size(), 2636u);  // header + one line per term
  const size_t b_cell = std::find_if(ids.begin(), ids.end(), [](const std::string& l) {
                          return l.rfind("CL:0000236\tB cell", 0) == 0;
                        }) - ids.begin() - 1;
  ASSERT_LT(b_cell, 2635u);
  for (size_t i : {size_t{0}, b_cell, size_t{2634}}) {
    double sum = 0;
    for (size_t j = 0; j < 2635; ++j) sum += value(i, j);
    EXPECT_NEAR(sum, 1.0, 1e-9) << i;
  }
  double best = 0;
  for (size_t j = 0; j < 2635; ++j) best = std::max(best, value(b_cell, j));
  EXPECT_EQ(best, value(b_cell, b_cell));
  EXPECT_EQ(best, 0.2834193310922807);  // as `targets row CL:0000236` prints it (ListShowRowMatrix)
}

TEST_P(TargetsCli, ErrorsAreClearAndNonZero) {
  CliRun r = run(store_ + " targets show --target pagerank CL:0000236 CL:0000945");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("sccello: error: unknown target provider 'pagerank'; valid: ppr, shortest_path, ic, lca_depth, none"), std::string::npos) << r.out;
  r = run(store_ + " targets show --target ppr:gamma=1 CL:0000236 CL:0000945");
  EXPECT_NE(r.out.find("unknown parameter 'gamma' of provider ppr; valid: alpha"), std::string::npos) << r.out;
  r = run(store_ + " targets show --target ppr:alpha=1.2 CL:0000236 CL:0000945");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("alpha must lie in (0,1)"), std::string::npos) << r.out;
  r = run(store_ + " targets show CL:0000236 CL:9999999");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("term CL:9999999 is not in release '2022-12-15': map it first with `sccello ontology migrate"), std::string::npos) << r.out;
  r = run(store_ + " targets show --target ppr:max_iter=1 CL:0000236 CL:0000945");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("did not converge in 1 iterations"), std::string::npos) << r.out;
  r = run(store_ + " targets list --plugin " + std::string(SCCELLO_TEST_PLUGIN_V999));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("speaks API version 999"), std::string::npos) << r.out;
  r = run(store_ + " targets matrix --tsv");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("give exactly one of --terms FILE or --all"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(plugins, TargetsCli, ::testing::Values("rocksdb", "sqlite"));

}  // namespace
}  // namespace sccello
