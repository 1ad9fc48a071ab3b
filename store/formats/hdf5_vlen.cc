#include "store/formats/hdf5_vlen.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "store/formats/hdf5_util.h"

#ifdef SCCELLO_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

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

// HDF5's shuffle stores byte k of every element together; puts each element's bytes back.
void unshuffle(const unsigned char* in, size_t elements, size_t size, unsigned char* out) {
  for (size_t k = 0; k < size; ++k)
    for (size_t e = 0; e < elements; ++e) out[e * size + k] = in[k * elements + e];
}

// The raw heap ids of [first, first + count) from chunked storage; false where not readable here.
bool read_chunked_ids(hid_t dataset, hid_t dcpl, int64_t first, int64_t count, std::vector<unsigned char>* ids) {
#ifdef SCCELLO_HAVE_LIBDEFLATE
  hsize_t chunk = 0;
  if (H5Pget_chunk(dcpl, 1, &chunk) != 1 || chunk == 0 || chunk > (uint64_t{64} << 20) / kHeapIdBytes) return false;
  std::vector<H5Z_filter_t> filters;
  for (int i = 0, n = H5Pget_nfilters(dcpl); i < n; ++i) {
    unsigned flags = 0, cd[8];
    size_t n_cd = 8;
    filters.push_back(H5Pget_filter2(dcpl, static_cast<unsigned>(i), &flags, &n_cd, cd, 0, nullptr, nullptr));
  }
  const bool shuffled = filters == std::vector<H5Z_filter_t>{H5Z_FILTER_SHUFFLE, H5Z_FILTER_DEFLATE};
  const bool deflated = shuffled || filters == std::vector<H5Z_filter_t>{H5Z_FILTER_DEFLATE};
  if (!deflated && !filters.empty()) return false;
  const size_t chunk_bytes = static_cast<size_t>(chunk) * kHeapIdBytes;
  std::unique_ptr<libdeflate_decompressor, void (*)(libdeflate_decompressor*)> inflater(
      libdeflate_alloc_decompressor(), libdeflate_free_decompressor);
  if (!inflater) return false;
  std::vector<unsigned char> raw, plain(chunk_bytes), unshuffled(chunk_bytes);
  ids->resize(static_cast<size_t>(count) * kHeapIdBytes);
  const int64_t end = first + count;
  for (int64_t k = first / static_cast<int64_t>(chunk); k * static_cast<int64_t>(chunk) < end; ++k) {
    hsize_t offset = static_cast<hsize_t>(k) * chunk, stored = 0;
    if (H5Dget_chunk_storage_size(dataset, &offset, &stored) < 0 || stored == 0 ||
        stored > chunk_bytes + chunk_bytes / 64 + 1024)
      return false;
    raw.resize(stored);
    uint32_t mask = 0;
    if (H5Dread_chunk(dataset, H5P_DEFAULT, &offset, &mask, raw.data()) < 0) return false;
    const unsigned deflate_bit = shuffled ? 2u : 1u;  // a set bit: that filter was skipped for this chunk
    if (!deflated || (mask & deflate_bit)) {
      if (stored != chunk_bytes) return false;
      plain.assign(raw.begin(), raw.end());
    } else {
      size_t got = 0;
      if (libdeflate_zlib_decompress(inflater.get(), raw.data(), stored, plain.data(), chunk_bytes, &got) !=
              LIBDEFLATE_SUCCESS ||
          got != chunk_bytes)
        return false;
    }
    if (shuffled && !(mask & 1u)) {
      unshuffle(plain.data(), static_cast<size_t>(chunk), kHeapIdBytes, unshuffled.data());
      plain.swap(unshuffled);
    }
    const int64_t lo = k * static_cast<int64_t>(chunk);
    const int64_t from = std::max(first, lo), to = std::min(end, lo + static_cast<int64_t>(chunk));
    std::memcpy(ids->data() + (from - first) * kHeapIdBytes, plain.data() + (from - lo) * kHeapIdBytes,
                static_cast<size_t>(to - from) * kHeapIdBytes);
  }
  return true;
#else
  (void)dataset, (void)dcpl, (void)first, (void)count, (void)ids;
  return false;
#endif
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
  } else if (layout != H5D_CHUNKED || !read_chunked_ids(dataset, dcpl.get(), first, count, &ids)) {
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
