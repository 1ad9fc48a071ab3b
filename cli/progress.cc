#include "cli/progress.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace sccello {

std::function<void(int64_t, int64_t)> terminal_progress(std::string verb) {
  if (!isatty(STDERR_FILENO)) return {};
  auto start = std::chrono::steady_clock::now();
  return [start, verb = std::move(verb)](int64_t done, int64_t total) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double rate = s > 0 ? done / s : 0;
    double eta = rate > 0 ? (total - done) / rate : 0;
    std::fprintf(stderr, "\r%s %lld/%lld cells  %.1f cells/s  ETA %.0fs   ", verb.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total), rate, eta);
    if (done >= total) std::fprintf(stderr, "\n");
  };
}

}  // namespace sccello
