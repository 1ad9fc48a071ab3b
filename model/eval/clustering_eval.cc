#include "model/eval/clustering_eval.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "model/eval/distance_pass.h"
#include "model/eval/eval_inputs.h"
#include "model/eval/knn_graph.h"
#include "model/eval/leiden.h"
#include "model/eval/partition_metrics.h"

namespace sccello::eval {
namespace {

std::vector<double> default_resolutions() {
  std::vector<double> r;
  for (int i = 1; i <= 20; ++i) r.push_back(i / 10.0);
  return r;
}

KnnLists lists_from_pass(const DistancePass& pass, int64_t n, int32_t k) {
  return KnnLists{n, k, pass.knn, pass.knn_dist};
}

// Leiden at every resolution; keeps the clustering with the best NMI (the first on ties).
Status best_clustering(const WeightedGraph& graph, const std::vector<int32_t>& label, const ClusteringOptions& options,
                       ClusteringScores* out) {
  out->nmi = -1;
  const std::vector<double> resolutions = options.resolutions.empty() ? default_resolutions() : options.resolutions;
  for (double r : resolutions) {
    LeidenOptions lo;
    lo.resolution = r;
    lo.seed = options.seed;
    lo.restarts = options.leiden_restarts > 0 ? options.leiden_restarts : (label.size() <= 20000 ? 4 : 1);
    SCCELLO_ASSIGN_OR_RETURN(LeidenResult found, leiden(graph, lo));
    const double nmi = normalized_mutual_info(label, found.membership);
    if (nmi <= out->nmi) continue;
    out->nmi = nmi;
    out->best_resolution = r;
    out->n_clusters = found.clusters;
    out->clusters = std::move(found.membership);
  }
  out->ari = adjusted_rand_index(label, out->clusters);
  return Status::ok();
}

// The cells to score: those with a label. Fills the report's ids/labels/batches.
void keep_labelled(const std::vector<std::string>& ids, const std::vector<std::string>& labels,
                   const std::vector<std::string>& batches, ClusteringReport* report, std::vector<int64_t>* rows) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (is_missing_label(labels[i])) {
      ++report->cells_unlabelled;
      continue;
    }
    rows->push_back(static_cast<int64_t>(i));
    report->cell_ids.push_back(ids[i]);
    report->labels.push_back(labels[i]);
    if (!batches.empty()) report->batches.push_back(batches[i].empty() ? "(missing)" : batches[i]);
  }
}

std::vector<float> select_rows(const std::vector<float>& values, int64_t dims, const std::vector<int64_t>& rows) {
  std::vector<float> out;
  out.reserve(rows.size() * dims);
  for (int64_t r : rows) out.insert(out.end(), values.begin() + r * dims, values.begin() + (r + 1) * dims);
  return out;
}

Status score_both(const ClusteringRequest& request, const std::vector<float>& model_values, int64_t dims,
                  ClusteringReport* report) {
  std::vector<std::string> batch_names;
  const std::vector<int32_t> label = encode_values(report->labels, &report->label_names);
  const std::vector<std::string>& label_names = report->label_names;
  const std::vector<int32_t> batch = encode_values(report->batches, &batch_names);
  const int32_t labels = static_cast<int32_t>(label_names.size()), batches = static_cast<int32_t>(batch_names.size());
  SCCELLO_ASSIGN_OR_RETURN(report->model, score_embedding(model_values, dims, label, labels, batch, batches, request.clustering));
  if (request.counts.empty()) return Status::ok();
  SCCELLO_ASSIGN_OR_RETURN(LogExpression expr, read_log_expression(request.counts, report->cell_ids, request.pca));
  SCCELLO_ASSIGN_OR_RETURN(report->pca_detail, pca_baseline(expr, request.pca));
  const PcaResult& p = report->pca_detail;
  SCCELLO_ASSIGN_OR_RETURN(ClusteringScores pca,
                           score_embedding(p.embedding, p.components, label, labels, batch, batches, request.clustering));
  report->pca = std::move(pca);
  return Status::ok();
}

}  // namespace

Result<ClusteringScores> score_embedding(const std::vector<float>& values, int64_t dims,
                                         const std::vector<int32_t>& label, int32_t labels,
                                         const std::vector<int32_t>& batch, int32_t batches,
                                         const ClusteringOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = static_cast<int64_t>(label.size());
  const int32_t k = options.n_neighbors - 1;  // the cell itself is implicit
  if (n <= options.n_neighbors) return Status::invalid("too few labelled cells to evaluate (" + std::to_string(n) + ")");
  if (labels < 2) return Status::invalid("every labelled cell has the same label: NMI/ARI/ASW need at least 2 labels");
  DistancePassOptions dp;
  dp.k = options.knn == KnnMethod::kExact ? k : 0;
  dp.threads = options.threads;
  const DistancePass pass = run_distance_pass(values, dims, label, labels, batch, batches, dp);
  const KnnLists lists = options.knn == KnnMethod::kExact ? lists_from_pass(pass, n, k)
                                                          : hnsw_knn(values, dims, k, options.threads);
  const WeightedGraph graph = options.umap_weights ? umap_connectivities(lists) : unweighted_knn_graph(lists);
  ClusteringScores s;
  s.n_cells = n;
  SCCELLO_RETURN_IF_ERROR(best_clustering(graph, label, options, &s));
  s.asw_label = (silhouette_from_sums(pass, label) + 1) / 2;
  s.label_purity = knn_label_purity(lists.index, lists.k, label, labels);
  s.avg_bio = (s.nmi + s.ari + s.asw_label) / 3;
  if (!batch.empty()) {
    s.has_batch = true;
    s.asw_batch = batch_silhouette_from_sums(pass, label, batch);
    s.graph_conn = graph_connectivity(graph, label, labels);
    s.avg_batch = (s.asw_batch + s.graph_conn) / 2;
  }
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s;
}

