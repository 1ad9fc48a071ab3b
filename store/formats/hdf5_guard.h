// Containment of libhdf5 faults on untrusted files. libhdf5 1.10 itself can spin forever
// (H5Aread -> H5T_convert) or crash (a damaged global heap of variable-length strings) on crafted
// or damaged files, which no check of ours can prevent inside the library. check_hdf5_file runs
// the reader the caller is about to use in a forked child first, touching everything an open
// and an import touch besides the bulk of the counts (attributes, gene ids, every cell id and
// annotation column, the first block of the matrix), and turns a child killed by a signal or
// running past the time limit into an error naming the file. A Status the reader itself returns
// at open comes back as that Status (read through a pipe). The parent sleeps in poll() on that
// pipe, so it has the verdict the moment the child exits; POSIX (fork) only; the child never
// returns to the caller.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "graph/status.h"
#include "store/cells/cell_matrix.h"

namespace sccello {

struct Hdf5GuardOptions {
  int timeout_seconds = 30;  // the child's time limit; <= 0 reads the file in-process unguarded
  int64_t rows_per_read = 65536;  // cell ids and annotation values read per call in the child
  // Memory the child may allocate beyond what the caller already uses (RLIMIT_AS; 0 = no cap):
  // a corrupt size field then fails inside libhdf5 instead of exhausting the machine.
  uint64_t max_memory_bytes = uint64_t{4} << 30;
};

using CellMatrixOpener = std::function<Result<std::unique_ptr<CellMatrixReader>>()>;
// What the child tells the parent as soon as the file is open (before it reads the rest), from
// the open reader: e.g. whether the gene ids need the symbol tables, so that the parent loads
// them while the child goes on.
using CellFileNote = std::function<std::string(CellMatrixReader&)>;

// A guard child under way (start_hdf5_check): the caller does other work (no HDF5 calls, no
// threads it would fork with) while the child reads the file, then wait()s for the verdict. A
// check that is never waited for kills and reaps its child when destroyed. Move-only.
class Hdf5Check {
 public:
  Hdf5Check() = default;  // no child: wait() is OK
  Hdf5Check(Hdf5Check&& other) noexcept;
  Hdf5Check& operator=(Hdf5Check&& other) noexcept;
  Hdf5Check(const Hdf5Check&) = delete;
  Hdf5Check& operator=(const Hdf5Check&) = delete;
  ~Hdf5Check();
  // What check_hdf5_file returns; the time limit counts from the start. Once only (then OK).
  Status wait();
  // The child's note (start_hdf5_check's `note`), waiting for it; "" when none was asked for,
  // or the child stopped (the reader refused the file, a crash, the time limit: wait() says
  // which) or there is no child.
  const std::string& note();

 private:
  friend Hdf5Check start_hdf5_check(const std::string&, const CellMatrixOpener&, const Hdf5GuardOptions&,
                                    const CellFileNote&);
  void abandon();
  // Reaps the child (killing it first when asked), closes the pipe; no child afterwards.
  void end_child(bool kill_first, int* wait_status);
  pid_t pid_ = -1;
  int fd_ = -1;  // the child's report pipe
  std::string path_;
  std::chrono::steady_clock::time_point deadline_;
  int timeout_seconds_ = 0;
  std::string received_;  // read from the pipe, not yet used
  bool eof_ = false, timed_out_ = false;
  bool noted_ = true;     // the note frame has been taken off (or none was asked for)
  std::string note_;
};

// Forks the guard child and returns at once (no child when options.timeout_seconds <= 0 or the
// fork fails: the file is then read unguarded, as before).
Hdf5Check start_hdf5_check(const std::string& path, const CellMatrixOpener& open, const Hdf5GuardOptions& options,
                           const CellFileNote& note = CellFileNote());

// start_hdf5_check(...).wait(): OK when the child read the file, or could not be started. The
// reader's own error when it refused the file at open (the caller need not touch the file itself
// then). An error ("the HDF5 library crashed/did not finish reading FILE: the file is damaged
// ...") when the child died by a signal or ran out of time (it is then killed).
Status check_hdf5_file(const std::string& path, const CellMatrixOpener& open, const Hdf5GuardOptions& options);

}  // namespace sccello
