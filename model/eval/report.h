// The evaluation report of a training run: one self-contained HTML page (inline SVG, no script,
// nothing fetched) with the loss curves per term from <run>/metrics.jsonl (train, validation and
// train-time "eval" rows), the clustering table of `eval clustering --json` outputs (model and
// PCA rows side by side), an embedding map (igraph's UMAP layout of the kNN graph) coloured by
// label and by batch, and a confusion matrix of annotations against a truth column.
// `write_report` is the one call per user task. Not thread-safe (igraph's generator).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph/status.h"

namespace sccello::eval {

struct ReportRequest {
  std::string run_dir;                  // holds metrics.jsonl ("" = no curves)
  std::vector<std::string> eval_jsons;  // `eval clustering --json` outputs
  std::string embeddings, key;          // embedding map: .h5ad (obsm key, "" = X_sccello) or .tsv
  std::string obs;                      // annotations of the embeddings ("" = the embeddings file)
  std::string label_column, batch_column;
  std::string annotations;              // annotated cells (.h5ad or TSV) for the confusion matrix
  std::string predicted_column = "sccello_term_id";
  std::string truth_column;             // "" = the label column
  int64_t max_points = 5000;            // embedding map: evenly spaced subsample above this
  uint64_t seed = 0;
  int threads = 1;
  std::string title = "sccello report";
};

// One row of metrics.jsonl: its type ("train", "validation", "eval") and numeric fields.
struct MetricsRow {
  std::string type;
  std::map<std::string, double> values;
};

// Parses metrics.jsonl; malformed lines are errors naming the file and line.
Result<std::vector<MetricsRow>> read_metrics(const std::string& path);

struct EvalTableRow {
  std::string source, embedding;        // file name; "model" or "pca"
  std::map<std::string, double> values; // nmi, ari, asw_label, avg_bio[, asw_batch, graph_conn, avg_batch]
};
// The model and pca objects of one `eval clustering --json` output.
Result<std::vector<EvalTableRow>> read_eval_json(const std::string& path);

// The page as a string.
Result<std::string> render_report(const ReportRequest& request);
// Renders and writes `out` (atomically: a temporary file renamed). Errors name the file.
Status write_report(const ReportRequest& request, const std::string& out);

}  // namespace sccello::eval
