// `sccello cells ...` subcommands.
#include "cli/cli_context.h"

namespace sccello {

void add_cells_commands(CLI::App& app, CliContext& ctx) {
  CLI::App* group = app.add_subcommand("cells", "cells commands");
  group->require_subcommand(1);
}

}  // namespace sccello
