// Variable-length strings of a 1-D HDF5 dataset (an h5ad's gene and cell ids, a 10x file's
// features and barcodes) read without libhdf5's per-string conversion: H5Dread turns each string
// into a lookup of its global heap object through the metadata cache and a malloc (~0.7 us a
// string; 33k gene ids took ~13 ms, in the guard's child and again in the parent). Here the raw
// heap ids are read (contiguous storage, or deflate chunks read raw and inflated by
// ChunkedArray), each global heap collection they point into is read once and parsed (HDF5 File
// Format Specification, "Global Heap"), and the strings are cut out of it. Only the common case
// is read this way: 8-byte addresses and lengths, no user block, the sec2 driver, contiguous
// storage or deflate chunks (with or without shuffle); anything else, and anything that does
// not check out (a collection's signature, an object outside it, an index it lacks, a chunk that
// does not inflate), leaves *read false and the caller goes to H5Dread, which reports its own
// errors. Internal to store/ (includes hdf5.h).
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "graph/status.h"

namespace sccello::h5 {

// Elements [first, first + count) of a 1-D variable-length string dataset into *out, each cut
// at its first NUL as H5Dread's C strings are; *read false (out unspecified) where this path
// does not apply.
Status read_vlen_strings_direct(hid_t dataset, int64_t first, int64_t count, std::vector<std::string>* out,
                                bool* read, const std::string& what);

}  // namespace sccello::h5
