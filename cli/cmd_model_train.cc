// `sccello train`, `sccello embed` subcommands.
#include "cli/cli_context.h"

namespace sccello {

void add_model_commands(CLI::App& app, CliContext& ctx) {}

}  // namespace sccello
