// The libdeflate chunk path of the h5ad reader (store/formats/hdf5_chunks.h) against the oracle,
// HDF5's own H5Dread through its zlib filter, on the bundled pbmc3k file (deflate, 8,760-element
// chunks), and its errors on a corrupted chunk.
#include <gtest/gtest.h>

#include <hdf5.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "store/formats/hdf5_chunks.h"
#include "store/formats/hdf5_util.h"
#include "cells_test_util.h"

namespace sccello {
namespace {

using testing::data;

struct Opened {
  h5::Handle file, dataset;
  Opened(const std::string& path, const std::string& name) {
    h5::silence_errors();
    file = h5::Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    dataset = h5::Handle(H5Dopen2(file.get(), name.c_str(), H5P_DEFAULT));
  }
};

const std::string kPbmc3k = data("cells/pbmc3k_seurat/pbmc3k_seurat.h5ad");
constexpr int64_t kChunk = 8760;

// Ranges that start and end inside chunks, on chunk edges, span many chunks, hit the end.
std::vector<std::pair<int64_t, int64_t>> ranges(int64_t length) {
  std::vector<std::pair<int64_t, int64_t>> r = {
      {0, 1}, {0, kChunk}, {kChunk, kChunk}, {kChunk - 5, 10}, {100, 3 * kChunk}, {length - 1, 1},
      {length - 7000, 7000}, {0, length}, {5 * kChunk + 17, 0}};
  std::mt19937_64 rng(11);
  for (int i = 0; i < 40; ++i) {
    int64_t first = static_cast<int64_t>(rng() % length);
    r.push_back({first, static_cast<int64_t>(rng() % std::min<int64_t>(length - first, 4 * kChunk))});
  }
  for (auto& [first, count] : r) {  // inside the dataset, whatever its length
    first = std::clamp<int64_t>(first, 0, length - 1);
    count = std::min(count, length - first);
  }
  return r;
}

template <typename T, typename Oracle>
void expect_equal_to_hdf5(const std::string& file, const std::string& name, int64_t want_length, Oracle oracle) {
  Opened f(file, name);
  ASSERT_TRUE(f.dataset.valid());
  h5::ChunkedArray array(f.dataset.get());
  EXPECT_EQ(array.fast(), h5::libdeflate_built());
  int64_t length = h5::length(f.dataset.get());
  ASSERT_EQ(length, want_length);
  for (auto [first, count] : ranges(length)) {
    std::vector<T> got, want;
    ASSERT_TRUE(h5::read_chunked(array, first, count, &got, name).is_ok());
    ASSERT_TRUE(oracle(f.dataset.get(), first, count, &want, name).is_ok());
    ASSERT_EQ(got, want) << name << " [" << first << ", +" << count << ")";
  }
}

TEST(Hdf5Chunks, DeflateChunksEqualHdf5sOwnRead) {
  expect_equal_to_hdf5<float>(kPbmc3k, "X/data", 2242529, h5::read_floats);
  expect_equal_to_hdf5<int32_t>(kPbmc3k, "X/indices", 2242529, h5::read_int32);
}

// Cell Ranger's .h5: shuffle + deflate, counts stored as int32 (read as float), indices as
// int64 (read as int32); 23,866 entries in one 80,000-element chunk.
TEST(Hdf5Chunks, ShuffledIntegerChunksEqualHdf5sConversions) {
  const std::string tenx = data("cells/tenx_v3_subset/filtered_feature_bc_matrix.h5");
  expect_equal_to_hdf5<float>(tenx, "matrix/data", 23866, h5::read_floats);
  expect_equal_to_hdf5<int32_t>(tenx, "matrix/indices", 23866, h5::read_int32);
  Opened f(tenx, "matrix/indices");
  EXPECT_EQ(h5::ChunkedArray(f.dataset.get()).stored(), h5::ChunkedArray::Stored::kInt64);
}

TEST(Hdf5Chunks, ConsecutiveRowBlocksShareTheirEdgeChunks) {
  Opened f(kPbmc3k, "X/data");
  h5::ChunkedArray array(f.dataset.get());
  int64_t length = h5::length(f.dataset.get());
  std::vector<float> all, part, joined;
  ASSERT_TRUE(h5::read_floats(f.dataset.get(), 0, length, &all, "X/data").is_ok());
  for (int64_t at = 0; at < length; at += 12345) {  // never chunk-aligned
    int64_t n = std::min<int64_t>(12345, length - at);
    ASSERT_TRUE(h5::read_chunked(array, at, n, &part, "X/data").is_ok());
    joined.insert(joined.end(), part.begin(), part.end());
  }
  EXPECT_EQ(joined, all);
}

TEST(Hdf5Chunks, OtherConversionsAndUncompressedDatasetsGoThroughHdf5) {
  Opened floats(kPbmc3k, "X/data");  // float32 on disk asked as int32: H5Dread's conversion
  h5::ChunkedArray as_int(floats.dataset.get());
  std::vector<int32_t> got_int, want_int;
  ASSERT_TRUE(h5::read_chunked(as_int, 100, 20000, &got_int, "X/data").is_ok());
  ASSERT_TRUE(h5::read_int32(floats.dataset.get(), 100, 20000, &want_int, "X/data").is_ok());
  EXPECT_EQ(got_int, want_int);
  Opened plain(data("cells/heart_fixture/example_valid.h5ad"), "X/data");  // chunked, no filter
  h5::ChunkedArray array(plain.dataset.get());
  EXPECT_FALSE(array.fast());
  std::vector<float> got, want;
  ASSERT_TRUE(h5::read_chunked(array, 10, 5000, &got, "X/data").is_ok());
  ASSERT_TRUE(h5::read_floats(plain.dataset.get(), 10, 5000, &want, "X/data").is_ok());
  EXPECT_EQ(got, want);
}

TEST(Hdf5Chunks, ACorruptChunkIsAnErrorNamingTheDataset) {
  if (!h5::libdeflate_built()) GTEST_SKIP() << "built without libdeflate";
  std::string copy = testing::temp_path("corrupt_chunk.h5ad");
  std::filesystem::copy_file(kPbmc3k, copy, std::filesystem::copy_options::overwrite_existing);
  haddr_t address = 0;
  hsize_t size = 0;
  {
    Opened f(copy, "X/data");
    hsize_t offset[1] = {3 * kChunk};
    unsigned mask = 0;
    ASSERT_GE(H5Dget_chunk_info_by_coord(f.dataset.get(), offset, &mask, &address, &size), 0);
  }
  {
    std::fstream io(copy, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(static_cast<std::streamoff>(address + size / 2));
    std::string junk(64, '\xff');
    io.write(junk.data(), junk.size());
  }
  Opened f(copy, "X/data");
  h5::ChunkedArray array(f.dataset.get());
  std::vector<float> out;
  Status ok = h5::read_chunked(array, 0, 2 * kChunk, &out, "pbmc/X/data");  // chunks before it still read
  EXPECT_TRUE(ok.is_ok()) << ok.message();
  Status bad = h5::read_chunked(array, 2 * kChunk + 5, 2 * kChunk, &out, "pbmc/X/data");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.message().find("pbmc/X/data"), std::string::npos) << bad.message();
  EXPECT_NE(bad.message().find("corrupt"), std::string::npos) << bad.message();
}

}  // namespace
}  // namespace sccello
