// TextLines: reads a text file line by line, gzip-compressed or plain (zlib detects which).
// Owns its file handle; one reader per thread. Also small helpers for tab/comma splitting.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "graph/status.h"

namespace sccello {

class TextLines {
 public:
  TextLines() = default;
  TextLines(const TextLines&) = delete;
  TextLines& operator=(const TextLines&) = delete;
  ~TextLines();

  // NotFound names the path when it cannot be opened.
  Status open(const std::string& path);
  // Next line without its '\n' (and '\r'); false at end of file. `error()` tells a read failure.
  bool next(std::string* line);
  const Status& error() const { return error_; }
  int64_t line_number() const { return line_number_; }
  const std::string& path() const { return path_; }

 private:
  void* file_ = nullptr;  // gzFile
  std::string path_;
  int64_t line_number_ = 0;
  Status error_;
};

// The whole file (gzip-compressed or plain) into *out. NotFound names the path.
Status read_text_file(const std::string& path, std::string* out);

// True when `s` ends with `suffix` (file-name extensions: ".obo", ".json.gz", ".h5ad", ...).
bool ends_with(std::string_view s, std::string_view suffix);

// Splits on `sep`, keeping empty fields.
std::vector<std::string> split_fields(std::string_view line, char sep);

// True when `path` names an existing regular file / directory.
bool file_exists(const std::string& path);
bool dir_exists(const std::string& path);

}  // namespace sccello
