// `sccello ontology ...` subcommands.
#include "cli/cli_context.h"

namespace sccello {

void add_ontology_commands(CLI::App& app, CliContext& ctx) {
  CLI::App* group = app.add_subcommand("ontology", "ontology commands");
  group->require_subcommand(1);
}

}  // namespace sccello
