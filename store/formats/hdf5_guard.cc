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
#include <filesystem>
#include <limits>
#include <string>
#include <utility>

namespace sccello {
namespace {

// Child -> parent, on the pipe: first a note frame (kNoteMark, 4-byte length, the note) as soon
// as the file is open, when the caller asked for one; then at exit one byte of Status::Code and
// the message (truncated to what a pipe holds without blocking).
constexpr char kNoteMark = '\x7f';

void write_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

void send_note(int fd, const std::string& note) {
  const uint32_t size = static_cast<uint32_t>(std::min<size_t>(note.size(), 4096));
  std::string frame(1, kNoteMark);
  frame.append(reinterpret_cast<const char*>(&size), sizeof size);
  frame.append(note, 0, size);
  write_all(fd, frame);
}

// In the child: everything the import reads from the file apart from the matrix past its first
// block. The reader's own error (only that of the open: later ones the import reports itself).
Status exercise(int fd, const CellMatrixOpener& open, const CellFileNote& note, int64_t rows_per_read) {
  auto reader = open();
  if (!reader.is_ok()) return reader.status();
  CellMatrixReader& r = **reader;
  if (note) send_note(fd, note(r));
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

[[noreturn]] void child_main(int fd, const CellMatrixOpener& open, const CellFileNote& note, int64_t rows_per_read) {
  Status st = exercise(fd, open, note, rows_per_read);
  std::string out(1, static_cast<char>(st.code()));
  out += st.message().substr(0, 8192);
  write_all(fd, out);
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

// Reads what the child sends from `fd` into *got until `enough` bytes are there or the child
// closes the pipe (it writes, then exits; *eof), up to `deadline` (false on timeout). Waiting on
// the pipe wakes the moment the child is done (no polling delay).
bool read_pipe(int fd, std::chrono::steady_clock::time_point deadline, size_t enough, std::string* got, bool* eof) {
  char buf[4096];
  while (!*eof && got->size() < enough) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    struct pollfd p = {fd, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) return false;
    if (ready <= 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) *eof = true;  // end of file: the child has exited (or is exiting)
    else got->append(buf, static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

namespace {

#if defined(__SANITIZE_ADDRESS__)
// Whether thread `tid` of this process is on a CPU or waiting for one (state R), or in an
// uninterruptible wait (D), from /proc/self/task/TID/stat; false when it cannot be read.
bool thread_busy(const std::string& tid) {
  std::FILE* f = std::fopen(("/proc/self/task/" + tid + "/stat").c_str(), "r");
  if (f == nullptr) return false;
  char buf[512];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  const char* close = std::strrchr(buf, ')');  // the state follows the name, which may hold spaces
  return close != nullptr && close[1] == ' ' && (close[2] == 'R' || close[2] == 'D');
}

// AddressSanitizer's allocator (GCC 12's libasan) takes no locks around fork: a thread inside
// it at the fork leaves its lock held in the child, whose first malloc then hangs until the
// guard's timeout (seen in the tests: RocksDB's timer thread starting as a store opened, just
// before an import forked). glibc's malloc is fork-safe, so only sanitizer builds wait, up to a
// second, for the process's other threads to be off the CPU. That makes the hang unlikely, not
// impossible: a thread may still enter the allocator between the last look and the fork.
void let_other_threads_settle() {
  const std::string self = std::to_string(::gettid());
  for (int attempt = 0; attempt < 200; ++attempt) {
    bool busy = false;
    std::error_code ec;
    std::filesystem::directory_iterator it("/proc/self/task", ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const std::string tid = it->path().filename().string();
      if (tid != self && thread_busy(tid)) busy = true;
    }
    if (!busy || ec) return;
    ::usleep(5000);
  }
}
#else
void let_other_threads_settle() {}
#endif

}  // namespace

Hdf5Check start_hdf5_check(const std::string& path, const CellMatrixOpener& open, const Hdf5GuardOptions& options,
                           const CellFileNote& note) {
  Hdf5Check check;
  if (options.timeout_seconds <= 0) return check;
  std::fflush(nullptr);  // nothing buffered is written twice
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return check;  // no child possible: the caller reads the file unguarded
  const pid_t parent = ::getpid();
  let_other_threads_settle();
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
    child_main(fds[1], open, note, std::max<int64_t>(1, options.rows_per_read));
  }
  ::close(fds[1]);
  check.pid_ = pid;
  check.fd_ = fds[0];
  check.path_ = path;
  check.deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_seconds);
  check.timeout_seconds_ = options.timeout_seconds;
  check.noted_ = !note;  // no note asked: nothing to take off the front
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
    received_ = std::move(other.received_);
    eof_ = other.eof_;
    timed_out_ = other.timed_out_;
    noted_ = other.noted_;
    note_ = std::move(other.note_);
  }
  return *this;
}

Hdf5Check::~Hdf5Check() { abandon(); }

void Hdf5Check::abandon() {
  if (pid_ >= 0) end_child(true, nullptr);
}

void Hdf5Check::end_child(bool kill_first, int* wait_status) {
  if (kill_first) ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, wait_status, 0) < 0 && errno == EINTR) {
  }
  ::close(fd_);
  pid_ = fd_ = -1;
}

const std::string& Hdf5Check::note() {
  if (pid_ < 0 || noted_) return note_;
  noted_ = true;
  constexpr size_t kHead = 1 + sizeof(uint32_t);
  if (!read_pipe(fd_, deadline_, kHead, &received_, &eof_)) timed_out_ = true;
  if (received_.size() < kHead || received_[0] != kNoteMark) return note_;  // the child stopped first
  uint32_t size;
  std::memcpy(&size, received_.data() + 1, sizeof size);
  if (!read_pipe(fd_, deadline_, kHead + size, &received_, &eof_)) timed_out_ = true;
  if (received_.size() < kHead + size) return note_;
  note_ = received_.substr(kHead, size);
  received_.erase(0, kHead + size);
  return note_;
}

Status Hdf5Check::wait() {
  if (pid_ < 0) return Status::ok();
  note();  // a note frame the caller did not ask for comes off the front
  int wait_status = 0;
  const bool finished =
      !timed_out_ && read_pipe(fd_, deadline_, std::numeric_limits<size_t>::max(), &received_, &eof_);
  end_child(!finished, &wait_status);
  if (!finished)
    return Status::corruption(damaged(path_, "did not finish within " + std::to_string(timeout_seconds_) +
                                                 " s (it hangs on some damaged files)") +
                              "; if the file is just very large, raise the limit with --hdf5-timeout SECONDS");
  if (WIFSIGNALED(wait_status))
    return Status::corruption(damaged(path_, std::string("crashed (") + ::strsignal(WTERMSIG(wait_status)) + ")"));
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) != 0)
    return Status::corruption(damaged(path_, "failed (exit status " + std::to_string(WEXITSTATUS(wait_status)) + ")"));
  return status_from(received_);
}

Status check_hdf5_file(const std::string& path, const CellMatrixOpener& open, const Hdf5GuardOptions& options) {
  return start_hdf5_check(path, open, options, CellFileNote()).wait();
}

}  // namespace sccello
