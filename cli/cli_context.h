// CliContext: the global options every `sccello` subcommand sees (store, backend, release,
// output format, threads) and the action the parsed subcommand selected. One per process.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "graph/status.h"
#include "model/search/new_cells.h"
#include "store/cells/cell_import.h"
#include "store/store.h"

namespace sccello {

enum class OutputFormat { kText, kTsv, kJson };

// `index build` / `index add` arguments (cmd_index.cc parses them; sccello-model runs them).
struct IndexBuildArgs {
  std::string name = "default", checkpoint, datasets, vector_type = "float32";
  int64_t m = 16, ef_construction = 200, ef_search = 64, batch_size = 32;
  bool replace = false, bf16 = false, add = false;
};

struct CliContext {
  std::string store_path = default_store_path();
  std::string backend = "auto";
  std::string release;  // "" = newest imported
  bool tsv = false;
  bool json = false;
  int threads = 0;      // 0 = number of cores

  // Set by the chosen subcommand's callback; returns the process exit status.
  std::function<int()> action;
  // Set in sccello-model only (cmd_model_*.cc): embeds the cells of a file (query --h5ad).
  NewCellEmbedder embed_new_cells;
  std::function<int(const IndexBuildArgs&)> run_index_build;

  OutputFormat format() const { return json ? OutputFormat::kJson : tsv ? OutputFormat::kTsv : OutputFormat::kText; }
  // Opens the store named by --store/--backend. Errors are ready to print.
  Result<std::unique_ptr<Store>> open_store(bool writable) const;
  // Writable when possible (to fill caches); read-only when another process holds the writer
  // lock, which sets *fell_back (may be null).
  Result<std::unique_ptr<Store>> open_store_for_cache(bool* fell_back = nullptr) const;
};

// A comma-separated option value as its items, empty items dropped ("a,,b" -> {a, b}).
std::vector<std::string> split_list(const std::string& s);

// The gene vocabulary from `dir`, or located like `cells import` does when dir is "".
Result<GeneVocab> load_vocab(const std::string& dir);

// Prints "sccello: error: <message>" to stderr and returns the exit status for it (1).
int report_error(const Status& status);

// Registration of each command family (cli/cmd_*.cc).
void add_ontology_commands(CLI::App& app, CliContext& ctx);
void add_targets_commands(CLI::App& app, CliContext& ctx);
void add_cells_commands(CLI::App& app, CliContext& ctx);
void add_cells_import(CLI::App& cells, CliContext& ctx);    // cells import (cmd_cells_import.cc; HDF5)
void add_eval_commands(CLI::App& app, CliContext& ctx);
void add_report_command(CLI::App& app, CliContext& ctx);   // report (cmd_report.cc; HDF5)
void add_serve_command(CLI::App& app, CliContext& ctx);    // serve (cmd_serve.cc)
void add_index_commands(CLI::App& app, CliContext& ctx);   // index list|drop, query (cmd_index.cc)    // eval clustering|novel (cmd_eval.cc)
#ifdef SCCELLO_WITH_TORCH
void add_model_commands(CLI::App& app, CliContext& ctx);  // train, embed, ... (cmd_model_*.cc)
void add_model_index_hooks(CliContext& ctx);               // index build/add, query --h5ad
void add_annotate_command(CLI::App& app, CliContext& ctx);  // annotate (cmd_model_annotate.cc)
#endif

}  // namespace sccello
