#include "store/text_lines.h"

#include <sys/stat.h>
#include <zlib.h>

namespace sccello {

Status read_text_file(const std::string& path, std::string* out) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return Status::not_found("cannot open '" + path + "': check the path");
  gzbuffer(f, 1 << 17);
  out->clear();
  char buf[1 << 16];
  int got;
  while ((got = gzread(f, buf, sizeof buf)) > 0) out->append(buf, static_cast<size_t>(got));
  const bool failed = got < 0;
  gzclose(f);
  if (failed) return Status::io_error("cannot read '" + path + "': damaged or truncated");
  return Status::ok();
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
