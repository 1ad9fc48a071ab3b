#include "store/formats/hdf5_vlen.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <unordered_map>

#include "store/formats/hdf5_chunks.h"
#include "store/formats/hdf5_util.h"

namespace sccello::h5 {
namespace {

constexpr size_t kHeapIdBytes = 16;  // sequence length (4), collection address (8), object index (4)
constexpr uint64_t kMaxCollectionBytes = uint64_t{1} << 30;

uint32_t u32_at(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t u64_at(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
uint16_t u16_at(const unsigned char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

bool pread_all(int fd, void* buf, size_t n, uint64_t at) {
  auto* p = static_cast<unsigned char*>(buf);
  while (n > 0) {
    ssize_t got = ::pread(fd, p, n, static_cast<off_t>(at));
    if (got <= 0) return false;
    p += got;
    n -= static_cast<size_t>(got);
    at += static_cast<uint64_t>(got);
  }
  return true;
}

// One global heap collection: its bytes and, by object index, (offset of the data, size).
struct Collection {
  std::unique_ptr<unsigned char[]> bytes;  // not zero-filled: read over at once
  uint64_t size = 0;
  std::vector<std::pair<uint64_t, uint64_t>> objects;  // size 0 = absent
};

// Reads and parses the collection at `addr`; false when it does not check out.
bool load_collection(int fd, uint64_t addr, uint64_t file_size, Collection* c) {
  unsigned char head[16];
  if (addr >= file_size || file_size - addr < sizeof head || !pread_all(fd, head, sizeof head, addr)) return false;
  if (std::memcmp(head, "GCOL", 4) != 0 || head[4] != 1) return false;
  const uint64_t size = u64_at(head + 8);
  if (size < sizeof head || size > kMaxCollectionBytes || size > file_size - addr) return false;
  c->bytes.reset(new unsigned char[size]);
  c->size = size;
  if (!pread_all(fd, c->bytes.get(), size, addr)) return false;
  for (uint64_t at = 16; at + 16 <= size;) {
    const unsigned char* o = c->bytes.get() + at;
    const uint16_t index = u16_at(o);
    const uint64_t bytes = u64_at(o + 8);
    if (index == 0) break;  // the free space that ends the collection
    if (bytes > size - at - 16) return false;
    // Indices are handed out in order: one far beyond what the collection can hold is not ours
    // to trust (and would size the table by the index, not by the file).
    if (index > size / 16 + 1) return false;
    if (c->objects.size() <= index) c->objects.resize(index + 1, {0, 0});
    c->objects[index] = {at + 16, bytes};
    at += 16 + ((bytes + 7) & ~uint64_t{7});
  }
  return true;
}

// The raw heap ids of [first, first + count) from deflate chunks (ChunkedArray's raw-chunk path);
// false where that path does not apply or a chunk does not read.
bool read_chunked_ids(hid_t dataset, int64_t first, int64_t count, std::vector<unsigned char>* ids) {
  ChunkedArray array(dataset, kHeapIdBytes);
  if (!array.fast()) return false;
  ids->resize(static_cast<size_t>(count) * kHeapIdBytes);
  bool fell_back = false;
  return array.read(first, count, ids->data(), &fell_back, "").is_ok() && !fell_back;
}

// libhdf5's own descriptor of the file behind `dataset` when this path can read it (sec2
// driver, 8-byte addresses and lengths, no user block), else -1: read with pread, which leaves
// its offset alone, so the strings come from the very file libhdf5 opened.
int readable_file(hid_t dataset) {
  Handle file(H5Iget_file_id(dataset));
  if (!file.valid()) return -1;
  Handle fcpl(H5Fget_create_plist(file.get())), fapl(H5Fget_access_plist(file.get()));
  size_t address_bytes = 0, length_bytes = 0;
  hsize_t user_block = 1;
  if (!fcpl.valid() || !fapl.valid() || H5Pget_sizes(fcpl.get(), &address_bytes, &length_bytes) < 0 ||
      H5Pget_userblock(fcpl.get(), &user_block) < 0 || address_bytes != 8 || length_bytes != 8 || user_block != 0 ||
      H5Pget_driver(fapl.get()) != H5FD_SEC2)
    return -1;
  int* fd = nullptr;
  if (H5Fget_vfd_handle(file.get(), fapl.get(), reinterpret_cast<void**>(&fd)) < 0 || fd == nullptr) return -1;
  return *fd;
}

}  // namespace

Status read_vlen_strings_direct(hid_t dataset, int64_t first, int64_t count, std::vector<std::string>* out,
                                bool* read, const std::string& what) {
  (void)what;  // nothing here fails: what does not check out goes to H5Dread, which names it
  *read = false;
  Handle space(H5Dget_space(dataset));
  if (!space.valid() || H5Sget_simple_extent_ndims(space.get()) != 1 || first < 0 || count < 0) return Status::ok();
  hsize_t n = 0;
  H5Sget_simple_extent_dims(space.get(), &n, nullptr);
  if (static_cast<uint64_t>(first) + static_cast<uint64_t>(count) > n) return Status::ok();
  const int fd = readable_file(dataset);
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) != 0) return Status::ok();
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);

  std::vector<unsigned char> ids;
  Handle dcpl(H5Dget_create_plist(dataset));
  if (!dcpl.valid()) return Status::ok();
  const H5D_layout_t layout = H5Pget_layout(dcpl.get());
  if (layout == H5D_CONTIGUOUS) {
    const haddr_t at = H5Dget_offset(dataset);
    if (at == HADDR_UNDEF || H5Dget_storage_size(dataset) != n * kHeapIdBytes) return Status::ok();
    ids.resize(static_cast<size_t>(count) * kHeapIdBytes);
    if (!ids.empty() && !pread_all(fd, ids.data(), ids.size(), at + static_cast<uint64_t>(first) * kHeapIdBytes))
      return Status::ok();
  } else if (layout != H5D_CHUNKED || !read_chunked_ids(dataset, first, count, &ids)) {
    return Status::ok();
  }

  std::unordered_map<uint64_t, Collection> collections;
  uint64_t loaded_bytes = 0;  // collections are disjoint parts of the file: more than its size is not a heap
  std::vector<std::string> strings(static_cast<size_t>(count));
  const Collection* last = nullptr;
  uint64_t last_addr = 0;
  for (int64_t i = 0; i < count; ++i) {
    const unsigned char* id = ids.data() + i * kHeapIdBytes;
    const uint32_t length = u32_at(id);
    const uint64_t addr = u64_at(id + 4);
    const uint32_t index = u32_at(id + 12);
    if (length == 0) continue;  // ""
    if (last == nullptr || addr != last_addr) {
      auto [it, fresh] = collections.try_emplace(addr);
      if (fresh) {
        if (!load_collection(fd, addr, file_size, &it->second)) return Status::ok();
        loaded_bytes += it->second.size;
        if (loaded_bytes > file_size) return Status::ok();
      }
      last = &it->second;
      last_addr = addr;
    }
    if (index >= last->objects.size() || last->objects[index].second < length) return Status::ok();
    const char* text = reinterpret_cast<const char*>(last->bytes.get() + last->objects[index].first);
    strings[i].assign(text, strnlen(text, length));
  }
  out->swap(strings);
  *read = true;
  return Status::ok();
}

}  // namespace sccello::h5
