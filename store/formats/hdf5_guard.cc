#include "store/formats/hdf5_guard.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

namespace sccello {
namespace {

// In the child: everything the import reads from the file apart from the matrix past its first
// block. 0 = read (or refused with a Status), never returns.
[[noreturn]] void exercise_in_child(const CellMatrixOpener& open, int64_t rows_per_read) {
  auto reader = open();
  if (!reader.is_ok()) ::_exit(0);
  CellMatrixReader& r = **reader;
  const int64_t cells = r.num_cells();
  const std::vector<std::string> columns = r.columns();
  for (int64_t first = 0; first < cells; first += rows_per_read) {
    int64_t n = std::min(rows_per_read, cells - first);
    if (!r.cell_ids(first, n).is_ok()) ::_exit(0);
    for (const std::string& c : columns) {
      if (!r.column_values(c, first, n).is_ok()) ::_exit(0);
    }
  }
  RowBlock block;
  r.next_block(64, &block);
  ::_exit(0);
}

std::string damaged(const std::string& path, const std::string& what) {
  return "the HDF5 library " + what + " reading '" + path +
         "': the file is damaged (or crafted) and was not used. Re-export it from its source "
         "(e.g. anndata's write_h5ad) or check it with h5dump";
}

// Waits for the child up to `seconds`; kills it after that. Fills the wait status; false on timeout.
bool wait_with_deadline(pid_t pid, int seconds, int* wait_status) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  auto pause = std::chrono::milliseconds(1);
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t done = ::waitpid(pid, wait_status, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) return true;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, wait_status, 0) < 0 && errno == EINTR) {
  }
  return false;
}

}  // namespace

Status check_hdf5_file(const std::string& path, const CellMatrixOpener& open, const Hdf5GuardOptions& options) {
  if (options.timeout_seconds <= 0) return Status::ok();
  std::fflush(nullptr);  // nothing buffered is written twice
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return Status::ok();  // no child possible: the caller reads the file unguarded
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a killed parent, even while spinning
    if (::getppid() != parent) ::_exit(0);
    ::alarm(static_cast<unsigned>(options.timeout_seconds) + 5);
    exercise_in_child(open, std::max<int64_t>(1, options.rows_per_read));
  }
  int wait_status = 0;
  if (!wait_with_deadline(pid, options.timeout_seconds, &wait_status))
    return Status::corruption(damaged(path, "did not finish within " + std::to_string(options.timeout_seconds) +
                                                " s (it hangs on some damaged files)") +
                              "; if the file is just very large, raise the limit with --hdf5-timeout SECONDS");
  if (WIFSIGNALED(wait_status))
    return Status::corruption(damaged(path, std::string("crashed (") + ::strsignal(WTERMSIG(wait_status)) + ")"));
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) != 0)
    return Status::corruption(damaged(path, "failed (exit status " + std::to_string(WEXITSTATUS(wait_status)) + ")"));
  return Status::ok();
}

}  // namespace sccello
