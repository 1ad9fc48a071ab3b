#include "store/formats/hdf5_chunks.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <type_traits>
#include <cstring>
#include <memory>

#include "store/formats/hdf5_util.h"

#ifdef SCCELLO_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

namespace sccello::h5 {

#ifdef SCCELLO_HAVE_LIBDEFLATE
namespace {

// The stored element type, where it is one the fast path converts from.
ChunkedArray::Stored stored_type(hid_t dataset) {
  Handle type(H5Dget_type(dataset));
  if (!type.valid()) return ChunkedArray::Stored::kOther;
  if (H5Tequal(type.get(), H5T_NATIVE_FLOAT) > 0) return ChunkedArray::Stored::kFloat32;
  if (H5Tequal(type.get(), H5T_NATIVE_INT32) > 0) return ChunkedArray::Stored::kInt32;
  if (H5Tequal(type.get(), H5T_NATIVE_INT64) > 0) return ChunkedArray::Stored::kInt64;
  return ChunkedArray::Stored::kOther;
}

// A 1-D chunked dataset whose filters are deflate, or shuffle then deflate: the chunk size in
// elements (0 where the fast path does not apply) and whether chunks are shuffled.
int64_t deflate_chunk_elements(hid_t dataset, bool* shuffled) {
  Handle dcpl(H5Dget_create_plist(dataset));
  if (!dcpl.valid() || H5Pget_layout(dcpl.get()) != H5D_CHUNKED) return 0;
  hsize_t chunk = 0;
  if (H5Pget_chunk(dcpl.get(), 1, &chunk) != 1 || chunk == 0) return 0;
  std::vector<H5Z_filter_t> filters;
  for (int i = 0, n = H5Pget_nfilters(dcpl.get()); i < n; ++i) {
    unsigned flags = 0, cd[8];
    size_t n_cd = 8;
    filters.push_back(H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &n_cd, cd, 0, nullptr, nullptr));
  }
  *shuffled = filters == std::vector<H5Z_filter_t>{H5Z_FILTER_SHUFFLE, H5Z_FILTER_DEFLATE};
  if (!*shuffled && filters != std::vector<H5Z_filter_t>{H5Z_FILTER_DEFLATE}) return 0;
  return static_cast<int64_t>(chunk);
}

size_t stored_size(ChunkedArray::Stored t) {
  return t == ChunkedArray::Stored::kInt64 ? 8 : t == ChunkedArray::Stored::kOther ? 0 : 4;
}

// HDF5's shuffle stores byte k of every element together; puts each element's bytes back.
void unshuffle(const unsigned char* in, size_t elements, size_t size, unsigned char* out) {
  for (size_t k = 0; k < size; ++k) {
    const unsigned char* plane = in + k * elements;
    for (size_t e = 0; e < elements; ++e) out[e * size + k] = plane[e];
  }
}

struct FreeDecompressor {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

libdeflate_decompressor* decompressor() {
  thread_local std::unique_ptr<libdeflate_decompressor, FreeDecompressor> d(libdeflate_alloc_decompressor());
  return d.get();
}

}  // namespace

ChunkedArray::ChunkedArray(hid_t dataset) : ChunkedArray(dataset, stored_size(stored_type(dataset))) {
  if (dataset > 0) stored_ = stored_type(dataset);
}

ChunkedArray::ChunkedArray(hid_t dataset, size_t element_size) : dataset_(dataset), element_size_(element_size) {
  if (dataset <= 0) return;
  chunk_elements_ = deflate_chunk_elements(dataset, &shuffled_);
  length_ = h5::length(dataset);
  // A chunk is inflated whole: chunks above 64 MiB (HDF5 allows up to 4 GiB) go through H5Dread.
  constexpr int64_t kMaxChunkBytes = int64_t{64} << 20;
  fast_ = chunk_elements_ > 0 && element_size_ > 0 &&
          chunk_elements_ <= kMaxChunkBytes / static_cast<int64_t>(element_size_) && decompressor() != nullptr;
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
  const unsigned deflate_bit = shuffled_ ? 2u : 1u, shuffle_bit = 1u;  // a set bit: filter skipped
  const bool unshuffle_it = shuffled_ && !(filter_mask & shuffle_bit);
  unsigned char* inflated = dest;
  if (unshuffle_it) {
    unshuffled_.resize(chunk_bytes);
    inflated = unshuffled_.data();
  }
  if (filter_mask & deflate_bit) {  // this chunk was stored without compression
    if (stored != chunk_bytes) return Load::kUseHdf5;
    std::memcpy(inflated, raw_.data(), chunk_bytes);
  } else {
    size_t got = 0;
    libdeflate_result r = libdeflate_zlib_decompress(decompressor(), raw_.data(), stored, inflated, chunk_bytes, &got);
    if (r != LIBDEFLATE_SUCCESS || got != chunk_bytes)
      return Status::corruption(what + ": the deflate chunk at element " + std::to_string(offset) +
                                " does not decompress to its " + std::to_string(chunk_bytes) +
                                " bytes; the file is corrupt, re-export it");
  }
  if (unshuffle_it) unshuffle(inflated, static_cast<size_t>(chunk_elements_), element_size_, dest);
  return Load::kDone;
}

Status ChunkedArray::read(int64_t first, int64_t count, void* out, bool* fell_back, const std::string& what) {
  *fell_back = false;
  if (count <= 0) return Status::ok();  // nothing to copy (and `out` may be null)
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
ChunkedArray::ChunkedArray(hid_t dataset) : dataset_(dataset) {}
ChunkedArray::ChunkedArray(hid_t dataset, size_t element_size) : dataset_(dataset), element_size_(element_size) {}
Result<ChunkedArray::Load> ChunkedArray::inflate(int64_t, unsigned char*, const std::string&) { return Load::kUseHdf5; }
Status ChunkedArray::read(int64_t, int64_t, void*, bool* fell_back, const std::string&) {
  *fell_back = true;
  return Status::ok();
}
#endif

namespace {

// Stored elements to the requested type, as H5Dread converts them.
template <typename From, typename To>
void convert(const unsigned char* in, int64_t count, To* out) {
  for (int64_t i = 0; i < count; ++i) {
    From x;
    std::memcpy(&x, in + i * sizeof(From), sizeof(From));
    if constexpr (std::is_same_v<From, int64_t> && std::is_same_v<To, int32_t>)
      out[i] = static_cast<int32_t>(std::clamp<int64_t>(x, INT32_MIN, INT32_MAX));
    else
      out[i] = static_cast<To>(x);
  }
}

template <typename T>
bool converts_from(ChunkedArray::Stored s) {
  using S = ChunkedArray::Stored;
  if constexpr (std::is_same_v<T, float>) return s == S::kFloat32 || s == S::kInt32 || s == S::kInt64;
  return s == S::kInt32 || s == S::kInt64;  // int32: float would need H5Dread's rounding rules
}

template <typename T, typename Fallback>
Status read_typed(ChunkedArray& array, int64_t first, int64_t count, std::vector<T>* out, const std::string& what,
                  Fallback fallback) {
  using S = ChunkedArray::Stored;
  if (array.fast() && converts_from<T>(array.stored()) && first >= 0 && count >= 0 &&
      first + count <= array.length()) {
    if (static_cast<size_t>(count) > out->capacity()) {  // room for larger blocks to come, without copying this one's
      out->clear();
      out->reserve(static_cast<size_t>(count) + static_cast<size_t>(count) / 4);
    }
    out->resize(count);
    bool fell_back = false;
    const bool same = (array.stored() == S::kFloat32 && std::is_same_v<T, float>) ||
                      (array.stored() == S::kInt32 && std::is_same_v<T, int32_t>);
    if (same) {
      SCCELLO_RETURN_IF_ERROR(array.read(first, count, out->data(), &fell_back, what));
    } else {
      std::vector<unsigned char> stored(static_cast<size_t>(count) * array.element_size());
      SCCELLO_RETURN_IF_ERROR(array.read(first, count, stored.data(), &fell_back, what));
      if (!fell_back) {
        if (array.stored() == S::kInt64) convert<int64_t>(stored.data(), count, out->data());
        else if (array.stored() == S::kInt32) convert<int32_t>(stored.data(), count, out->data());
        else convert<float>(stored.data(), count, out->data());
      }
    }
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
