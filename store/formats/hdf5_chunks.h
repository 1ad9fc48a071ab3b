// Reading ranges of a 1-D chunked HDF5 dataset (an h5ad's X/data and X/indices, a 10x .h5's
// matrix/data and matrix/indices) chunk by chunk: where the dataset is deflate-compressed, with or
// without the byte shuffle before it (anndata and h5py write compression="gzip"; Cell Ranger
// shuffle + gzip), chunks are read raw (H5Dread_chunk), inflated with libdeflate (about twice as
// fast as the zlib inside HDF5's filter) and unshuffled; the last chunk is kept, so consecutive
// row blocks that share a chunk inflate it once. Stored as float32, int32 or int64, read as
// float32 or int32 with the conversions H5Dread makes (integers to float rounded to nearest,
// int64 to int32 clamped). Every other dataset (no compression, other filters or types,
// unallocated chunks) goes through H5Dread.
// Internal to store/ (includes hdf5.h).
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "graph/status.h"

namespace sccello::h5 {

class ChunkedArray {
 public:
  ChunkedArray() = default;
  enum class Stored { kOther, kFloat32, kInt32, kInt64 };
  // `dataset` must outlive this object.
  explicit ChunkedArray(hid_t dataset);
  // Elements of any type read as raw bytes of `element_size` each (stored() is kOther): e.g. the
  // 16-byte global heap ids of a variable-length string dataset (hdf5_vlen.h).
  ChunkedArray(hid_t dataset, size_t element_size);
  hid_t dataset() const { return dataset_; }
  bool fast() const { return fast_; }  // the libdeflate path applies
  Stored stored() const { return stored_; }
  int64_t length() const { return length_; }
  size_t element_size() const { return element_size_; }  // bytes of a stored element (0: kOther)
  // Elements [first, first + count), inside the dataset, into out as stored (count times the
  // stored size); REQUIRES fast(). Sets *fell_back (and writes nothing) when a chunk needs
  // HDF5's own path (unallocated, too big).
  Status read(int64_t first, int64_t count, void* out, bool* fell_back, const std::string& what);

 private:
  enum class Load { kDone, kUseHdf5 };
  Result<Load> inflate(int64_t chunk, unsigned char* dest, const std::string& what);
  hid_t dataset_ = -1;
  Stored stored_ = Stored::kOther;
  size_t element_size_ = 0;
  bool fast_ = false, shuffled_ = false;
  int64_t chunk_elements_ = 0, length_ = 0;
  int64_t loaded_ = -1;  // the chunk held in chunk_
  std::vector<unsigned char> chunk_, raw_, unshuffled_;
};

// Whether this build inflates with libdeflate (else every read goes through H5Dread).
bool libdeflate_built();

// Elements [first, first + count) of the array's dataset: the fast path where it applies, else
// read_floats / read_int32 (which also name `what` in their errors).
Status read_chunked(ChunkedArray& array, int64_t first, int64_t count, std::vector<float>* out,
                    const std::string& what);
Status read_chunked(ChunkedArray& array, int64_t first, int64_t count, std::vector<int32_t>* out,
                    const std::string& what);

}  // namespace sccello::h5
