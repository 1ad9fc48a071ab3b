// Novel cell type scoring: Spearman against a brute-force oracle (with ties), accuracy and
// macro-F1 by hand, and the whole protocol on pbmc3k's PCA embedding with PPR from the bundled
// 2022-12-15 Cell Ontology release.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "model/eval/novel_types.h"
#include "tests/bundled_releases.h"
#include "tests/eval/eval_test_util.h"

namespace sccello::eval {
namespace {

std::vector<double> average_ranks(const std::vector<double>& x) {
  std::vector<double> r(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    double less = 0, equal = 0;
    for (double y : x) less += y < x[i], equal += y == x[i];
    r[i] = less + (equal + 1) / 2;
  }
  return r;
}

double spearman_oracle(const std::vector<double>& a, const std::vector<double>& b) {
  const std::vector<double> ra = average_ranks(a), rb = average_ranks(b);
  const double n = static_cast<double>(a.size()), ma = (n + 1) / 2;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i)
    sab += (ra[i] - ma) * (rb[i] - ma), saa += (ra[i] - ma) * (ra[i] - ma), sbb += (rb[i] - ma) * (rb[i] - ma);
  return sab / std::sqrt(saa * sbb);
}

TEST(NovelTypes, SpearmanMatchesOracleWithTies) {
  std::mt19937 rng(5);
  const int64_t cells = 6, candidates = 4, seen = 11;
  std::vector<float> cos(cells * seen);
  std::vector<double> sim(candidates * seen);
  for (auto& v : cos) v = static_cast<float>(rng() % 7) / 7.0f;  // ties on purpose
  for (auto& v : sim) v = static_cast<double>(rng() % 5) * 1e-4;
  const std::vector<float> got = novel_type_scores(cos, cells, sim, candidates, seen);
  for (int64_t i = 0; i < cells; ++i)
    for (int64_t c = 0; c < candidates; ++c) {
      std::vector<double> a(cos.begin() + i * seen, cos.begin() + (i + 1) * seen);
      std::vector<double> b(sim.begin() + c * seen, sim.begin() + (c + 1) * seen);
      EXPECT_NEAR(got[i * candidates + c], spearman_oracle(a, b), 1e-6) << i << "," << c;
    }
  const std::vector<double> constant(seen, 0.5);  // no variance: correlation 0
  EXPECT_EQ(novel_type_scores(cos, 1, constant, 1, seen)[0], 0.0f);
}

TEST(NovelTypes, AccuracyAndMacroF1ByHand) {
  // class 0: tp 1, fn 1 -> F1 2/3; class 1: tp 2, fp 1 -> F1 4/5 (sklearn: 0.7333...).
  EXPECT_NEAR(macro_f1({0, 0, 1, 1}, {0, 1, 1, 1}), (2.0 / 3 + 0.8) / 2, 1e-15);
  EXPECT_NEAR(accuracy({0, 0, 1, 1}, {0, 1, 1, 1}), 0.75, 1e-15);
  // A class only predicted counts too (F1 0): classes {0, 1, 2}.
  EXPECT_NEAR(macro_f1({0, 0, 1}, {0, 2, 1}), (2.0 / 3 + 1.0 + 0.0) / 3, 1e-15);
}

TEST(NovelTypes, CentroidsAreMeansOfNormalisedRows) {
  const std::vector<float> x{3, 4, 0, 2, 10, 0};  // rows (3,4), (0,2), (10,0)
  const std::vector<float> c = type_centroids(x, 2, {0, 0, 1}, 2);
  EXPECT_NEAR(c[0], (0.6 + 0.0) / 2, 1e-7);
  EXPECT_NEAR(c[1], (0.8 + 1.0) / 2, 1e-7);
  EXPECT_NEAR(c[2], 1.0, 1e-7);
  const std::vector<float> cos = centroid_cosines({1, 0}, 2, c);
  EXPECT_NEAR(cos[1], 1.0, 1e-6);
  EXPECT_NEAR(cos[0], 0.3 / std::sqrt(0.3 * 0.3 + 0.9 * 0.9), 1e-6);
}

TEST(NovelTypes, ProtocolOnPbmc3kPca) {
  const PcaResult& pca = pbmc3k_pca();
  const std::vector<std::string> ids = obs_ids(kPbmc3k);
  auto terms = read_obs_column(kPbmc3k, "cell_type_ontology_term_id", ids);
  ASSERT_TRUE(terms.is_ok());
  const std::string path = (std::filesystem::temp_directory_path() / "sccello_novel_pbmc3k.tsv").string();
  write_tsv(path, ids, *terms, pca.embedding, pca.components);
  NovelRequest r;
  r.reference = r.query = path;
  r.label_column = "term_id";
  // Unseen: naive CD4 T, memory CD4 T, CD8 T, NK; seen: monocytes (2), B, DC, platelet.
  r.held_out = {"CL:0000895", "CL:0000897", "CL:0000625", "CL:0000623"};
  r.target_context.release_data = &bundled_release("cl-basic-2022-12-15.obo");
  r.target_context.use_cache = false;
  auto report = evaluate_novel_types(r);
  ASSERT_TRUE(report.is_ok()) << report.status().message();
  EXPECT_EQ(report->seen.size(), 5u);
  EXPECT_EQ(report->query_cells, 697 + 483 + 271 + 155);
  EXPECT_EQ(report->reference_cells, 2638 - report->query_cells);
  ASSERT_EQ(report->scores.size(), 5u);
  EXPECT_EQ(report->scores[0].candidates, 1);  // 10% of 4 rounds to 0: at least the true type
  EXPECT_DOUBLE_EQ(report->scores[0].accuracy, 1.0);
  EXPECT_EQ(report->scores[4].candidates, 4);
  EXPECT_EQ(report->scores[4].accuracy_sd, 0.0);  // every draw is the full set
  // Measured once (deterministic: every draw is the full set); chance is 0.25. The unseen T/NK
  // types have near-identical PPR profiles over these 5 seen types, so PCA barely beats chance.
  EXPECT_NEAR(report->scores[4].accuracy, 0.28082191780821919, 1e-6);
  EXPECT_NEAR(report->scores[4].macro_f1, 0.11276504880345355, 1e-6);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace sccello::eval
