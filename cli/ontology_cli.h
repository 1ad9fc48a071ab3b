// Helpers shared by the `sccello ontology ...` command files: loading a release (and its graph)
// from the store named on the command line, and finding a term by id. CLI-only; one process.
#pragma once

#include <memory>
#include <string>

#include "cli/cli_context.h"
#include "cli/table.h"
#include "graph/ontology_graph.h"
#include "graph/term_lookup.h"
#include "store/release_store.h"

namespace sccello {

// A release loaded read-only from the store, with its graph built on demand.
struct LoadedRelease {
  OntologyRelease release;
  std::unique_ptr<OntologyGraph> graph;
};

// Opens the store read-only and loads `name` ("" = newest imported).
Result<OntologyRelease> load_release(const CliContext& ctx, const std::string& name);
// As above, plus the graph over `relations` (parse_relations spec) and `prefix`.
Result<LoadedRelease> load_release_graph(const CliContext& ctx, const std::string& name,
                                         const std::string& relations, const std::string& prefix);

// The term's index in the graph, or an error saying whether it is unknown or obsolete.
Result<TermIndex> find_graph_term(const LoadedRelease& loaded, const std::string& id);

// Registers ancestors, descendants, lca, diff, migrate (cmd_ontology_query.cc).
void add_ontology_query_commands(CLI::App* group, CliContext& ctx);

std::string join(const std::vector<std::string>& items, const std::string& sep);
int print(const CliContext& ctx, const Table& table);

}  // namespace sccello
