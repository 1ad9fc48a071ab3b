// VocabImage: the gene vocabulary's parsed tables (token ids, medians, and the two symbol ->
// Ensembl tables) as one binary file that is mapped, not parsed: loading the text tables took
// ~30 ms per import of a symbol-keyed matrix (reading and inflating 2.4 MB of text, building
// hash tables of 160k entries), a fifth of a small import. The image is a cache: it lives in the
// user's cache folder (user_cache_dir), is keyed by the four source files' path, size,
// modification time and inode (vocab_tables_key), is written atomically (temporary file, then
// rename) and is rebuilt from the text whenever it is missing, stale or malformed. Every offset
// in a mapped image is checked once when it is opened, so a damaged file is refused, never read
// out of bounds.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "graph/status.h"
#include "store/cells/flat_string_map.h"

namespace sccello {

// A string -> string table inside an image: a FlatStringMap's slots as they were (its hash, slots
// of hash high half << 32 | entry + 1), entries of pool offsets.
class FrozenStringTable {
 public:
  // The value of `key`; false when absent.
  bool find(std::string_view key, std::string_view* value) const;
  // Starts loading the slot where find(key) begins, for a find a few keys later.
  void prefetch(std::string_view key) const;
  size_t size() const { return entries_; }

 private:
  friend class VocabImage;
  const uint64_t* slots_ = nullptr;
  uint64_t mask_ = 0;
  const uint32_t* entry_ = nullptr;  // 4 per entry: key offset, key length, value offset, value length
  uint64_t entries_ = 0;
  const char* pool_ = nullptr;
};

class VocabImage {
 public:
  ~VocabImage();
  VocabImage(const VocabImage&) = delete;
  VocabImage& operator=(const VocabImage&) = delete;

  // Writes an image of these tables to `path` under `key` (a temporary file renamed over it):
  // the symbol maps' slots and entries as they are, their strings into the image's pool.
  static Status write(const std::string& path, uint64_t key, const std::vector<std::string>& ids,
                      const std::vector<double>& medians, const FlatStringMap<std::string_view>& ensembl_by_symbol,
                      const FlatStringMap<std::string_view>& gencode_by_symbol);
  // Maps the image at `path`; nullptr when it is absent, written under another key, or malformed.
  static std::shared_ptr<const VocabImage> open(const std::string& path, uint64_t key);

  size_t num_tokens() const { return tokens_; }
  std::string_view id(size_t token) const;  // REQUIRES token < num_tokens()
  double median(size_t token) const;        // REQUIRES token < num_tokens()
  const FrozenStringTable& ensembl_by_symbol() const { return tables_[0]; }
  const FrozenStringTable& gencode_by_symbol() const { return tables_[1]; }

 private:
  VocabImage() = default;
  bool bind(uint64_t key);  // checks the header and every offset, sets the views
  const unsigned char* data_ = nullptr;
  size_t size_ = 0;
  uint64_t tokens_ = 0;
  const uint32_t* id_offsets_ = nullptr;  // tokens_ + 1 offsets into pool_
  const double* medians_ = nullptr;
  const char* pool_ = nullptr;
  FrozenStringTable tables_[2];
};

// A key for the vocabulary folder's four tables as they are now: their paths, sizes,
// modification times and inodes, hashed; 0 when one of them cannot be stat()ed.
uint64_t vocab_tables_key(const std::string& dir);

// Where sccello keeps caches: $SCCELLO_CACHE_DIR, else $XDG_CACHE_HOME/sccello, else
// $HOME/.cache/sccello; "" (no cache) when SCCELLO_CACHE_DIR is "off" or none is set.
std::string user_cache_dir();

}  // namespace sccello
