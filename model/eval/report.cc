#include "model/eval/report.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "model/eval/embedding_layout.h"
#include "model/eval/eval_inputs.h"
#include "model/eval/svg_plot.h"
#include "store/formats/h5ad_reader.h"
#include "store/text_lines.h"

namespace sccello::eval {
namespace {

namespace fs = std::filesystem;

std::string fmt(double v) {
  if (!std::isfinite(v)) return "&ndash;";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

// The x/y series of `field` over the rows of `type`.
Series series_of(const std::vector<MetricsRow>& rows, const std::string& type, const std::string& field,
                 const std::string& name) {
  Series s;
  s.name = name;
  for (const MetricsRow& r : rows) {
    if (r.type != type) continue;
    auto step = r.values.find("step"), v = r.values.find(field);
    if (step == r.values.end() || v == r.values.end()) continue;
    s.x.push_back(step->second);
    s.y.push_back(v->second);
  }
  return s;
}

bool is_validation(const std::string& type) { return type == "validation" || type == "val"; }

// One small chart per loss term, validation rows as markers; accuracies; train-time eval scores.
std::string curves_section(const std::vector<MetricsRow>& rows) {
  std::vector<MetricsRow> normalised = rows;
  for (MetricsRow& r : normalised)
    if (is_validation(r.type)) r.type = "validation";
  std::ostringstream s;
  s << "<h2>Training curves</h2><div class=\"charts\">";
  for (const char* term : {"loss", "mgp", "intra", "inter", "reg"}) {
    Series train = series_of(normalised, "train", term, "train");
    if (train.x.empty()) continue;
    Series val = series_of(normalised, "validation", term, "validation");
    val.markers = true;
    s << svg_line_chart({train, val}, {360, 220, std::string(term == std::string("loss") ? "total loss" : term), "step"});
  }
  Series mgp_acc = series_of(normalised, "train", "mgp_acc", "mgp_acc");
  Series coh_acc = series_of(normalised, "train", "coherence_acc", "coherence_acc");
  if (!mgp_acc.x.empty()) s << svg_line_chart({mgp_acc, coh_acc}, {360, 220, "train accuracy", "step"});
  std::vector<Series> evals;
  for (const char* m : {"nmi", "ari", "asw_label", "avg_bio"}) {
    Series e = series_of(normalised, "eval", m, m);
    if (!e.x.empty()) evals.push_back(e);
  }
  if (!evals.empty()) s << svg_line_chart(evals, {360, 220, "train-time clustering evaluation", "step"});
  s << "</div>";
  return s.str();
}

std::string eval_table(const std::vector<EvalTableRow>& rows) {
  static const char* kCols[] = {"nmi", "ari", "asw_label", "avg_bio", "asw_batch", "graph_conn", "avg_batch"};
  std::ostringstream s;
  s << "<h2>Clustering evaluation (scib; PCA-on-HVG baseline)</h2><table class=\"eval\"><thead><tr><th>file</th>"
       "<th>embedding</th>";
  for (const char* c : kCols) s << "<th>" << c << "</th>";
  s << "</tr></thead><tbody>";
  for (const EvalTableRow& r : rows) {
    s << "<tr class=\"" << r.embedding << "\"><td>" << html_escape(r.source) << "</td><td>" << r.embedding << "</td>";
    for (const char* c : kCols) {
      auto it = r.values.find(c);
      s << "<td>" << (it == r.values.end() ? "&ndash;" : fmt(it->second)) << "</td>";
    }
    s << "</tr>";
  }
  s << "</tbody></table>";
  return s.str();
}

// Evenly spaced rows (all when n <= max).
std::vector<int64_t> subsample(int64_t n, int64_t max) {
  std::vector<int64_t> rows;
  const int64_t m = max > 0 ? std::min(n, max) : n;
  for (int64_t k = 0; k < m; ++k) rows.push_back(k * n / m);
  return rows;
}

Result<std::string> map_section(const ReportRequest& r) {
  if (r.label_column.empty())
    return Status::invalid("--embeddings needs --label-column (the obs column to colour the map by)");
  SCCELLO_ASSIGN_OR_RETURN(Embeddings e, read_embeddings(r.embeddings, r.key));
  const std::vector<int64_t> rows = subsample(e.num_cells(), r.max_points);
  std::vector<std::string> ids;
  std::vector<float> values;
  for (int64_t i : rows) {
    ids.push_back(e.cell_ids[i]);
    values.insert(values.end(), e.values.begin() + i * e.dims, e.values.begin() + (i + 1) * e.dims);
  }
  const std::string obs = r.obs.empty() ? r.embeddings : r.obs;
  LayoutOptions lo;
  lo.seed = r.seed, lo.threads = r.threads;
  SCCELLO_ASSIGN_OR_RETURN(std::vector<double> xy, umap_layout(values, e.dims, lo));
  std::ostringstream s;
  s << "<h2>Embedding map</h2><p>" << ids.size() << " of " << e.num_cells()
    << " cells; igraph UMAP layout of the 15-nearest-neighbour graph (PCA start).</p><div class=\"charts\">";
  std::vector<std::pair<std::string, std::string>> colourings = {{"label", r.label_column}};
  if (!r.batch_column.empty()) colourings.push_back({"batch", r.batch_column});
  for (const auto& [what, column] : colourings) {
    SCCELLO_ASSIGN_OR_RETURN(std::vector<std::string> v, read_obs_column(obs, column, ids));
    for (std::string& x : v)
      if (is_missing_label(x)) x = "(missing)";
    std::vector<std::string> names;
    const std::vector<int32_t> codes = encode_values(v, &names);
    s << svg_scatter(xy, codes, names, {620, 420, "by " + what + " (" + column + ")", ""});
  }
  s << "</div>";
  return s.str();
}

Result<std::vector<std::string>> file_cell_ids(const std::string& path) {
  if (ends_with(path, ".h5ad")) {
    SCCELLO_ASSIGN_OR_RETURN(auto reader, open_h5ad(path, H5adOptions{}));
    return reader->cell_ids(0, reader->num_cells());
  }
  TextLines lines;
  SCCELLO_RETURN_IF_ERROR(lines.open(path));
  std::vector<std::string> ids;
  std::string line;
  lines.next(&line);  // header
  while (lines.next(&line))
    if (!line.empty()) ids.push_back(split_fields(line, '\t')[0]);
  return ids;
}

Result<std::string> confusion_section(const ReportRequest& r) {
  const std::string truth_column = r.truth_column.empty() ? r.label_column : r.truth_column;
  if (truth_column.empty()) return Status::invalid("--annotations needs --truth-column (or --label-column)");
  SCCELLO_ASSIGN_OR_RETURN(std::vector<std::string> ids, file_cell_ids(r.annotations));
  SCCELLO_ASSIGN_OR_RETURN(std::vector<std::string> predicted, read_obs_column(r.annotations, r.predicted_column, ids));
  SCCELLO_ASSIGN_OR_RETURN(std::vector<std::string> truth, read_obs_column(r.annotations, truth_column, ids));
  std::vector<std::string> t_kept, p_kept;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (is_missing_label(truth[i])) continue;
    t_kept.push_back(truth[i]);
    p_kept.push_back(is_missing_label(predicted[i]) ? "(none)" : predicted[i]);
  }
  std::vector<std::string> rows, cols;
  const std::vector<int32_t> tc = encode_values(t_kept, &rows), pc = encode_values(p_kept, &cols);
  std::vector<int64_t> counts(rows.size() * cols.size(), 0);
  int64_t same = 0;
  for (size_t i = 0; i < tc.size(); ++i) ++counts[tc[i] * cols.size() + pc[i]], same += t_kept[i] == p_kept[i];
  std::ostringstream s;
  s << "<h2>Annotation confusion matrix</h2><p>" << t_kept.size() << " cells with a truth value; rows "
    << html_escape(truth_column) << ", columns " << html_escape(r.predicted_column) << "; exact agreement "
    << fmt(t_kept.empty() ? NAN : double(same) / double(t_kept.size())) << ".</p>";
  s << svg_heatmap(counts, rows, cols, {900, 400, "truth vs predicted", ""});
  return s.str();
}

const char* kStyle =
    "<style>body{font-family:sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}"
    ".charts{display:flex;flex-wrap:wrap;gap:12px}table.eval{border-collapse:collapse}"
    "table.eval td,table.eval th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "tr.pca{background:#f4f4f4}p.note{color:#666;font-size:12px}</style>";

}  // namespace

Result<std::vector<MetricsRow>> read_metrics(const std::string& path) {
  TextLines lines;
  SCCELLO_RETURN_IF_ERROR(lines.open(path));
  std::vector<MetricsRow> rows;
  std::string line;
  while (lines.next(&line)) {
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return Status::invalid(path + ":" + std::to_string(lines.line_number()) + ": not a JSON object");
    MetricsRow row;
    row.type = j.value("type", "train");
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.value().is_number()) row.values[it.key()] = it.value().get<double>();
    rows.push_back(std::move(row));
  }
  SCCELLO_RETURN_IF_ERROR(lines.error());
  return rows;
}

Result<std::vector<EvalTableRow>> read_eval_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::not_found("cannot read " + path + " (an `eval clustering --json` output)");
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("model"))
    return Status::invalid(path + ": not an `eval clustering --json` output (no \"model\" object)");
  std::vector<EvalTableRow> rows;
  for (const char* side : {"model", "pca"}) {
    if (!j.contains(side) || !j[side].is_object()) continue;
    EvalTableRow row{fs::path(path).filename().string(), side, {}};
    for (auto it = j[side].begin(); it != j[side].end(); ++it)
      row.values[it.key()] = it.value().is_number() ? it.value().get<double>() : NAN;
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<std::string> render_report(const ReportRequest& r) {
  std::ostringstream html;
  html << "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" << html_escape(r.title) << "</title>" << kStyle
       << "</head><body><h1>" << html_escape(r.title) << "</h1>";
  if (!r.run_dir.empty()) {
    html << "<p class=\"note\">run: " << html_escape(r.run_dir) << "</p>";
    SCCELLO_ASSIGN_OR_RETURN(std::vector<MetricsRow> rows, read_metrics((fs::path(r.run_dir) / "metrics.jsonl").string()));
    html << curves_section(rows);
  }
  if (!r.eval_jsons.empty()) {
    std::vector<EvalTableRow> table;
    for (const std::string& path : r.eval_jsons) {
      SCCELLO_ASSIGN_OR_RETURN(std::vector<EvalTableRow> rows, read_eval_json(path));
      table.insert(table.end(), rows.begin(), rows.end());
    }
    html << eval_table(table);
  }
  if (!r.embeddings.empty()) {
    SCCELLO_ASSIGN_OR_RETURN(std::string section, map_section(r));
    html << section;
  }
  if (!r.annotations.empty()) {
    SCCELLO_ASSIGN_OR_RETURN(std::string section, confusion_section(r));
    html << section;
  }
  html << "</body></html>\n";
  return html.str();
}

Status write_report(const ReportRequest& request, const std::string& out) {
  SCCELLO_ASSIGN_OR_RETURN(std::string html, render_report(request));
  const std::string tmp = out + ".tmp-" + std::to_string(getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return Status::io_error("cannot write " + out + " (is the folder there and writable?)");
    f << html;
    if (!f.flush()) {
      std::remove(tmp.c_str());
      return Status::io_error("cannot write " + out + " (disk full?)");
    }
  }
  std::error_code ec;
  fs::rename(tmp, out, ec);
  if (ec) {
    std::remove(tmp.c_str());
    return Status::io_error("cannot write " + out + ": " + ec.message());
  }
  return Status::ok();
}

}  // namespace sccello::eval
