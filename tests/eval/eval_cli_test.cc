// `sccello eval ...` run as a user would (the built binary through popen): JSON keys and values,
// the model/pca table, the novel-type protocol through a store, and errors.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "tests/eval/eval_test_util.h"

namespace sccello::eval {
namespace {

struct CliRun {
  int rc = -1;
  std::string out;
};

CliRun run(const std::string& args) {
  CliRun r;
  FILE* p = ::popen((std::string(SCCELLO_CLI) + " " + args + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  for (size_t n; (n = fread(buf.data(), 1, buf.size(), p)) > 0;) r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(EvalCli, ClusteringJsonWithPcaBaseline) {
  CliRun r = run("--json eval clustering --embeddings " + kPbmc68k + " --key X_pca --label-column bulk_labels "
                 "--batch-column phase --baseline pca --counts " + kPbmc68k + " --assume-normalized");
  ASSERT_EQ(r.rc, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* side : {"model", "pca"})
    for (const char* key : {"nmi", "ari", "asw_label", "avg_bio", "asw_batch", "graph_conn", "avg_batch",
                            "best_resolution", "n_clusters", "n_cells"})
      EXPECT_TRUE(j[side].contains(key)) << side << "." << key;
  EXPECT_NEAR(j["model"]["asw_label"].get<double>(), 0.5502624535, 1e-6);
  EXPECT_NEAR(j["pca"]["asw_label"].get<double>(), 0.5467600829, 1e-6);  // sklearn on our PCA embedding
  EXPECT_EQ(j["pca"]["n_cells"].get<int>(), 700);
}

TEST(EvalCli, ClusteringTableAndErrors) {
  CliRun r = run("eval clustering --embeddings " + kPbmc68k + " --key X_pca --label-column bulk_labels --tsv");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(r.out.rfind("embedding\tnmi\tari\tasw_label\tavg_bio\tbest_resolution\tn_clusters\tn_cells\n", 0), 0u) << r.out;
  r = run("eval clustering --embeddings " + kPbmc68k + " --key X_pca --label-column nope");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("sccello: error: column 'nope' not found"), std::string::npos) << r.out;
  r = run("eval clustering --embeddings " + kPbmc68k + " --key X_pca --label-column bulk_labels --baseline pca");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("--counts"), std::string::npos) << r.out;
}

TEST(EvalCli, NovelThroughAStore) {
  const auto dir = std::filesystem::temp_directory_path() / ("sccello_eval_cli_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string store = "--store " + (dir / "store.sqlite").string() + " --backend sqlite ";
  CliRun r = run(store + "ontology import " + data_file("ontology/cl-basic-2022-12-15.obo"));
  ASSERT_EQ(r.rc, 0) << r.out;
  const PcaResult& pca = pbmc3k_pca();
  const std::vector<std::string> ids = obs_ids(kPbmc3k);
  auto terms = read_obs_column(kPbmc3k, "cell_type_ontology_term_id", ids);
  ASSERT_TRUE(terms.is_ok());
  const std::string tsv = (dir / "pca.tsv").string();
  write_tsv(tsv, ids, *terms, pca.embedding, pca.components);
  r = run(store + "--json eval novel --reference " + tsv + " --query " + tsv +
          " --label-column term_id --held-out CL:0000895,CL:0000897,CL:0000625,CL:0000623");
  ASSERT_EQ(r.rc, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["scores"].size(), 5u);
  EXPECT_NEAR(j["scores"][4]["accuracy"].get<double>(), 0.28082191780821919, 1e-6);  // as the library test
  EXPECT_EQ(j["seen"].size(), 5u);
  r = run(store + "eval novel --reference " + tsv + " --query " + tsv + " --label-column term_id --held-out CL:9999999,CL:0000623");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("CL:9999999"), std::string::npos) << r.out;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sccello::eval
