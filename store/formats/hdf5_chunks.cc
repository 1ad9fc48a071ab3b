#include "store/formats/hdf5_chunks.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "store/formats/hdf5_util.h"

#ifdef SCCELLO_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

namespace sccello::h5 {

#ifdef SCCELLO_HAVE_LIBDEFLATE
namespace {

// A deflate-only, 1-D chunked dataset stored exactly as mem_type: the chunk size in elements,
// or 0 where the fast path does not apply.
int64_t deflate_chunk_elements(hid_t dataset, hid_t mem_type) {
  Handle dcpl(H5Dget_create_plist(dataset));
  if (!dcpl.valid() || H5Pget_layout(dcpl.get()) != H5D_CHUNKED || H5Pget_nfilters(dcpl.get()) != 1) return 0;
  hsize_t chunk = 0;
  if (H5Pget_chunk(dcpl.get(), 1, &chunk) != 1 || chunk == 0) return 0;
  unsigned flags = 0, cd[8];
  size_t n_cd = 8;
  if (H5Pget_filter2(dcpl.get(), 0, &flags, &n_cd, cd, 0, nullptr, nullptr) != H5Z_FILTER_DEFLATE) return 0;
  Handle type(H5Dget_type(dataset));
  if (!type.valid() || H5Tequal(type.get(), mem_type) <= 0) return 0;
  return static_cast<int64_t>(chunk);
}

struct FreeDecompressor {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

libdeflate_decompressor* decompressor() {
  thread_local std::unique_ptr<libdeflate_decompressor, FreeDecompressor> d(libdeflate_alloc_decompressor());
  return d.get();
}

}  // namespace

ChunkedArray::ChunkedArray(hid_t dataset, hid_t mem_type) : dataset_(dataset) {
  if (dataset <= 0) return;
  chunk_elements_ = deflate_chunk_elements(dataset, mem_type);
  element_size_ = H5Tget_size(mem_type);
  length_ = length(dataset);
  fast_ = chunk_elements_ > 0 && element_size_ > 0 && decompressor() != nullptr;
}

// Reads chunk `chunk` raw and inflates it into dest (chunk_elements_ elements).
Result<ChunkedArray::Load> ChunkedArray::inflate(int64_t chunk, unsigned char* dest, const std::string& what) {
  const size_t chunk_bytes = static_cast<size_t>(chunk_elements_) * element_size_;
  hsize_t offset = static_cast<hsize_t>(chunk * chunk_elements_), stored = 0;
  if (H5Dget_chunk_storage_size(dataset_, &offset, &stored) < 0 || stored == 0) return Load::kUseHdf5;
  // zlib framing and stored blocks add a few bytes per 64 KiB; anything larger is not ours to read
  if (stored > chunk_bytes + chunk_bytes / 64 + 1024) return Load::kUseHdf5;
  raw_.resize(stored);
  uint32_t filter_mask = 0;
  if (H5Dread_chunk(dataset_, H5P_DEFAULT, &offset, &filter_mask, raw_.data()) < 0)
    return Status::corruption(what + ": chunk at element " + std::to_string(offset) +
                              " cannot be read (the file may be truncated or corrupt)");
  if (filter_mask & 1u) {  // this chunk was stored without compression
    if (stored != chunk_bytes) return Load::kUseHdf5;
    std::memcpy(dest, raw_.data(), chunk_bytes);
    return Load::kDone;
  }
  size_t got = 0;
  libdeflate_result r = libdeflate_zlib_decompress(decompressor(), raw_.data(), stored, dest, chunk_bytes, &got);
  if (r != LIBDEFLATE_SUCCESS || got != chunk_bytes)
    return Status::corruption(what + ": the deflate chunk at element " + std::to_string(offset) +
                              " does not decompress to its " + std::to_string(chunk_bytes) +
                              " bytes; the file is corrupt, re-export it");
  return Load::kDone;
}

Status ChunkedArray::read(int64_t first, int64_t count, void* out, bool* fell_back, const std::string& what) {
  *fell_back = false;
  auto* dest = static_cast<unsigned char*>(out);
  const int64_t end = first + count;
  for (int64_t chunk = first / chunk_elements_; chunk * chunk_elements_ < end; ++chunk) {
    const int64_t lo = chunk * chunk_elements_, hi = lo + chunk_elements_;
    const int64_t from = std::max(first, lo), to = std::min(end, hi);
    unsigned char* at = dest + (from - first) * element_size_;
    if (from == lo && to == hi && chunk != loaded_) {  // a whole chunk: inflate in place
      SCCELLO_ASSIGN_OR_RETURN(Load l, inflate(chunk, at, what));
      if (l == Load::kUseHdf5) { *fell_back = true; return Status::ok(); }
      continue;
    }
    if (chunk != loaded_) {
      chunk_.resize(static_cast<size_t>(chunk_elements_) * element_size_);
      loaded_ = -1;
      SCCELLO_ASSIGN_OR_RETURN(Load l, inflate(chunk, chunk_.data(), what));
      if (l == Load::kUseHdf5) { *fell_back = true; return Status::ok(); }
      loaded_ = chunk;
    }
    std::memcpy(at, chunk_.data() + (from - lo) * element_size_, (to - from) * element_size_);
  }
  return Status::ok();
}
bool libdeflate_built() { return true; }
#else
bool libdeflate_built() { return false; }
ChunkedArray::ChunkedArray(hid_t dataset, hid_t) : dataset_(dataset) {}
Result<ChunkedArray::Load> ChunkedArray::inflate(int64_t, unsigned char*, const std::string&) { return Load::kUseHdf5; }
Status ChunkedArray::read(int64_t, int64_t, void*, bool* fell_back, const std::string&) {
  *fell_back = true;
  return Status::ok();
}
#endif

namespace {

template <typename T, typename Fallback>
Status read_typed(ChunkedArray& array, int64_t first, int64_t count, std::vector<T>* out, const std::string& what,
                  Fallback fallback) {
  if (array.fast() && first >= 0 && count >= 0 && first + count <= length(array.dataset())) {
    out->resize(count);
    bool fell_back = false;
    SCCELLO_RETURN_IF_ERROR(array.read(first, count, out->data(), &fell_back, what));
    if (!fell_back) return Status::ok();
  }
  return fallback(array.dataset(), first, count, out, what);
}

}  // namespace

Status read_chunked(ChunkedArray& array, int64_t first, int64_t count, std::vector<float>* out,
                    const std::string& what) {
  return read_typed(array, first, count, out, what, read_floats);
}

Status read_chunked(ChunkedArray& array, int64_t first, int64_t count, std::vector<int32_t>* out,
                    const std::string& what) {
  return read_typed(array, first, count, out, what, read_int32);
}

}  // namespace sccello::h5
