// The direct variable-length string path (store/formats/hdf5_vlen.h) against the oracle,
// HDF5's own H5Dread (read_strings_through_hdf5), on every 1-D variable-length string dataset of
// the bundled h5ad files: contiguous storage (the heart fixture) and deflate chunks (the PBMC
// files), whole and in sub-ranges; a damaged global heap collection sends it back to H5Dread.
#include <gtest/gtest.h>

#include <hdf5.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "store/formats/hdf5_util.h"
#include "store/formats/hdf5_vlen.h"
#include "cells_test_util.h"

namespace sccello {
namespace {

using testing::data;

// Names of the 1-D variable-length string datasets in a file.
std::vector<std::string> vlen_datasets(hid_t file) {
  std::vector<std::string> names;
  auto visit = [](hid_t loc, const char* name, const H5O_info_t* info, void* data) -> herr_t {
    if (info->type != H5O_TYPE_DATASET || std::string(name) == ".") return 0;
    h5::Handle d(H5Dopen2(loc, name, H5P_DEFAULT));
    h5::Handle type(H5Dget_type(d.get()));
    if (h5::shape(d.get()).size() == 1 && H5Tget_class(type.get()) == H5T_STRING && H5Tis_variable_str(type.get()) > 0)
      static_cast<std::vector<std::string>*>(data)->push_back(name);
    return 0;
  };
  H5Ovisit(file, H5_INDEX_NAME, H5_ITER_NATIVE, visit, &names);
  return names;
}

TEST(cellsHdf5Vlen, DirectStringsEqualHdf5s) {
  int direct = 0, datasets = 0;
  std::mt19937_64 rng(5);
  for (const char* rel : {"cells/heart_fixture/example_valid.h5ad", "cells/heart_fixture/example_with_labels_old_encoding.h5ad",
                          "cells/pbmc3k_seurat/pbmc3k_seurat.h5ad", "cells/pbmc4k_soupx/pbmc4k_soupx.h5ad",
                          "cells/pbmc68k_reduced/10x_pbmc68k_reduced.h5ad"}) {
    h5::silence_errors();
    h5::Handle file(H5Fopen(data(rel).c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    ASSERT_TRUE(file.valid()) << rel;
    for (const std::string& name : vlen_datasets(file.get())) {
      h5::Handle d(H5Dopen2(file.get(), name.c_str(), H5P_DEFAULT));
      const int64_t n = h5::length(d.get());
      std::vector<std::pair<int64_t, int64_t>> ranges = {{0, n}, {n - 1, 1}, {0, 1}};
      for (int i = 0; i < 6; ++i) {
        int64_t first = static_cast<int64_t>(rng() % n);
        ranges.push_back({first, static_cast<int64_t>(rng() % (n - first)) + 1});
      }
      ++datasets;
      for (auto [first, count] : ranges) {
        std::vector<std::string> got, want;
        bool read = false;
        ASSERT_TRUE(h5::read_vlen_strings_direct(d.get(), first, count, &got, &read, name).is_ok());
        ASSERT_TRUE(h5::read_strings_through_hdf5(d.get(), first, count, &want, name).is_ok()) << rel << " " << name;
        if (!read) continue;
        ++direct;
        ASSERT_EQ(got, want) << rel << " " << name << " [" << first << ", +" << count << ")";
      }
      std::vector<std::string> through_read_strings, want;
      ASSERT_TRUE(h5::read_strings(d.get(), 0, n, &through_read_strings, name).is_ok());
      ASSERT_TRUE(h5::read_strings_through_hdf5(d.get(), 0, n, &want, name).is_ok());
      ASSERT_EQ(through_read_strings, want) << rel << " " << name;
    }
  }
  EXPECT_EQ(datasets, 82);
  EXPECT_EQ(direct, datasets * 9);  // every range of every dataset went the direct way
}

// A global heap collection whose signature is damaged: the direct path declines (and reads
// nothing out of it), and H5Dread then decides.
TEST(cellsHdf5Vlen, DamagedCollectionFallsBackToHdf5) {
  const std::string copy = testing::temp_path("damaged_heap.h5ad");
  std::filesystem::copy_file(data("cells/heart_fixture/example_valid.h5ad"), copy,
                             std::filesystem::copy_options::overwrite_existing);
  std::string bytes;
  {
    std::ifstream in(copy, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  int damaged = 0;
  for (size_t at = bytes.find("GCOL"); at != std::string::npos; at = bytes.find("GCOL", at + 4), ++damaged)
    bytes[at] = 'X';
  ASSERT_GT(damaged, 0);
  std::ofstream(copy, std::ios::binary | std::ios::trunc) << bytes;
  h5::silence_errors();
  h5::Handle file(H5Fopen(copy.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  ASSERT_TRUE(file.valid());
  int declined = 0;
  for (const std::string& name : vlen_datasets(file.get())) {
    h5::Handle d(H5Dopen2(file.get(), name.c_str(), H5P_DEFAULT));
    std::vector<std::string> got;
    bool read = true;
    ASSERT_TRUE(h5::read_vlen_strings_direct(d.get(), 0, h5::length(d.get()), &got, &read, name).is_ok());
    declined += !read;
  }
  EXPECT_EQ(declined, 32);
}


// Random bytes inside the heap collections (sizes, indices, lengths, text): the direct path reads
// within what it loaded whatever they say (AddressSanitizer checks this in scripts/sanitize.sh),
// and where it still reads it returns one string per element.
TEST(cellsHdf5Vlen, CorruptedCollectionsAreReadSafely) {
  std::string original;
  {
    std::ifstream in(data("cells/heart_fixture/example_valid.h5ad"), std::ios::binary);
    original.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::vector<size_t> heaps;
  for (size_t at = original.find("GCOL"); at != std::string::npos; at = original.find("GCOL", at + 4)) heaps.push_back(at);
  ASSERT_FALSE(heaps.empty());
  std::mt19937_64 rng(17);
  const std::string copy = testing::temp_path("corrupt_heap.h5ad");
  int read_directly = 0;
  for (int trial = 0; trial < 30; ++trial) {
    std::string bytes = original;
    for (int k = 0; k < 8; ++k) {
      size_t at = heaps[rng() % heaps.size()] + 8 + rng() % 256;  // the size field and the first objects
      if (at < bytes.size()) bytes[at] = static_cast<char>(rng());
    }
    std::ofstream(copy, std::ios::binary | std::ios::trunc) << bytes;
    h5::silence_errors();
    h5::Handle file(H5Fopen(copy.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    ASSERT_TRUE(file.valid());
    for (const std::string& name : vlen_datasets(file.get())) {
      h5::Handle d(H5Dopen2(file.get(), name.c_str(), H5P_DEFAULT));
      std::vector<std::string> got;
      bool read = false;
      ASSERT_TRUE(h5::read_vlen_strings_direct(d.get(), 0, h5::length(d.get()), &got, &read, name).is_ok());
      if (read) {
        ++read_directly;
        EXPECT_EQ(got.size(), static_cast<size_t>(h5::length(d.get())));
      }
    }
  }
  EXPECT_GT(read_directly, 0);  // datasets whose collections were not hit still read directly
}

}  // namespace
}  // namespace sccello
