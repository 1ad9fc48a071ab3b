// Reading ranges of a 1-D chunked HDF5 dataset (an h5ad's X/data and X/indices) chunk by chunk:
// where the dataset is deflate-compressed (what anndata and h5py write with compression="gzip")
// and stored in the requested type, chunks are read raw (H5Dread_chunk) and inflated with
// libdeflate, about twice as fast as the zlib inside HDF5's filter; the last chunk is kept, so
// consecutive row blocks that share a chunk inflate it once. Every other dataset (no
// compression, other filters, another stored type, unallocated chunks) goes through H5Dread.
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
  // `dataset` must outlive this object; `mem_type` is what read() returns.
  ChunkedArray(hid_t dataset, hid_t mem_type);
  hid_t dataset() const { return dataset_; }
  bool fast() const { return fast_; }  // the libdeflate path applies
  // Elements [first, first + count), inside the dataset, into out; REQUIRES fast(). Sets
  // *fell_back (and writes nothing) when a chunk needs HDF5's own path (unallocated, too big).
  Status read(int64_t first, int64_t count, void* out, bool* fell_back, const std::string& what);

 private:
  enum class Load { kDone, kUseHdf5 };
  Result<Load> inflate(int64_t chunk, unsigned char* dest, const std::string& what);
  hid_t dataset_ = -1;
  size_t element_size_ = 0;
  bool fast_ = false;
  int64_t chunk_elements_ = 0, length_ = 0;
  int64_t loaded_ = -1;  // the chunk held in chunk_
  std::vector<unsigned char> chunk_, raw_;
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
