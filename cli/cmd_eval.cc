// `sccello eval clustering|novel`: zero-shot evaluation of embeddings (model/eval/). Thin: fills
// the library's request, calls it, prints a table (text / --tsv) or one JSON object (--json).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/cli_context.h"
#include "cli/table.h"
#include "model/eval/clustering_eval.h"
#include "model/eval/novel_types.h"
#include "store/safe_text.h"

namespace sccello {
namespace {

struct ClusteringArgs {
  eval::ClusteringRequest request;
  std::string baseline, knn = "exact", dump_dir;
  bool per_label = false;
};

nlohmann::json purity_json(const eval::ClusteringReport& r, const eval::ClusteringScores& s) {
  nlohmann::json j = nlohmann::json::object();
  for (size_t l = 0; l < r.label_names.size() && l < s.label_purity.size(); ++l)
    j[r.label_names[l]] = json_number(s.label_purity[l]);
  return j;
}

// One row per label: cells, and the kNN purity of the model (and of the PCA baseline).
void print_label_purity(const CliContext& ctx, const eval::ClusteringReport& r) {
  std::map<std::string, int64_t> cells;
  for (const auto& l : r.labels) ++cells[l];
  Table t{{"label", "cells", "model_purity"}, {}};
  if (r.pca) t.columns.push_back("pca_purity");
  for (size_t l = 0; l < r.label_names.size(); ++l) {
    std::vector<std::string> row{r.label_names[l], std::to_string(cells[r.label_names[l]]),
                                 format_number(r.model.label_purity[l])};
    if (r.pca) row.push_back(format_number(r.pca->label_purity[l]));
    t.add_row(std::move(row));
  }
  print_table(t, ctx.format(), std::cout);
}

nlohmann::json scores_json(const eval::ClusteringScores& s) {
  nlohmann::json j = {{"nmi", json_number(s.nmi)}, {"ari", json_number(s.ari)}, {"asw_label", json_number(s.asw_label)},
                      {"avg_bio", json_number(s.avg_bio)}};
  if (s.has_batch) {
    j["asw_batch"] = json_number(s.asw_batch);
    j["graph_conn"] = json_number(s.graph_conn);
    j["avg_batch"] = json_number(s.avg_batch);
  }
  j["best_resolution"] = s.best_resolution;
  j["n_clusters"] = s.n_clusters;
  j["n_cells"] = s.n_cells;
  j["seconds"] = s.seconds;
  return j;
}

void add_scores_row(Table* t, const std::string& name, const eval::ClusteringScores& s) {
  std::vector<std::string> row{name, format_number(s.nmi), format_number(s.ari), format_number(s.asw_label), format_number(s.avg_bio)};
  if (s.has_batch) {
    for (double v : {s.asw_batch, s.graph_conn, s.avg_batch}) row.push_back(format_number(v));
  }
  for (std::string v : {format_number(s.best_resolution, "%.1f"), std::to_string(s.n_clusters), std::to_string(s.n_cells)})
    row.push_back(v);
  t->add_row(std::move(row));
}

void print_clustering(const CliContext& ctx, const eval::ClusteringReport& r, bool per_label, int32_t neighbours) {
  if (ctx.format() == OutputFormat::kJson) {
    nlohmann::json j = {{"model", scores_json(r.model)}};
    j["model"]["label_purity"] = purity_json(r, r.model);
    if (r.pca) {
      j["pca"] = scores_json(*r.pca);
      j["pca"]["label_purity"] = purity_json(r, *r.pca);
    }
    j["cells_total"] = r.cells_total;
    j["cells_unlabelled"] = r.cells_unlabelled;
    std::cout << json_dump(j, 2) << '\n';
    return;
  }
  Table t{{"embedding", "nmi", "ari", "asw_label", "avg_bio"}, {}};
  if (r.model.has_batch) t.columns.insert(t.columns.end(), {"asw_batch", "graph_conn", "avg_batch"});
  t.columns.insert(t.columns.end(), {"best_resolution", "n_clusters", "n_cells"});
  add_scores_row(&t, "model", r.model);
  if (r.pca) add_scores_row(&t, "pca", *r.pca);
  print_table(t, ctx.format(), std::cout);
  if (ctx.format() == OutputFormat::kText)
    std::cout << r.cells_total << " cells; " << r.cells_unlabelled << " without a label excluded; "
              << "model scored in " << format_number(r.model.seconds, "%.1f") << " s"
              << (r.pca ? ", PCA baseline (" + std::to_string(r.pca_detail.hvg.size()) + " HVGs, " +
                              std::to_string(r.pca_detail.components) + " PCs) in " + format_number(r.pca->seconds, "%.1f") + " s"
                        : std::string())
              << "\n";
  if (!per_label) return;
  if (ctx.format() == OutputFormat::kText)
    std::cout << "\nkNN purity per label (share of a cell's " << neighbours << " nearest cells with its label):\n";
  print_label_purity(ctx, r);
}

int run_clustering(const CliContext& ctx, ClusteringArgs& a) {
  if (!a.baseline.empty() && a.baseline != "pca") return report_error(Status::invalid("--baseline must be pca"));
  if (a.baseline == "pca" && a.request.counts.empty())
    return report_error(Status::invalid("--baseline pca needs --counts FILE.h5ad (the counts of the same cells)"));
  if (a.baseline.empty()) a.request.counts.clear();
  if (a.knn != "exact" && a.knn != "hnsw") return report_error(Status::invalid("--knn must be exact or hnsw"));
  a.request.clustering.knn = a.knn == "hnsw" ? eval::KnnMethod::kHnsw : eval::KnnMethod::kExact;
  a.request.clustering.threads = ctx.threads;
  auto report = eval::evaluate_clustering(a.request);
  if (!report) return report_error(report.status());
  if (!a.dump_dir.empty()) {
    if (Status s = eval::write_clustering_dump(a.dump_dir, *report); !s) return report_error(s);
  }
  print_clustering(ctx, *report, a.per_label, a.request.clustering.n_neighbors - 1);
  return 0;
}

void add_clustering(CLI::App* group, CliContext& ctx) {
  auto a = std::make_shared<ClusteringArgs>();
  auto* cmd = group->add_subcommand("clustering", "scib clustering metrics (NMI, ARI, ASW, AvgBio[, batch]) with a PCA baseline");
  eval::ClusteringRequest& r = a->request;
  cmd->add_option("--embeddings", r.embeddings, "embeddings: .h5ad (obsm) or .tsv as `sccello embed` writes")->required();
  cmd->add_option("--key", r.key, "obsm key of an .h5ad (default X_sccello)");
  cmd->add_option("--obs", r.obs, "annotations: .h5ad (obs) or TSV with a header (default: the embeddings file)");
  cmd->add_option("--label-column", r.label_column, "cell type column")->required();
  cmd->add_option("--batch-column", r.batch_column, "batch column: adds ASW_batch, graph connectivity, AvgBatch");
  cmd->add_option("--baseline", a->baseline, "pca: score the PCA-on-HVG baseline beside the model");
  cmd->add_option("--counts", r.counts, ".h5ad with the counts of the same cells (for --baseline pca)");
  cmd->add_flag("--assume-normalized", r.pca.assume_normalized, "the counts matrix already holds log1p(CP10k) values");
  cmd->add_option("--neighbors", r.clustering.n_neighbors, "k of the kNN graph, the cell itself included")->capture_default_str();
  cmd->add_option("--knn", a->knn, "exact | hnsw")->capture_default_str();
  cmd->add_option("--seed", r.clustering.seed, "Leiden random seed")->capture_default_str();
  cmd->add_flag("--per-label", a->per_label, "also print each label's kNN purity (model and PCA); --json always has it");
  cmd->add_option("--dump-dir", a->dump_dir, "write clusters, HVGs, PCA variance and embedding here (bench/compare_eval.py)");
  cmd->callback([&ctx, a] { ctx.action = [&ctx, a] { return run_clustering(ctx, *a); }; });
}

struct NovelArgs {
  eval::NovelRequest request;
  std::string held_out;
  bool no_cache = false;
};

void print_novel(const CliContext& ctx, const eval::NovelReport& r) {
  if (ctx.format() == OutputFormat::kJson) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& s : r.scores)
      rows.push_back({{"fraction", s.fraction}, {"candidates", s.candidates}, {"accuracy", s.accuracy},
                      {"accuracy_sd", s.accuracy_sd}, {"macro_f1", s.macro_f1}, {"macro_f1_sd", s.macro_f1_sd}});
    nlohmann::json j = {{"scores", rows}, {"seen", r.seen}, {"unseen", r.unseen}, {"target", r.target},
                        {"reference_cells", r.reference_cells}, {"query_cells", r.query_cells},
                        {"query_cells_ignored", r.query_cells_ignored}};
    std::cout << json_dump(j, 2) << '\n';
    return;
  }
  Table t{{"fraction", "candidates", "accuracy", "accuracy_sd", "macro_f1", "macro_f1_sd"}, {}};
  for (const auto& s : r.scores)
    t.add_row({format_number(s.fraction, "%.2f"), std::to_string(s.candidates), format_number(s.accuracy), format_number(s.accuracy_sd),
               format_number(s.macro_f1), format_number(s.macro_f1_sd)});
  print_table(t, ctx.format(), std::cout);
  if (ctx.format() == OutputFormat::kText)
    std::cout << r.seen.size() << " seen types from " << r.reference_cells << " reference cells; " << r.unseen.size()
              << " unseen types, " << r.query_cells << " query cells (" << r.query_cells_ignored
              << " with other labels ignored); similarity " << r.target << "\n";
}

