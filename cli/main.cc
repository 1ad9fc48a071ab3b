// sccello: the command-line entry point. Parses global options, lets each command family
// register its subcommands, runs the chosen action. Exit status: 0 ok, 1 error, 2 usage.
#include <malloc.h>

#include <iostream>
#include <sstream>
#include <thread>

#include "cli/cli_context.h"
#include "cli/model_dispatch.h"

namespace sccello {

Result<std::unique_ptr<Store>> CliContext::open_store(bool writable) const {
  SCCELLO_ASSIGN_OR_RETURN(Backend b, parse_backend(backend));
  StoreOptions options;
  options.path = store_path;
  options.backend = b;
  options.read_only = !writable;
  return Store::open(options);
}

Result<std::unique_ptr<Store>> CliContext::open_store_for_cache(bool* fell_back) const {
  auto store = open_store(true);
  if (fell_back) *fell_back = false;
  if (store.is_ok() || store.status().code() != Status::Code::kBusy) return store;
  if (fell_back) *fell_back = true;
  return open_store(false);
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

int report_error(const Status& status) {
  std::cerr << "sccello: error: " << status.message() << std::endl;
  return 1;
}

}  // namespace sccello

namespace {

// `sccello --help` lists the model commands that sccello-model runs (model_dispatch.h); the
// dispatcher hands them over before parsing, so these entries never run themselves.
void add_model_command_entries(CLI::App& app) {
  app.add_subcommand("train", "pre-train a scCello model on corpus datasets (runs sccello-model)")->allow_extras();
  app.add_subcommand("embed", "cell embeddings from a trained checkpoint (runs sccello-model)")->allow_extras();
  app.add_subcommand("annotate", "annotate cells with Cell Ontology terms (runs sccello-model)")->allow_extras();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sccello;
  // Blocks of a few MB (an import's row blocks, chunk buffers) are allocated and freed over and
  // over: kept in the heap instead of mmap()ed and unmapped each time, their pages fault in once
  // (page faults were a fifth of a small import's CPU time).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#ifndef SCCELLO_WITH_TORCH
  // Hand over commands this executable was built without (model_dispatch.h).
  const Executable needed = executable_for(argc, argv);
#ifdef SCCELLO_WITH_IO
  if (needed == Executable::kModel) return report_error(exec_executable(needed, argc, argv));
#else
  if (needed != Executable::kSelf) return report_error(exec_executable(needed, argc, argv));
#endif
#endif
  CLI::App app{"sccello: ontology-guided single-cell foundation models (scCello) in C++"};
  app.set_version_flag("--version", std::string("sccello ") + SCCELLO_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand

  CliContext ctx;
  app.add_option("--store", ctx.store_path, "store path (RocksDB directory or SQLite file); env SCCELLO_STORE")
      ->capture_default_str();
  app.add_option("--backend", ctx.backend, "rocksdb | sqlite | auto (detected from --store)")->capture_default_str();
  app.add_option("--release", ctx.release, "ontology release name (default: newest imported)");
  app.add_flag("--tsv", ctx.tsv, "tab-separated output with a header row");
  app.add_flag("--json", ctx.json, "JSON output");
  app.add_option("--threads", ctx.threads,
                 "worker threads (default: number of cores); cells import: tokenizer threads, with the file read "
                 "and the store written beside them");

  add_ontology_commands(app, ctx);
  add_targets_commands(app, ctx);
  add_cells_commands(app, ctx);
#ifdef SCCELLO_WITH_IO
  add_eval_commands(app, ctx);
  add_report_command(app, ctx);
  add_serve_command(app, ctx);
#else
  app.add_subcommand("serve", "HTTP/JSON service and web page over the store (docs/serve.md)")->allow_extras();
  app.add_subcommand("eval", "zero-shot evaluation: clustering vs PCA, novel types (sccello-tools), "
                             "marker genes (sccello-model)")
      ->allow_extras();
  app.add_subcommand("report", "HTML report of a run: curves, evaluation, embedding map (runs sccello-tools)")
      ->allow_extras();
#endif
  add_index_commands(app, ctx);
#ifdef SCCELLO_WITH_TORCH
  add_model_commands(app, ctx);
#else
  add_model_command_entries(app);
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (ctx.threads <= 0) ctx.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (!ctx.action) {
    std::cerr << app.help();
    return 2;
  }
  return ctx.action();
}
