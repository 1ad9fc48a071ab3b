// `sccello annotate`: Cell Ontology terms for new cells from a reference index (sccello-model).
#include <cstdio>
#include <iostream>

#include "cli/cli_context.h"
#include "cli/progress.h"
#include "model/annotate_job.h"

namespace sccello {
namespace {

struct AnnotateArgs {
  AnnotateRequest request;
  std::string reference_datasets, reference_under, reference_not_under;
};

int run(CliContext& ctx, AnnotateArgs& a) {
  AnnotateRequest& r = a.request;
  r.threads = ctx.threads;
  r.release = ctx.release;
  r.progress = terminal_progress("embedded");
  r.options.filters.datasets = split_list(a.reference_datasets);
  r.options.filters.under = split_list(a.reference_under);
  r.options.filters.not_under = split_list(a.reference_not_under);
  auto store = ctx.open_store_for_cache();
  if (!store) return report_error(store.status());
  auto summary = run_annotate(**store, r);
  if (!summary) return report_error(summary.status());
  const AnnotateSummary& s = *summary;
  if (!s.gene_mapping.empty()) std::fprintf(stderr, "%s: %s\n", r.input.c_str(), s.gene_mapping.c_str());
  const double total = s.embed_seconds + s.annotate_seconds + s.write_seconds;
  std::printf("annotated %lld cells through release %s (model %s) -> %s\n", (long long)s.cells, s.release.c_str(),
              s.model_id.c_str(), r.out.c_str());
  std::printf("time: %s %.2fs, search + call + novel %.2fs, write %.2fs (%.1f cells/s)\n",
              s.reused_embeddings ? "embeddings reused from the index build" : "embed", s.embed_seconds,
              s.annotate_seconds, s.write_seconds, total > 0 ? s.cells / total : 0.0);
  const AnnotateTiming& d = s.annotate_detail;
  std::printf("  search %.2fs, ontology roll-up + call %.2fs, novel types %.2fs, smoothing %.2fs "
              "(roll-up + novel: %.1f%% of the whole)\n",
              d.search, d.roll_up, d.novel, d.smooth, total > 0 ? 100.0 * (d.roll_up + d.novel) / total : 0.0);
  std::printf("calls:");
  for (size_t i = 0; i < s.calls.size() && i < 12; ++i)
    std::printf("%s %s: %lld", i ? "," : "", s.calls[i].first.c_str(), (long long)s.calls[i].second);
  std::printf("\nflagged novel: %lld\n", (long long)s.novel);
  return 0;
}

}  // namespace

void add_annotate_command(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<AnnotateArgs>();
  AnnotateRequest& r = a->request;
  AnnotateOptions& o = r.options;
  CLI::App* cmd = app.add_subcommand("annotate", "annotate cells with Cell Ontology terms from a reference index");
  cmd->add_option("--index", r.index, "reference index (sccello index list)")->required();
  cmd->add_option("--h5ad", r.input, "cells to annotate: .h5ad, 10x MTX folder or 10x .h5");
  cmd->add_option("--dataset", r.dataset, "or a corpus dataset (its own cells are left out of its neighbours)");
  cmd->add_option("--out", r.out, "output .h5ad (the input copied + obsm/X_sccello, obs sccello_*, uns/sccello)")
      ->required();
  cmd->add_option("--tsv", r.tsv, "also write the per-cell columns as TSV");
  cmd->add_flag("--force", r.force, "overwrite existing outputs");
  cmd->add_option("--checkpoint", r.checkpoint, "the index's checkpoint, if it moved");
  cmd->add_option("--reference-datasets", a->reference_datasets, "use only these indexed datasets as reference");
  cmd->add_option("--reference-under", a->reference_under, "use only reference cells under these CL terms");
  cmd->add_option("--reference-not-under", a->reference_not_under,
                  "leave reference cells under these CL terms out (e.g. to study a type as unseen)");
  cmd->add_option("--k", o.k, "reference neighbours per cell")->capture_default_str();
  cmd->add_option("--min-support", o.min_support, "vote share the call needs (rolled up the ontology)")
      ->capture_default_str();
  cmd->add_flag("--exact", o.exact, "exact neighbour search");
  cmd->add_option("--novel-threshold", o.novel_threshold, "flag novel only below this top vote share")
      ->capture_default_str();
  cmd->add_option("--novel-under", o.novel_under, "novel candidates under this CL term (default: LCA of neighbours)");
  cmd->add_option("--novel-candidates", o.novel_candidates, "candidates per cell")->capture_default_str();
  cmd->add_flag("--no-novel", [&o](int64_t) { o.novel = false; }, "skip novel-type scoring");
  cmd->add_option("--target", o.target, "similarity of novel candidates to seen types")->capture_default_str();
  cmd->add_flag("--smooth", o.smooth, "also call per Leiden cluster of the query cells (majority voting)");
  cmd->add_option("--resolution", o.smooth_resolution, "Leiden resolution for --smooth")->capture_default_str();
  cmd->add_option("--layer", r.import.h5ad.layer, "counts layer");
  cmd->add_option("--var-column", r.import.h5ad.var_column, "var column of gene ids");
  cmd->add_flag("--assume-normalized", r.import.assume_normalized, "X is log1p(CP10k) (with per-cell totals in obs)");
  cmd->add_option("--min-gene-share", r.min_gene_share, "refuse files whose genes map below this share")
      ->capture_default_str();
  cmd->add_option("--batch-size", r.batch_size, "cells per embedding batch")->capture_default_str();
  cmd->add_flag("--bf16", r.bf16, "bf16 autocast while embedding");
  cmd->callback([&ctx, a] { ctx.action = [&ctx, a] { return run(ctx, *a); }; });
}

}  // namespace sccello