int run_novel(const CliContext& ctx, NovelArgs& a) {
  a.request.held_out = split_list(a.held_out);
  if (!std::filesystem::exists(ctx.store_path))
    return report_error(Status::not_found("no store at " + ctx.store_path +
                                          ": import a release first (`sccello ontology import FILE --store PATH`)"));
  auto store = ctx.open_store_for_cache();
  if (!store) return report_error(store.status());
  a.request.target_context.store = store->get();
  a.request.target_context.release = ctx.release;
  a.request.target_context.threads = ctx.threads;
  a.request.target_context.use_cache = !a.no_cache;
  auto report = eval::evaluate_novel_types(a.request);
  if (!report) return report_error(report.status());
  print_novel(ctx, *report);
  return 0;
}

void add_novel(CLI::App* group, CliContext& ctx) {
  auto a = std::make_shared<NovelArgs>();
  eval::NovelRequest& r = a->request;
  auto* cmd = group->add_subcommand("novel", "scCello's novel cell type protocol (cosine to seen centroids vs PPR, Spearman)");
  cmd->add_option("--reference", r.reference, "reference embeddings (.h5ad or .tsv): the seen types")->required();
  cmd->add_option("--reference-obs", r.reference_obs, "reference annotations (default: the reference file)");
  cmd->add_option("--query", r.query, "query embeddings (.h5ad or .tsv)")->required();
  cmd->add_option("--query-obs", r.query_obs, "query annotations (default: the query file)");
  cmd->add_option("--key", r.reference_key, "obsm key of .h5ad inputs (default X_sccello)");
  cmd->add_option("--label-column", r.label_column, "column of CL term ids")->required();
  cmd->add_option("--held-out", a->held_out, "the unseen types: CL:a,CL:b,...")->required();
  cmd->add_option("--draws", r.draws, "random candidate sets per fraction")->capture_default_str();
  cmd->add_option("--seed", r.seed, "seed of the candidate draws")->capture_default_str();
  cmd->add_option("--target", r.target, "similarity provider spec (see `targets list`)")->capture_default_str();
  cmd->add_flag("--no-cache", a->no_cache, "neither read nor write the store's target cache");
  cmd->callback([&ctx, a] {
    ctx.action = [&ctx, a] {
      a->request.query_key = a->request.reference_key;
      return run_novel(ctx, *a);
    };
  });
}

}  // namespace

void add_eval_commands(CLI::App& app, CliContext& ctx) {
  CLI::App* group = app.add_subcommand("eval", "zero-shot evaluation of cell embeddings (scib metrics, novel types)");
  group->require_subcommand(1);
  add_clustering(group, ctx);
  add_novel(group, ctx);
}

}  // namespace sccello
