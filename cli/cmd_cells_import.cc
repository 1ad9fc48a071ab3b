// `sccello cells import`: reads a count matrix (h5ad, 10x), tokenizes it into the corpus. Built
// into all three executables (HDF5 linked statically into `sccello` and `sccello-tools`: model_dispatch.h).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "cli/cli_context.h"
#include "cli/progress.h"
#include "cli/table.h"
#include "graph/ontology_graph.h"
#include "graph/release_diff.h"
#include "store/cells/cell_import.h"
#include "store/corpus.h"
#include "store/release_store.h"
#include "store/store.h"

namespace sccello {
namespace {

struct ImportArgs {
  std::string file, vocab, total = "vocab";
  CellImportOptions options;
};

int run_import(CliContext& ctx, ImportArgs& a) {
  if (a.total != "vocab" && a.total != "all") return report_error(Status::invalid("--total must be vocab or all"));
  a.options.tokenizer.total_over_all_genes = a.total == "all";
  // The forked HDF5 check before the store opens (and starts its threads); then no second one.
  // The vocabulary loads and the store opens while the child reads the file.
  auto check = start_cell_file_check(a.file, a.options);
  if (!check) return report_error(check.status());
  auto vocab = load_vocab(a.vocab);
  if (!vocab) return report_error(vocab.status());
  // Symbol-keyed genes: the symbol tables load while the child reads the rest of the file (their
  // errors come back where the tokenizer maps the genes). A vocabulary mapped from its image has
  // them already: no need to wait for the child's note.
  if (!vocab->mapped_from_image() && check->note() == kGeneIdsNeedSymbols) (void)vocab->symbol_tables_status();
  const bool new_store = !std::filesystem::exists(ctx.store_path);
  auto store = ctx.open_store(true);
  if (!store) return report_error(store.status());
  bool have_release = false;
  auto terms = release_term_ids(**store, ctx.release, &have_release);
  if (!terms) return report_error(terms.status());
  if (have_release) a.options.known_terms = &*terms;
  if (Status checked = check->wait(); !checked) {
    if (new_store) {  // a file refused leaves no store behind that this call created
      store->reset();
      std::error_code ignored;
      std::filesystem::remove_all(ctx.store_path, ignored);
    }
    return report_error(checked);
  }
  a.options.hdf5_guard.timeout_seconds = 0;
  a.options.progress = terminal_progress("imported");
  a.options.threads = ctx.threads;  // tokenizer threads (--threads, default: cores)
  auto start = std::chrono::steady_clock::now();
  auto report = import_cells(**store, *vocab, a.file, a.options);
  if (!report) return report_error(report.status());
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto& r = *report;
  std::cout << "imported " << r.info.num_cells << " cells into dataset '" << r.info.name << "' from " << r.matrix
            << " in " << s << " s\n"
            << "genes: " << r.genes.genes_in_file << " in file, " << r.genes.mapped << " mapped, " << r.genes.dropped()
            << " dropped (" << r.genes.not_in_vocab << " not in vocabulary, " << r.genes.unknown_symbol
            << " unknown symbols, " << r.genes.duplicate << " duplicates, " << r.genes.empty_id << " empty ids)\n"
            << "tokens: " << r.info.num_tokens << " (mean " << (r.info.num_cells ? r.info.num_tokens / r.info.num_cells : 0)
            << " per cell, longest " << r.info.longest_cell << ")\n"
            << "cells with a CL term: " << r.info.num_cells - r.unmapped_cells << "; unmapped: " << r.unmapped_cells
            << (have_release ? "" : " (no CL release in the store: term ids not checked)") << "\n";
  for (auto& [label, n] : r.unmapped_labels)
    std::cout << "  unmapped label '" << label << "': " << n << " cells\n";
  for (auto& w : r.warnings) std::cerr << "sccello: warning: " << w << "\n";
  return 0;
}

}  // namespace

void add_cells_import(CLI::App& group, CliContext& ctx) {
  auto a = std::make_shared<ImportArgs>();
  CLI::App* cmd = group.add_subcommand("import", "import an h5ad, a 10x MTX folder or a 10x .h5 as a dataset");
  auto& o = a->options;
  cmd->add_option("file", a->file, "h5ad file, 10x matrix folder (or matrix.mtx[.gz]) or 10x .h5")->required();
  cmd->add_option("--dataset", o.dataset, "dataset name in the store")->required();
  cmd->add_option("--label-column", o.label_column, "obs column with cell-type labels (default: cell_type)");
  cmd->add_option("--labels", o.labels_tsv, "TSV of labels joined on barcode (first column or barcode/cell_id)");
  cmd->add_option("--label-key", o.label_key, "the --labels column holding the label");
  cmd->add_option("--cl-map", o.cl_map_tsv, "label -> CL id table (columns cell_type and cl_id)");
  cmd->add_option("--term-column", o.term_column, "obs column with CL ids (default: cell_type_ontology_term_id)");
  cmd->add_option("--donor-column", o.donor_column, "obs column with donor/batch (default: donor_id, donor, batch)");
  cmd->add_option("--tissue-column", o.tissue_column, "obs column with the tissue");
  cmd->add_option("--assay-column", o.assay_column, "obs column with the assay");
  cmd->add_option("--max-len", o.tokenizer.max_len, "tokens per cell including <cls>")->capture_default_str();
  cmd->add_option("--layer", o.h5ad.layer, "h5ad layer with raw counts (default: raw/X, else X)");
  cmd->add_option("--var-column", o.h5ad.var_column, "var column with gene ids (default: the var index)");
  cmd->add_option("--total", a->total, "per-cell total over: vocab (scCello) | all (Geneformer)")->capture_default_str();
  cmd->add_flag("--assume-normalized", o.assume_normalized, "input is log1p(CP10k); counts recovered from n_counts");
  cmd->add_option("--format", o.format, "h5ad | mtx | 10x-h5 (default: from the path)");
  cmd->add_option("--vocab", a->vocab, "gene vocabulary folder (default: data/vocab)");
  cmd->add_flag("--replace", o.replace, "replace an existing dataset of that name");
  cmd->add_option("--hdf5-timeout", o.hdf5_guard.timeout_seconds,
                  "seconds the forked check of an HDF5 file may take (0 = no check)")
      ->capture_default_str();
  cmd->callback([&ctx, a] { ctx.action = [&ctx, a] { return run_import(ctx, *a); }; });
}

}  // namespace sccello
