#include "store/cells/vocab_image.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "store/cells/flat_string_map.h"

namespace sccello {
namespace {

constexpr char kMagic[8] = {'S', 'C', 'V', 'O', 'C', 'A', 'B', '1'};
constexpr uint64_t kVersion = 1;
constexpr uint64_t kEndian = 0x0102030405060708ull;  // read back differently on another byte order

struct TableHeader {
  uint64_t slots_at, slots, entries_at, entries;
};

// Sections are 8-byte aligned offsets from the start of the file.
struct Header {
  char magic[8];
  uint64_t version, endian, key, file_size;
  uint64_t tokens, id_offsets_at, medians_at, pool_at, pool_size;
  TableHeader table[2];
};

uint64_t hash_of(std::string_view s) { return FlatStringMap<int32_t>::hash(s); }

size_t aligned(size_t n) { return (n + 7) & ~size_t{7}; }

// A map's slots as they are, and its entries as pool offsets (strings appended to the pool).
struct TableBuild {
  std::vector<uint64_t> slots;
  std::vector<uint32_t> entries;  // 4 per entry: key offset, key length, value offset, value length
};

TableBuild build_table(const FlatStringMap<std::string_view>& map, std::string* pool) {
  TableBuild t;
  t.slots = map.slots();
  if (t.slots.empty()) t.slots.assign(2, 0);  // an empty map has no probe array yet; an image table needs one
  for (size_t e = 0; e < map.size(); ++e) {
    for (std::string_view text : {map.key_at(e), map.value_at(e)}) {
      t.entries.push_back(static_cast<uint32_t>(pool->size()));
      t.entries.push_back(static_cast<uint32_t>(text.size()));
      pool->append(text);
    }
  }
  return t;
}

bool inside(uint64_t at, uint64_t bytes, uint64_t size) { return at <= size && bytes <= size - at; }

Status write_all(int fd, const std::string& bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) return Status::io_error("cannot write '" + path + "': " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

}  // namespace

void FrozenStringTable::prefetch(std::string_view key) const {
  if (slots_ != nullptr) __builtin_prefetch(&slots_[hash_of(key) & mask_]);
}

bool FrozenStringTable::find(std::string_view key, std::string_view* value) const {
  if (slots_ == nullptr) return false;
  const uint64_t h = hash_of(key);
  const uint64_t tag = h >> 32;
  for (uint64_t probe = 0, i = h & mask_; probe <= mask_; ++probe, i = (i + 1) & mask_) {
    const uint64_t slot = slots_[i];
    if (slot == 0) return false;
    if ((slot >> 32) != tag) continue;
    const uint64_t e = slot & 0xffffffffu;
    if (e > entries_) return false;  // a damaged slot (bind() checked the entries, not the slots)
    const uint32_t* entry = entry_ + 4 * (e - 1);
    if (std::string_view(pool_ + entry[0], entry[1]) == key) {
      *value = std::string_view(pool_ + entry[2], entry[3]);
      return true;
    }
  }
  return false;
}

VocabImage::~VocabImage() {
  if (data_ != nullptr) ::munmap(const_cast<unsigned char*>(data_), size_);
}

Status VocabImage::write(const std::string& path, uint64_t key, const std::vector<std::string>& ids,
                         const std::vector<double>& medians,
                         const FlatStringMap<std::string_view>& ensembl_by_symbol,
                         const FlatStringMap<std::string_view>& gencode_by_symbol) {
  if (medians.size() != ids.size()) return Status::invalid("vocabulary image: " + std::to_string(ids.size()) +
                                                           " ids but " + std::to_string(medians.size()) + " medians");
  std::string pool;
  std::vector<uint32_t> id_offsets;
  for (const std::string& id : ids) {
    id_offsets.push_back(static_cast<uint32_t>(pool.size()));
    pool += id;
  }
  id_offsets.push_back(static_cast<uint32_t>(pool.size()));
  TableBuild tables[2] = {build_table(ensembl_by_symbol, &pool), build_table(gencode_by_symbol, &pool)};
  if (pool.size() > UINT32_MAX) return Status::invalid("vocabulary image: tables too large");

  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.endian = kEndian;
  h.key = key;
  h.tokens = ids.size();
  size_t at = aligned(sizeof(Header));
  auto place = [&at](size_t bytes) {
    size_t here = at;
    at = aligned(at + bytes);
    return here;
  };
  h.id_offsets_at = place(id_offsets.size() * sizeof(uint32_t));
  h.medians_at = place(medians.size() * sizeof(double));
  for (int t = 0; t < 2; ++t) {
    h.table[t].slots = tables[t].slots.size();
    h.table[t].slots_at = place(tables[t].slots.size() * sizeof(uint64_t));
    h.table[t].entries = tables[t].entries.size() / 4;
    h.table[t].entries_at = place(tables[t].entries.size() * sizeof(uint32_t));
  }
  h.pool_size = pool.size();
  h.pool_at = place(pool.size());
  h.file_size = at;

  std::string bytes(h.file_size, '\0');
  auto put = [&bytes](size_t offset, const void* src, size_t n) {
    if (n > 0) std::memcpy(&bytes[offset], src, n);
  };
  put(0, &h, sizeof h);
  put(h.id_offsets_at, id_offsets.data(), id_offsets.size() * sizeof(uint32_t));
  put(h.medians_at, medians.data(), medians.size() * sizeof(double));
  for (int t = 0; t < 2; ++t) {
    put(h.table[t].slots_at, tables[t].slots.data(), tables[t].slots.size() * sizeof(uint64_t));
    put(h.table[t].entries_at, tables[t].entries.data(), tables[t].entries.size() * sizeof(uint32_t));
  }
  put(h.pool_at, pool.data(), pool.size());

  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  const std::string tmp = path + "." + std::to_string(::getpid()) + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::io_error("cannot create '" + tmp + "': " + std::strerror(errno));
  Status st = write_all(fd, bytes, tmp);
  if (st.is_ok() && ::fsync(fd) != 0) st = Status::io_error("cannot sync '" + tmp + "': " + std::strerror(errno));
  if (::close(fd) != 0 && st.is_ok()) st = Status::io_error("cannot close '" + tmp + "': " + std::strerror(errno));
  if (st.is_ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    st = Status::io_error("cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(errno));
  if (!st.is_ok()) ::unlink(tmp.c_str());
  return st;
}

std::shared_ptr<const VocabImage> VocabImage::open(const std::string& path, uint64_t key) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat s;
  void* map = MAP_FAILED;
  if (::fstat(fd, &s) == 0 && s.st_size >= static_cast<off_t>(sizeof(Header)))
    map = ::mmap(nullptr, static_cast<size_t>(s.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return nullptr;
  std::shared_ptr<VocabImage> image(new VocabImage());
  image->data_ = static_cast<const unsigned char*>(map);
  image->size_ = static_cast<size_t>(s.st_size);
  if (!image->bind(key)) return nullptr;  // the destructor unmaps
  return image;
}

bool VocabImage::bind(uint64_t key) {
  Header h;
  std::memcpy(&h, data_, sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.version != kVersion || h.endian != kEndian ||
      h.key != key || h.file_size != size_)
    return false;
  auto section = [&](uint64_t at, uint64_t count, uint64_t element) {
    return at % 8 == 0 && count <= size_ / element && inside(at, count * element, size_);
  };
  if (h.tokens == 0 || !section(h.id_offsets_at, h.tokens + 1, sizeof(uint32_t)) ||
      !section(h.medians_at, h.tokens, sizeof(double)) || !inside(h.pool_at, h.pool_size, size_))
    return false;
  tokens_ = h.tokens;
  id_offsets_ = reinterpret_cast<const uint32_t*>(data_ + h.id_offsets_at);
  medians_ = reinterpret_cast<const double*>(data_ + h.medians_at);
  pool_ = reinterpret_cast<const char*>(data_ + h.pool_at);
  for (uint64_t t = 0; t < tokens_; ++t)
    if (id_offsets_[t] > id_offsets_[t + 1]) return false;
  if (id_offsets_[tokens_] > h.pool_size) return false;
  for (int t = 0; t < 2; ++t) {
    const TableHeader& th = h.table[t];
    const bool power_of_two = th.slots >= 2 && (th.slots & (th.slots - 1)) == 0;
    if (!power_of_two || th.entries >= th.slots || !section(th.slots_at, th.slots, sizeof(uint64_t)) ||
        !section(th.entries_at, th.entries, 4 * sizeof(uint32_t)))
      return false;
    FrozenStringTable& table = tables_[t];
    table.slots_ = reinterpret_cast<const uint64_t*>(data_ + th.slots_at);
    table.mask_ = th.slots - 1;
    table.entry_ = reinterpret_cast<const uint32_t*>(data_ + th.entries_at);
    table.entries_ = th.entries;
    table.pool_ = pool_;
    for (uint64_t e = 0; e < th.entries; ++e) {
      const uint32_t* entry = table.entry_ + 4 * e;
      if (!inside(entry[0], entry[1], h.pool_size) || !inside(entry[2], entry[3], h.pool_size)) return false;
    }
  }
  return true;
}

std::string_view VocabImage::id(size_t token) const {
  return std::string_view(pool_ + id_offsets_[token], id_offsets_[token + 1] - id_offsets_[token]);
}

double VocabImage::median(size_t token) const {
  double m;
  std::memcpy(&m, medians_ + token, sizeof m);
  return m;
}

uint64_t vocab_tables_key(const std::string& dir) {
  char resolved[PATH_MAX];
  std::string parts = ::realpath(dir.c_str(), resolved) ? resolved : dir;
  for (const char* name : {"token_dictionary.tsv", "gene_median_dictionary.tsv", "gene_symbol_to_ensembl.tsv",
                           "genes_homo_sapiens_gencode_v48.csv.gz"}) {
    struct stat s;
    if (::stat((dir + "/" + name).c_str(), &s) != 0) return 0;
    const int64_t fields[] = {static_cast<int64_t>(s.st_dev),   static_cast<int64_t>(s.st_ino),
                              static_cast<int64_t>(s.st_size),  static_cast<int64_t>(s.st_mtim.tv_sec),
                              static_cast<int64_t>(s.st_mtim.tv_nsec)};
    parts += '\0';
    parts += name;
    parts.append(reinterpret_cast<const char*>(fields), sizeof fields);
  }
  const uint64_t key = hash_of(parts) ^ kVersion;
  return key == 0 ? 1 : key;
}

std::string user_cache_dir() {
  const char* own = std::getenv("SCCELLO_CACHE_DIR");
  if (own != nullptr && *own != '\0') return std::string(own) == "off" ? "" : own;
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && *xdg == '/') return std::string(xdg) + "/sccello";
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home == '/') return std::string(home) + "/.cache/sccello";
  return "";
}

}  // namespace sccello
