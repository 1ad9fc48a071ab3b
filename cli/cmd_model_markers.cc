// `sccello eval markers`: marker genes by in-silico deletion (model/markers.h). Thin: fills a
// MarkerRequest, calls evaluate_markers, prints the per-type AUROC table (and with --top the
// genes whose deletion moves the cells most), or one JSON object with --json.
#include <cmath>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/cli_context.h"
#include "cli/progress.h"
#include "cli/table.h"
#include "model/markers.h"

namespace sccello {
namespace {

struct MarkerArgs {
  MarkerRequest request;
  std::string cell;  // DATASET/ID
};

nlohmann::json report_json(const MarkerReport& r) {
  nlohmann::json types = nlohmann::json::array(), cells = nlohmann::json::array(), top = nlohmann::json::array();
  for (const auto& t : r.types)
    types.push_back({{"term_id", t.term_id}, {"name", t.name}, {"cells", t.cells}, {"scored_cells", t.scored_cells},
                     {"mean_auroc", json_number(t.mean_auroc)}, {"has_markers", t.has_markers}});
  for (const auto& c : r.cells)
    cells.push_back({{"cell_id", c.cell_id}, {"term_id", c.term_id}, {"genes", c.genes}, {"markers", c.markers},
                     {"auroc", json_number(c.auroc)}});
  for (const auto& g : r.top)
    top.push_back({{"gene_id", g.gene_id}, {"symbol", g.symbol}, {"score", g.score}, {"cells", g.cells},
                   {"marker", g.marker}});
  return {{"types", types}, {"cells", cells}, {"top", top}, {"markers", r.marker_source}, {"max_len", r.max_len},
          {"seconds", r.seconds}, {"forward_sequences", r.forward_sequences}};
}

void print_report(const CliContext& ctx, const MarkerReport& r) {
  if (ctx.format() == OutputFormat::kJson) {
    std::cout << report_json(r).dump(2) << '\n';
    return;
  }
  Table types{{"term_id", "name", "cells", "scored_cells", "mean_auroc"}, {}};
  for (const auto& t : r.types)
    types.add_row({t.term_id, t.name, std::to_string(t.cells), std::to_string(t.scored_cells),
                   t.has_markers ? format_number(t.mean_auroc) : "no markers"});
  print_table(types, ctx.format(), std::cout);
  if (!r.top.empty()) {
    if (ctx.format() == OutputFormat::kText) std::cout << "\ngenes whose deletion moves the embedding most:\n";
    Table genes{{"rank", "symbol", "gene_id", "score", "cells", "marker"}, {}};
    for (size_t i = 0; i < r.top.size(); ++i)
      genes.add_row({std::to_string(i + 1), r.top[i].symbol, r.top[i].gene_id, format_number(r.top[i].score, "%.5f"),
                     std::to_string(r.top[i].cells), r.top[i].marker ? "yes" : ""});
    print_table(genes, ctx.format(), std::cout);
  }
  if (ctx.format() == OutputFormat::kText)
    std::printf("%zu cells, %lld deletion sequences of up to %lld tokens in %.2f s (markers: %s)\n", r.cells.size(),
                (long long)r.forward_sequences, (long long)r.max_len, r.seconds, r.marker_source.c_str());
}

int run_markers(CliContext& ctx, MarkerArgs& a) {
  MarkerRequest& r = a.request;
  if (!a.cell.empty()) {
    const size_t slash = a.cell.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == a.cell.size())
      return report_error(Status::invalid("--cell must be DATASET/CELL_ID, not '" + a.cell + "'"));
    r.dataset = a.cell.substr(0, slash);
    r.cell = a.cell.substr(slash + 1);
  }
  if (r.dataset.empty()) return report_error(Status::invalid("give --dataset NAME (a corpus dataset) or --cell DATASET/ID"));
  r.threads = ctx.threads;
  r.progress = terminal_progress("cells");
  auto store = ctx.open_store(false);
  if (!store) return report_error(store.status());
  auto report = evaluate_markers(**store, r);
  if (!report) return report_error(report.status());
  print_report(ctx, *report);
  return 0;
}

}  // namespace

void add_markers_command(CLI::App& app, CliContext& ctx) {
  CLI::App* group = nullptr;
  try {
    group = app.get_subcommand("eval");  // registered by cmd_eval.cc
  } catch (const CLI::OptionNotFound&) {
    group = app.add_subcommand("eval", "zero-shot evaluation of cell embeddings");
  }
  auto a = std::make_shared<MarkerArgs>();
  MarkerRequest& r = a->request;
  auto* cmd = group->add_subcommand("markers", "marker genes by in-silico deletion: AUROC per type, --top genes");
  cmd->add_option("--checkpoint", r.checkpoint, "checkpoint file or training directory")->required();
  cmd->add_option("--dataset", r.dataset, "corpus dataset whose cells are scored");
  cmd->add_option("--cell", a->cell, "one cell: DATASET/CELL_ID");
  cmd->add_option("--type", r.type, "only cells of this CL id");
  cmd->add_option("--cells", r.max_cells, "cells to score, spread evenly over the dataset")->capture_default_str();
  cmd->add_option("--markers", r.markers, "accordion | panglao | a marker table path")->capture_default_str();
  cmd->add_option("--species", r.table.species, "marker table species")->capture_default_str();
  cmd->add_option("--top", r.top, "print the N genes whose deletion moves the cell(s) most");
  cmd->add_option("--max-len", r.deletion.max_len, "tokens per sequence (default: the checkpoint's max_len)");
  cmd->add_option("--batch-size", r.deletion.max_batch, "deletion sequences per forward pass")->capture_default_str();
  cmd->add_flag("--bf16", r.deletion.bf16, "bf16 autocast");
  cmd->callback([&ctx, a] { ctx.action = [&ctx, a] { return run_markers(ctx, *a); }; });
}

}  // namespace sccello