std::vector<double> knn_label_purity(const std::vector<int32_t>& knn, int32_t k, const std::vector<int32_t>& label,
                                     int32_t labels) {
  std::vector<double> sum(labels, 0.0);
  std::vector<int64_t> cells(labels, 0);
  for (size_t i = 0; i < label.size(); ++i) {
    int32_t listed = 0, same = 0;
    for (int32_t j = 0; j < k; ++j) {
      const int32_t other = knn[i * k + j];
      if (other < 0) continue;
      ++listed;
      same += label[other] == label[i];
    }
    if (listed == 0) continue;
    sum[label[i]] += static_cast<double>(same) / listed;
    ++cells[label[i]];
  }
  for (int32_t l = 0; l < labels; ++l) sum[l] = cells[l] > 0 ? sum[l] / cells[l] : 0.0;
  return sum;
}

Result<ClusteringReport> evaluate_clustering(const ClusteringRequest& request) {
  if (request.label_column.empty()) return Status::invalid("give the label column (--label-column NAME)");
  SCCELLO_ASSIGN_OR_RETURN(Embeddings e, read_embeddings(request.embeddings, request.key));
  const std::string obs = request.obs.empty() ? request.embeddings : request.obs;
  SCCELLO_ASSIGN_OR_RETURN(std::vector<std::string> labels, read_obs_column(obs, request.label_column, e.cell_ids));
  std::vector<std::string> batches;
  if (!request.batch_column.empty()) {
    SCCELLO_ASSIGN_OR_RETURN(batches, read_obs_column(obs, request.batch_column, e.cell_ids));
  }
  ClusteringReport report;
  report.cells_total = e.num_cells();
  std::vector<int64_t> rows;
  keep_labelled(e.cell_ids, labels, batches, &report, &rows);
  const std::vector<float> values = select_rows(e.values, e.dims, rows);
  SCCELLO_RETURN_IF_ERROR(score_both(request, values, e.dims, &report));
  return report;
}

namespace {

Status write_clusters(const std::string& path, const ClusteringReport& r, const ClusteringScores& s) {
  std::ofstream out(path);
  out << "cell_id\tlabel\tbatch\tcluster\n";
  for (size_t i = 0; i < r.cell_ids.size(); ++i)
    out << r.cell_ids[i] << '\t' << r.labels[i] << '\t' << (r.batches.empty() ? "" : r.batches[i]) << '\t'
        << s.clusters[i] << '\n';
  return out.good() ? Status::ok() : Status::io_error("cannot write " + path);
}

Status write_pca(const std::string& dir, const ClusteringReport& r) {
  const PcaResult& p = r.pca_detail;
  std::ofstream hvg(dir + "/pca_hvg.txt"), var(dir + "/pca_variance.tsv"), emb(dir + "/pca_embedding.tsv");
  for (const auto& g : p.hvg_ids) hvg << g << '\n';
  var << "component\tvariance_ratio\n";
  char buf[40];
  for (size_t c = 0; c < p.variance_ratio.size(); ++c) {
    std::snprintf(buf, sizeof buf, "%.12g", p.variance_ratio[c]);
    var << c << '\t' << buf << '\n';
  }
  emb << "cell_id";
  for (int32_t c = 0; c < p.components; ++c) emb << "\tdim" << c;
  emb << '\n';
  for (size_t i = 0; i < r.cell_ids.size(); ++i) {
    emb << r.cell_ids[i];
    for (int32_t c = 0; c < p.components; ++c) {
      std::snprintf(buf, sizeof buf, "\t%.9g", p.embedding[i * p.components + c]);
      emb << buf;
    }
    emb << '\n';
  }
  return hvg.good() && var.good() && emb.good() ? Status::ok() : Status::io_error("cannot write the PCA files in " + dir);
}

}  // namespace

Status write_clustering_dump(const std::string& dir, const ClusteringReport& report) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::io_error("cannot create " + dir + ": " + ec.message());
  SCCELLO_RETURN_IF_ERROR(write_clusters(dir + "/model_clusters.tsv", report, report.model));
  if (!report.pca) return Status::ok();
  SCCELLO_RETURN_IF_ERROR(write_clusters(dir + "/pca_clusters.tsv", report, *report.pca));
  return write_pca(dir, report);
}

}  // namespace sccello::eval
