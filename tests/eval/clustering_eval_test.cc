// Clustering metrics on the bundled real data, asserted against values computed once with
// scikit-learn / leidenalg / numpy by bench/compare_eval.py on the same inputs:
//   pbmc68k_reduced obsm/X_pca by bulk_labels (batch: phase) and pbmc3k's PCA baseline.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "model/eval/clustering_eval.h"
#include "model/eval/partition_metrics.h"
#include "tests/eval/eval_test_util.h"

namespace sccello::eval {
namespace {

TEST(ClusteringEval, Pbmc68kPcaMatchesSklearnAndLeidenalg) {
  ClusteringRequest r;
  r.embeddings = kPbmc68k;
  r.key = "X_pca";
  r.label_column = "bulk_labels";
  r.batch_column = "phase";
  auto report = evaluate_clustering(r);
  ASSERT_TRUE(report.is_ok()) << report.status().message();
  const ClusteringScores& s = report->model;
  EXPECT_EQ(s.n_cells, 700);
  EXPECT_NEAR(s.asw_label, 0.5502624535, 1e-6);   // (sklearn silhouette_score + 1) / 2
  EXPECT_NEAR(s.asw_batch, 0.8981001538, 1e-6);   // scib silhouette_batch via sklearn
  EXPECT_NEAR(s.graph_conn, 0.9271839469, 1e-6);  // scib graph_connectivity on UMAP connectivities
  EXPECT_NEAR(s.avg_bio, 0.5710947850, 0.02);     // leidenalg, best NMI over 0.1..2.0
  EXPECT_NEAR(s.avg_batch, (s.asw_batch + s.graph_conn) / 2, 1e-12);
  // Sensible clusters: about as many as the 10 FACS labels, NMI of the same clustering recomputed.
  EXPECT_GE(s.n_clusters, 5);
  EXPECT_LE(s.n_clusters, 15);
  std::vector<std::string> names;
  EXPECT_NEAR(normalized_mutual_info(encode_values(report->labels, &names), s.clusters), s.nmi, 1e-12);
  EXPECT_GT(s.nmi, 0.6);
}

// kNN purity per label against a brute-force oracle: every pair's squared distance in double,
// the 14 nearest others by a full sort (ties by index), the share with the cell's label.
TEST(ClusteringEval, LabelPurityMatchesBruteForceNeighbours) {
  ClusteringRequest r;
  r.embeddings = kPbmc68k;
  r.key = "X_pca";
  r.label_column = "bulk_labels";
  auto report = evaluate_clustering(r);
  ASSERT_TRUE(report.is_ok()) << report.status().message();
  auto e = read_embeddings(kPbmc68k, "X_pca");
  ASSERT_TRUE(e.is_ok());
  std::vector<std::string> names;
  const std::vector<int32_t> label = encode_values(report->labels, &names);
  ASSERT_EQ(names, report->label_names);
  const int64_t n = e->num_cells(), d = e->dims;
  ASSERT_EQ(n, static_cast<int64_t>(label.size()));
  std::vector<double> sum(names.size(), 0.0), count(names.size(), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    std::vector<std::pair<double, int64_t>> by_distance;
    for (int64_t j = 0; j < n; ++j) {
      if (j == i) continue;
      double dist = 0;
      for (int64_t c = 0; c < d; ++c) {
        const double diff = double(e->values[i * d + c]) - e->values[j * d + c];
        dist += diff * diff;
      }
      by_distance.emplace_back(dist, j);
    }
    std::sort(by_distance.begin(), by_distance.end());
    int same = 0;
    for (int t = 0; t < 14; ++t) same += label[by_distance[t].second] == label[i];
    sum[label[i]] += same / 14.0;
    count[label[i]] += 1;
  }
  ASSERT_EQ(report->model.label_purity.size(), names.size());
  for (size_t l = 0; l < names.size(); ++l)
    EXPECT_NEAR(report->model.label_purity[l], sum[l] / count[l], 2.0 / 14 / count[l]) << names[l];  // a float tie may swap one neighbour
  // The purity of the whole embedding lies between its worst and best type.
  const auto [lo, hi] = std::minmax_element(report->model.label_purity.begin(), report->model.label_purity.end());
  EXPECT_LT(*lo, 0.6);
  EXPECT_GT(*hi, 0.9);
}

TEST(ClusteringEval, Pbmc3kPcaBaselineAvgBio) {
  const PcaResult& pca = pbmc3k_pca();
  ASSERT_EQ(pca.hvg.size(), 2000u);
  ASSERT_EQ(pca.components, 50);
  EXPECT_NEAR(pca.variance_ratio[0], 0.0231042838577, 1e-6);  // numpy SVD of the scaled HVG matrix
  EXPECT_NEAR(pca.variance_ratio[1], 0.0118714719603, 1e-6);
  auto labels = read_obs_column(kPbmc3k, "cell_type", obs_ids(kPbmc3k));
  ASSERT_TRUE(labels.is_ok());
  std::vector<std::string> names;
  const std::vector<int32_t> code = encode_values(*labels, &names);
  auto s = score_embedding(pca.embedding, pca.components, code, static_cast<int32_t>(names.size()), {}, 0, {});
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  EXPECT_NEAR(s->asw_label, 0.5323878135, 1e-6);
  EXPECT_NEAR(s->avg_bio, 0.6532523463, 0.02);  // leidenalg: NMI 0.792 at resolution 0.9
  EXPECT_GT(s->nmi, 0.75);
}

TEST(ClusteringEval, PcaBaselineBesideTheModelAndUnlabelledCellsExcluded) {
  const std::string dir = (std::filesystem::temp_directory_path() / "sccello_eval_tsv").string();
  std::filesystem::create_directories(dir);
  const std::vector<std::string> ids = obs_ids(kPbmc4k);
  std::vector<float> values(ids.size() * 3);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>((i * 7919) % 101) / 10.0f;
  write_tsv(dir + "/emb.tsv", ids, std::vector<std::string>(ids.size(), ""), values, 3);
  ClusteringRequest r;
  r.embeddings = dir + "/emb.tsv";
  r.obs = kPbmc4k;
  r.label_column = "cell_type";
  r.counts = kPbmc4k;
  auto report = evaluate_clustering(r);
  ASSERT_TRUE(report.is_ok()) << report.status().message();
  EXPECT_EQ(report->cells_total, 2170);
  EXPECT_EQ(report->cells_unlabelled, 20);  // "?"
  EXPECT_EQ(report->model.n_cells, 2150);
  ASSERT_TRUE(report->pca.has_value());
  EXPECT_LT(report->model.avg_bio, 0.35);  // arbitrary numbers carry no cell type signal
  EXPECT_GT(report->pca->avg_bio, 0.6);    // 5 coarse PBMC types separate well on PCA
  std::filesystem::remove_all(dir);
}

TEST(ClusteringEval, ErrorsNameWhatIsWrong) {
  ClusteringRequest r;
  r.embeddings = kPbmc68k;
  r.key = "X_nope";
  r.label_column = "bulk_labels";
  auto e = evaluate_clustering(r);
  ASSERT_FALSE(e.is_ok());
  EXPECT_NE(e.status().message().find("X_pca, X_umap"), std::string::npos) << e.status().message();
  r.key = "X_pca";
  r.label_column = "cell_kind";
  e = evaluate_clustering(r);
  ASSERT_FALSE(e.is_ok());
  EXPECT_NE(e.status().message().find("bulk_labels"), std::string::npos) << e.status().message();
  r.label_column = "cell_type";
  r.obs = kPbmc3k;  // other cells
  e = evaluate_clustering(r);
  ASSERT_FALSE(e.is_ok());
  EXPECT_NE(e.status().message().find("AAAGCCTGGCTAAC-1"), std::string::npos) << e.status().message();
  r.obs = "";
  r.label_column = "bulk_labels";
  r.counts = kPbmc68k;  // raw/X is log-normalised: not counts
  e = evaluate_clustering(r);
  ASSERT_FALSE(e.is_ok());
  EXPECT_NE(e.status().message().find("--assume-normalized"), std::string::npos) << e.status().message();
  r.pca.assume_normalized = true;
  e = evaluate_clustering(r);
  ASSERT_TRUE(e.is_ok()) << e.status().message();
  EXPECT_EQ(e->pca_detail.hvg.size(), 765u);  // fewer genes than 2000: all of them
}

}  // namespace
}  // namespace sccello::eval
