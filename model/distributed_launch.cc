// Local worker launcher for data-parallel training.
#include "model/distributed_launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>

namespace sccello {

namespace {

// Worker pids for the signal handler (async-signal-safe: plain array, kill()).
constexpr int kMaxWorkers = 1024;
volatile pid_t g_workers[kMaxWorkers];
volatile int g_worker_count = 0;

void forward_signal(int sig) {
  for (int i = 0; i < g_worker_count; ++i)
    if (g_workers[i] > 0) ::kill(g_workers[i], sig);
}

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
                                  strsignal(WTERMSIG(status)) + ")";
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

pid_t spawn_worker(const LocalLaunchOptions& o, int rank, int port) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  setenv("RANK", std::to_string(rank).c_str(), 1);
  setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
  setenv("WORLD_SIZE", std::to_string(o.nproc).c_str(), 1);
  setenv("LOCAL_WORLD_SIZE", std::to_string(o.nproc).c_str(), 1);
  setenv("MASTER_ADDR", o.master_addr.c_str(), 1);
  setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
  std::vector<char*> args;
  for (const std::string& a : o.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string exe = o.executable.empty() ? "/proc/self/exe" : o.executable;
  ::execv(exe.c_str(), args.data());
  std::fprintf(stderr, "sccello: error: cannot start worker %d (%s): %s\n", rank, exe.c_str(), std::strerror(errno));
  ::_exit(127);
}

int rank_of(const std::vector<pid_t>& pids, pid_t pid) {
  for (size_t r = 0; r < pids.size(); ++r)
    if (pids[r] == pid) return static_cast<int>(r);
  return -1;
}

}  // namespace

int free_local_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

std::vector<std::string> own_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> argv;
  size_t start = 0;
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i] == '\0') argv.push_back(all.substr(start, i - start)), start = i + 1;
  return argv;
}

std::vector<std::string> strip_option(const std::vector<std::string>& argv, const std::string& name) {
  std::vector<std::string> out;
  for (size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == name) {
      ++i;  // and its value
      continue;
    }
    if (argv[i].rfind(name + "=", 0) == 0) continue;
    out.push_back(argv[i]);
  }
  return out;
}

int run_local_workers(const LocalLaunchOptions& o) {
  if (o.nproc < 1 || o.nproc > kMaxWorkers) {
    std::fprintf(stderr, "sccello: error: --nproc must be between 1 and %d\n", kMaxWorkers);
    return 1;
  }
  int port = o.master_port;
  if (port == 0) {
    const char* env_port = std::getenv("MASTER_PORT");
    port = env_port ? std::atoi(env_port) : free_local_port();
  }
  if (port <= 0) {
    std::fprintf(stderr, "sccello: error: no free TCP port for the rendezvous; set MASTER_PORT\n");
    return 1;
  }
  struct sigaction forward {}, old_int {}, old_term {}, old_hup {};
  forward.sa_handler = forward_signal;
  sigemptyset(&forward.sa_mask);
  ::sigaction(SIGINT, &forward, &old_int);
  ::sigaction(SIGTERM, &forward, &old_term);
  ::sigaction(SIGHUP, &forward, &old_hup);
  std::vector<pid_t> pids;
  for (int r = 0; r < o.nproc; ++r) {
    pids.push_back(spawn_worker(o, r, port));
    g_workers[r] = pids.back();
    g_worker_count = r + 1;
  }
  int running = o.nproc, failed_rank = -1, status_out = 0;
  std::chrono::steady_clock::time_point deadline{};
  bool terminated = false;
  while (running > 0) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno != EINTR) break;
    if (pid <= 0) {
      if (failed_rank >= 0 && std::chrono::steady_clock::now() > deadline) {
        forward_signal(terminated ? SIGKILL : SIGTERM);
        deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        terminated = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    const int rank = rank_of(pids, pid);
    if (rank < 0) continue;
    --running;
    g_workers[rank] = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) continue;
    std::fprintf(stderr, "sccello: error: worker rank %d (pid %d) %s\n", rank, static_cast<int>(pid),
                 describe_exit(status).c_str());
    status_out = 1;
    if (failed_rank < 0) {
      failed_rank = rank;
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.grace_seconds);
    }
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  ::sigaction(SIGHUP, &old_hup, nullptr);
  if (failed_rank >= 0)
    std::fprintf(stderr, "sccello: error: data-parallel training failed: worker rank %d failed first; resume from "
                         "the last checkpoint with --resume\n", failed_rank);
  return status_out;
}

}  // namespace sccello
