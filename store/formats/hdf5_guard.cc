#include "store/formats/hdf5_guard.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
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
// block. The reader's own error (only that of the open: later ones the import reports itself).
Status exercise(const CellMatrixOpener& open, int64_t rows_per_read) {
  auto reader = open();
  if (!reader.is_ok()) return reader.status();
  CellMatrixReader& r = **reader;
  const int64_t cells = r.num_cells();
  const std::vector<std::string> columns = r.columns();
  for (int64_t first = 0; first < cells; first += rows_per_read) {
    int64_t n = std::min(rows_per_read, cells - first);
    if (!r.cell_ids(first, n).is_ok()) return Status::ok();
    for (const std::string& c : columns) {
      if (!r.column_values(c, first, n).is_ok()) return Status::ok();
    }
  }
  RowBlock block;
  r.next_block(64, &block);
  return Status::ok();
}

// Child -> parent: one byte of Status::Code, then the message (truncated to what a pipe holds
// without blocking).
[[noreturn]] void child_main(int fd, const CellMatrixOpener& open, int64_t rows_per_read) {
  Status st = exercise(open, rows_per_read);
  std::string out(1, static_cast<char>(st.code()));
  out += st.message().substr(0, 8192);
  ssize_t ignored = ::write(fd, out.data(), out.size());
  (void)ignored;
  ::_exit(0);
}

Status status_from(const std::string& bytes) {
  if (bytes.empty()) return Status::ok();
  const std::string msg = bytes.substr(1);
  switch (static_cast<Status::Code>(bytes[0])) {
    case Status::Code::kOk: return Status::ok();
    case Status::Code::kNotFound: return Status::not_found(msg);
    case Status::Code::kInvalidInput: return Status::invalid(msg);
    case Status::Code::kIoError: return Status::io_error(msg);
    case Status::Code::kUnsupported: return Status::unsupported(msg);
    default: return Status::corruption(msg);
  }
}

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Caps the child's address space at what it uses now plus `extra` bytes, so a corrupt size field
// that makes libhdf5 allocate gigabytes fails inside the library instead of exhausting memory.
// Not under AddressSanitizer (its shadow memory reserves terabytes of address space).
void limit_memory(uint64_t extra) {
#if defined(__SANITIZE_ADDRESS__)
  (void)extra;
#else
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  unsigned long long pages = 0;
  if (!statm) return;
  const bool read = std::fscanf(statm, "%llu", &pages) == 1;
  std::fclose(statm);
  if (!read || extra == 0) return;
  struct rlimit limit;
  limit.rlim_cur = limit.rlim_max = pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)) + extra;
  ::setrlimit(RLIMIT_AS, &limit);
#endif
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
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::ok();  // no child possible: the caller reads the file unguarded
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]), ::close(fds[1]);
    return Status::ok();
  }
  if (pid == 0) {
    ::close(fds[0]);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a killed parent, even while spinning
    if (::getppid() != parent) ::_exit(0);
    ::alarm(static_cast<unsigned>(options.timeout_seconds) + 5);
    limit_memory(options.max_memory_bytes);
    child_main(fds[1], open, std::max<int64_t>(1, options.rows_per_read));
  }
  ::close(fds[1]);
  int wait_status = 0;
  const bool finished = wait_with_deadline(pid, options.timeout_seconds, &wait_status);
  const std::string reported = read_all(fds[0]);  // every writer has exited: no blocking
  ::close(fds[0]);
  if (!finished)
    return Status::corruption(damaged(path, "did not finish within " + std::to_string(options.timeout_seconds) +
                                                " s (it hangs on some damaged files)") +
                              "; if the file is just very large, raise the limit with --hdf5-timeout SECONDS");
  if (WIFSIGNALED(wait_status))
    return Status::corruption(damaged(path, std::string("crashed (") + ::strsignal(WTERMSIG(wait_status)) + ")"));
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) != 0)
    return Status::corruption(damaged(path, "failed (exit status " + std::to_string(WEXITSTATUS(wait_status)) + ")"));
  return status_from(reported);
}

}  // namespace sccello
