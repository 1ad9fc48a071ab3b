// `sccello report RUN_DIR --out report.html`: the evaluation report of a run (model/eval/report.h).
// Thin: fills a ReportRequest and writes the page.
#include <cstdio>

#include "cli/cli_context.h"
#include "model/eval/report.h"

namespace sccello {
namespace {

struct ReportArgs {
  eval::ReportRequest request;
  std::string out = "report.html";
};

int run_report(const CliContext& ctx, ReportArgs& a) {
  a.request.threads = ctx.threads;
  if (a.request.run_dir.empty() && a.request.eval_jsons.empty() && a.request.embeddings.empty() &&
      a.request.annotations.empty())
    return report_error(Status::invalid("nothing to report: give RUN_DIR, --eval, --embeddings or --annotations"));
  if (Status s = eval::write_report(a.request, a.out); !s.is_ok()) return report_error(s);
  std::printf("report written to %s\n", a.out.c_str());
  return 0;
}

}  // namespace

void add_report_command(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<ReportArgs>();
  eval::ReportRequest& r = a->request;
  CLI::App* cmd = app.add_subcommand("report", "one self-contained HTML page: loss curves, evaluation table, "
                                               "embedding map, confusion matrix");
  cmd->add_option("run_dir", r.run_dir, "training directory (holds metrics.jsonl)");
  cmd->add_option("--eval", r.eval_jsons, "`eval clustering --json` outputs (repeatable)");
  cmd->add_option("--embeddings", r.embeddings, "embeddings for the map: .h5ad (obsm) or .tsv");
  cmd->add_option("--key", r.key, "obsm key of an .h5ad (default X_sccello)");
  cmd->add_option("--obs", r.obs, "annotations of the embeddings (default: the embeddings file)");
  cmd->add_option("--label-column", r.label_column, "colour the map by this column");
  cmd->add_option("--batch-column", r.batch_column, "and by this one");
  cmd->add_option("--max-points", r.max_points, "cells drawn on the map (evenly spaced subsample)")->capture_default_str();
  cmd->add_option("--annotations", r.annotations, "annotated cells (.h5ad or TSV): confusion matrix");
  cmd->add_option("--predicted-column", r.predicted_column, "prediction column of --annotations")->capture_default_str();
  cmd->add_option("--truth-column", r.truth_column, "truth column of --annotations (default: --label-column)");
  cmd->add_option("--title", r.title, "page title")->capture_default_str();
  cmd->add_option("--seed", r.seed, "layout seed")->capture_default_str();
  cmd->add_option("--out", a->out, "output .html")->capture_default_str();
  cmd->callback([&ctx, a] { ctx.action = [&ctx, a] { return run_report(ctx, *a); }; });
}

}  // namespace sccello
