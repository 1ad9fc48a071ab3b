// `sccello targets ...` subcommands.
#include "cli/cli_context.h"

namespace sccello {

void add_targets_commands(CLI::App& app, CliContext& ctx) {
  CLI::App* group = app.add_subcommand("targets", "targets commands");
  group->require_subcommand(1);
}

}  // namespace sccello
