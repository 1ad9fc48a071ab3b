// scib's clustering metrics of one cell embedding, as the scCello paper reports them:
// kNN graph (k = 15 with the cell itself, scanpy's convention) with UMAP connectivities, Leiden
// at resolutions 0.1..2.0 keeping the best NMI, ARI of that clustering, ASW_label =
// (silhouette + 1) / 2, AvgBio = mean(NMI, ARI, ASW_label); with batches, ASW_batch, graph
// connectivity and AvgBatch = their mean. `evaluate_clustering` is the one call per user task
// (files in, model and PCA baseline scored). Stateless; not reentrant (igraph's generator).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "graph/status.h"
#include "model/eval/pca_baseline.h"

namespace sccello::eval {

enum class KnnMethod { kExact, kHnsw };

struct ClusteringOptions {
  int32_t n_neighbors = 15;               // with the cell itself (scanpy's n_neighbors)
  std::vector<double> resolutions;        // empty: 0.1, 0.2, ..., 2.0
  KnnMethod knn = KnnMethod::kExact;      // exact lists come free with the silhouette pass
  bool umap_weights = true;               // false: the symmetrised kNN graph with weight 1
  uint64_t seed = 0;                      // Leiden's random generator
  int leiden_restarts = 0;                // runs per resolution, best quality kept (0: 4 up to
                                          // 20,000 cells, else 1; see leiden.h)
  int threads = 0;                        // <= 0: hardware
};

struct ClusteringScores {
  double nmi = 0, ari = 0, asw_label = 0, avg_bio = 0;
  bool has_batch = false;
  double asw_batch = 0, graph_conn = 0, avg_batch = 0;
  double best_resolution = 0;
  int32_t n_clusters = 0;
  int64_t n_cells = 0;
  std::vector<int32_t> clusters;  // the best clustering, per cell
  std::vector<double> label_purity;  // per label code: mean share of a cell's k-1 neighbours
                                     // with its label (kNN purity; how well a type stays apart)
  double seconds = 0;
};

// kNN purity per label: for each cell, the share of its listed neighbours (padding -1 skipped)
// that carry its label; averaged over the cells of each label (0 for a label without cells).
std::vector<double> knn_label_purity(const std::vector<int32_t>& knn, int32_t k, const std::vector<int32_t>& label,
                                     int32_t labels);

// Scores an embedding (cells x dims) against label codes 0..labels-1 and, when `batch` is not
// empty, batch codes 0..batches-1. REQUIRES: sizes agree.
Result<ClusteringScores> score_embedding(const std::vector<float>& values, int64_t dims,
                                         const std::vector<int32_t>& label, int32_t labels,
                                         const std::vector<int32_t>& batch, int32_t batches,
                                         const ClusteringOptions& options);

struct ClusteringRequest {
  std::string embeddings;    // .h5ad (obsm) or .tsv
  std::string key;           // obsm key ("" = X_sccello)
  std::string obs;           // annotations (.h5ad obs or TSV); "" = the embeddings file
  std::string label_column;  // required
  std::string batch_column;  // "" = no batch metrics
  std::string counts;        // .h5ad of the same cells: the PCA baseline ("" = none)
  PcaOptions pca;
  ClusteringOptions clustering;
};

struct ClusteringReport {
  int64_t cells_total = 0;       // in the embeddings file
  int64_t cells_unlabelled = 0;  // excluded: empty, "?", NaN, ... label
  std::vector<std::string> cell_ids, labels, batches;  // the scored cells
  std::vector<std::string> label_names;                // label code -> name (label_purity's order)
  ClusteringScores model;
  std::optional<ClusteringScores> pca;
  PcaResult pca_detail;          // HVGs, variance ratios, the PCA embedding
};

Result<ClusteringReport> evaluate_clustering(const ClusteringRequest& request);

// Writes what the comparison script (bench/compare_eval.py) checks into `dir`: model_clusters.tsv
// and pca_clusters.tsv (cell_id, label, batch, cluster), pca_hvg.txt, pca_variance.tsv,
// pca_embedding.tsv. Errors name the file.
Status write_clustering_dump(const std::string& dir, const ClusteringReport& report);

}  // namespace sccello::eval
