// CliContext: the global options every `sccello` subcommand sees (store, backend, release,
// output format, threads) and the action the parsed subcommand selected. One per process.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "graph/status.h"
#include "store/store.h"

namespace sccello {

enum class OutputFormat { kText, kTsv, kJson };

struct CliContext {
  std::string store_path = default_store_path();
  std::string backend = "auto";
  std::string release;  // "" = newest imported
  bool tsv = false;
  bool json = false;
  int threads = 0;      // 0 = number of cores

  // Set by the chosen subcommand's callback; returns the process exit status.
  std::function<int()> action;

  OutputFormat format() const { return json ? OutputFormat::kJson : tsv ? OutputFormat::kTsv : OutputFormat::kText; }
  // Opens the store named by --store/--backend. Errors are ready to print.
  Result<std::unique_ptr<Store>> open_store(bool writable) const;
  // Writable when possible (to fill caches); read-only when another process holds the writer
  // lock, which sets *fell_back (may be null).
  Result<std::unique_ptr<Store>> open_store_for_cache(bool* fell_back = nullptr) const;
};

// Prints "sccello: error: <message>" to stderr and returns the exit status for it (1).
int report_error(const Status& status);

// Registration of each command family (cli/cmd_*.cc).
void add_ontology_commands(CLI::App& app, CliContext& ctx);
void add_targets_commands(CLI::App& app, CliContext& ctx);
void add_cells_commands(CLI::App& app, CliContext& ctx);
#ifdef SCCELLO_WITH_TORCH
void add_model_commands(CLI::App& app, CliContext& ctx);  // train, embed, ... (cmd_model_*.cc)
#endif

}  // namespace sccello
