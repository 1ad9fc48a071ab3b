// `sccello train --nproc N`: starts N local workers of the same command with torchrun's
// environment (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), forwards
// SIGINT/SIGTERM/SIGHUP to them, and when one fails names it and stops the rest after a grace period.
// No LibTorch here; POSIX only. Call from a single-threaded process (it forks).
#pragma once

#include <string>
#include <vector>

#include "graph/status.h"

namespace sccello {

struct LocalLaunchOptions {
  int nproc = 2;
  std::string executable;              // the worker binary ("" = /proc/self/exe)
  std::vector<std::string> argv;       // the worker's arguments, argv[0] included
  std::string master_addr = "127.0.0.1";
  int master_port = 0;                 // 0 = a free port (MASTER_PORT from the environment when set)
  int grace_seconds = 30;              // after a worker fails, how long the others get to exit by themselves
};

// Runs the workers to completion. Returns the exit status for the launcher: 0 when every worker
// exited 0; otherwise 1, after printing which rank failed and how.
int run_local_workers(const LocalLaunchOptions& options);

// argv with `--nproc N` / `--nproc=N` removed (the workers must not launch again).
std::vector<std::string> strip_option(const std::vector<std::string>& argv, const std::string& name);

// This process's command line (/proc/self/cmdline).
std::vector<std::string> own_command_line();

// A TCP port that was free a moment ago on the loopback interface (0 when none could be had).
int free_local_port();

}  // namespace sccello
