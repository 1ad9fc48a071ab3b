// A progress line for long commands: "\r<verb> done/total cells  rate cells/s  ETA Ns" on stderr,
// only when stderr is a terminal (an empty function otherwise, so callers skip reporting).
// The returned callback owns its start time; call it from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace sccello {

std::function<void(int64_t done, int64_t total)> terminal_progress(std::string verb);

}  // namespace sccello
