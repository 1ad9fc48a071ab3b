#include "store/formats/hdf5_guard.h"

#include <fcntl.h>
#include <poll.h>
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
#include <utility>

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

// Reads the child's report from `fd` until the child closes it (it writes, then exits), up to
// `deadline`; then reaps the child, killing it first on timeout. Fills the wait status; false on
// timeout. Waiting on the pipe wakes the moment the child is done (no polling delay).
bool wait_with_deadline(pid_t pid, int fd, std::chrono::steady_clock::time_point deadline, std::string* report,
                        int* wait_status) {
  bool finished = false;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    struct pollfd p = {fd, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {  // end of file: the child has exited (or closed its end: it is exiting)
      finished = true;
      break;
    }
    report->append(buf, static_cast<size_t>(n));
  }
  if (!finished) ::kill(pid, SIGKILL);
  while (::waitpid(pid, wait_status, 0) < 0 && errno == EINTR) {
  }
  return finished;
}

}  // namespace

Hdf5Check start_hdf5_check(const std::string& path, const CellMatrixOpener& open, const Hdf5GuardOptions& options) {
  Hdf5Check check;
  if (options.timeout_seconds <= 0) return check;
  std::fflush(nullptr);  // nothing buffered is written twice
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return check;  // no child possible: the caller reads the file unguarded
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]), ::close(fds[1]);
    return check;
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
  check.pid_ = pid;
  check.fd_ = fds[0];
  check.path_ = path;
  check.deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_seconds);
  check.timeout_seconds_ = options.timeout_seconds;
  return check;
}

Hdf5Check::Hdf5Check(Hdf5Check&& other) noexcept { *this = std::move(other); }

Hdf5Check& Hdf5Check::operator=(Hdf5Check&& other) noexcept {
  if (this != &other) {
    abandon();
    pid_ = std::exchange(other.pid_, -1);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    deadline_ = other.deadline_;
    timeout_seconds_ = other.timeout_seconds_;
  }
  return *this;
}

Hdf5Check::~Hdf5Check() { abandon(); }

void Hdf5Check::abandon() {
  if (pid_ < 0) return;
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  ::close(fd_);
  pid_ = fd_ = -1;
}

Status Hdf5Check::wait() {
  if (pid_ < 0) return Status::ok();
  int wait_status = 0;
  std::string reported;
  const bool finished = wait_with_deadline(pid_, fd_, deadline_, &reported, &wait_status);
  ::close(fd_);
  pid_ = fd_ = -1;
  if (!finished)
    return Status::corruption(damaged(path_, "did not finish within " + std::to_string(timeout_seconds_) +
                                                 " s (it hangs on some damaged files)") +
                              "; if the file is just very large, raise the limit with --hdf5-timeout SECONDS");
  if (WIFSIGNALED(wait_status))
    return Status::corruption(damaged(path_, std::string("crashed (") + ::strsignal(WTERMSIG(wait_status)) + ")"));
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) != 0)
    return Status::corruption(damaged(path_, "failed (exit status " + std::to_string(WEXITSTATUS(wait_status)) + ")"));
  return status_from(reported);
}

Status check_hdf5_file(const std::string& path, const CellMatrixOpener& open, const Hdf5GuardOptions& options) {
  return start_hdf5_check(path, open, options).wait();
}

}  // namespace sccello
