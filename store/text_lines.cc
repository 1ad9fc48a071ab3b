#include "store/text_lines.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#if defined(SCCELLO_HAVE_LIBDEFLATE)
#include <libdeflate.h>
#endif

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace sccello {

namespace {

// The whole file as bytes; false when it cannot be opened or read to its end (zlib's reader then
// names the error).
bool read_bytes(const std::string& path, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (ok) {
    out->resize(static_cast<size_t>(st.st_size));
    size_t have = 0;
    while (have < out->size()) {
      ssize_t n = ::read(fd, &(*out)[have], out->size() - have);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      have += static_cast<size_t>(n);
    }
    ok = have == out->size();
  }
  ::close(fd);
  return ok;
}

bool is_gzip(const std::string& bytes) {
  return bytes.size() >= 18 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

// A single-member gzip file in one call, its size from the trailer (ISIZE); false for anything
// else (several members, a size the trailer cannot hold or a ratio deflate cannot reach, damage):
// zlib's streaming reader then decides.
bool gunzip_whole(const std::string& gz, std::string* out) {
#if defined(SCCELLO_HAVE_LIBDEFLATE)
  uint32_t isize;
  std::memcpy(&isize, gz.data() + gz.size() - 4, sizeof isize);  // little-endian, as gzip stores it
  if (isize > uint64_t{1032} * gz.size() || isize > (uint32_t{1} << 30)) return false;
  out->resize(isize);
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  if (!d) return false;
  size_t in_used = 0, produced = 0;
  libdeflate_result r = libdeflate_gzip_decompress_ex(d, gz.data(), gz.size(), out->data(), out->size(), &in_used,
                                                      &produced);
  libdeflate_free_decompressor(d);
  return r == LIBDEFLATE_SUCCESS && in_used == gz.size() && produced == isize;
#else
  (void)gz, (void)out;
  return false;
#endif
}

Status gunzip_streaming(const std::string& path, std::string* out) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return Status::not_found("cannot open '" + path + "': check the path");
  gzbuffer(f, 1 << 17);
  out->clear();
  char buf[1 << 16];
  int got;
  while ((got = gzread(f, buf, sizeof buf)) > 0) out->append(buf, static_cast<size_t>(got));
  int err = Z_OK;
  gzerror(f, &err);  // a truncated stream ends the reads with Z_BUF_ERROR set, not with got < 0
  const bool failed = got < 0 || (err != Z_OK && err != Z_STREAM_END);
  gzclose(f);
  if (failed) return Status::io_error("cannot read '" + path + "': damaged or truncated");
  return Status::ok();
}

}  // namespace

Status read_text_file(const std::string& path, std::string* out) {
  std::string bytes;
  if (!read_bytes(path, &bytes)) return gunzip_streaming(path, out);  // its error names the path
  if (!is_gzip(bytes)) {
    out->swap(bytes);
    return Status::ok();
  }
  if (gunzip_whole(bytes, out)) return Status::ok();
  return gunzip_streaming(path, out);
}

TextLines::~TextLines() {
  if (file_) gzclose(static_cast<gzFile>(file_));
}

Status TextLines::open(const std::string& path) {
  path_ = path;
  file_ = gzopen(path.c_str(), "rb");
  if (!file_) return Status::not_found("cannot open '" + path + "': check the path");
  gzbuffer(static_cast<gzFile>(file_), 1 << 17);
  return Status::ok();
}

bool TextLines::next(std::string* line) {
  line->clear();
  if (!file_) return false;
  gzFile f = static_cast<gzFile>(file_);
  char buf[8192];
  bool any = false;
  while (gzgets(f, buf, sizeof buf)) {
    any = true;
    line->append(buf);
    if (!line->empty() && line->back() == '\n') break;
  }
  int err = 0;
  const char* msg = gzerror(f, &err);
  if (err != Z_OK && err != Z_STREAM_END) {
    error_ = Status::corruption("'" + path_ + "' line " + std::to_string(line_number_ + 1) +
                                ": read failed (" + msg + "); the file may be truncated");
    return false;
  }
  if (!any) return false;
  while (!line->empty() && (line->back() == '\n' || line->back() == '\r')) line->pop_back();
  ++line_number_;
  return true;
}

std::vector<std::string> split_fields(std::string_view line, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = line.find(sep, start);
    if (pos == std::string_view::npos) {
      out.emplace_back(line.substr(start));
      return out;
    }
    out.emplace_back(line.substr(start, pos - start));
    start = pos + 1;
  }
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool dir_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace sccello
