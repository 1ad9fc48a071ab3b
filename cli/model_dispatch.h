// The boundary between `sccello`, the executable users type, and the two that hold the heavy
// libraries, installed beside it: `sccello-tools` (igraph/LAPACK evaluation, reports, the HTTP
// service) and `sccello-model` (LibTorch on top). `sccello` links neither (HDF5 it links
// statically, for `cells import`), so ontology, targets, corpus, import, index and query
// commands start in milliseconds; a command that needs more is handed over with execv (same
// arguments), so the user still types one command. Stateless; no threads.
#pragma once

#include <string>
#include <vector>

#include "graph/status.h"

namespace sccello {

enum class Executable { kSelf, kTools, kModel };

// File name of an executable ("sccello-tools", "sccello-model"; "" for kSelf).
const char* executable_name(Executable e);

// The subcommand path of an argument vector, skipping global options and their values:
// {"sccello", "--store", "s", "index", "build", "--checkpoint", "c"} -> {"index", "build"}.
// Stops at the first option after the path; at most two words.
std::vector<std::string> command_path(int argc, const char* const* argv);

// Which executable runs the command in argv: kModel for train, embed, annotate, init, index
// build/add, query --h5ad, eval markers; kTools for eval, report (serve: kModel when built); else kSelf.
Executable executable_for(int argc, const char* const* argv);

// Path of an executable beside the running one ("" when it is not there).
std::string sibling_executable_path(Executable e);

// Replaces this process with executable `e` and the same arguments. Returns only on failure,
// with a message that says what to do (e.g. a build without LibTorch).
Status exec_executable(Executable e, int argc, char** argv);

}  // namespace sccello
