// The HDF5 guard child in two halves (start_cell_file_check, Hdf5Check): its early note says
// whether the file's gene ids need the symbol tables (oracle: the ids the reader gives, checked
// here one by one), the verdict is the same as check_cell_file's, and a crashing file still
// comes back as an error after a note that never came.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cerrno>
#include <string>

#include "store/cells/cell_import.h"
#include "store/cells/gene_vocab.h"

namespace sccello {
namespace {

const std::string kData = SCCELLO_DATA_DIR;
const std::string kPbmc3k = kData + "/cells/pbmc3k_seurat/pbmc3k_seurat.h5ad";
const std::string kTenxH5 = kData + "/cells/tenx_v3_subset/filtered_feature_bc_matrix.h5";
const std::string kCrash = std::string(SCCELLO_DATA_DIR) + "/../tests/data/bad/h5ad_libhdf5_crash.h5ad";

// The oracle: does any gene id of the file fail looks_like_ensembl (read in this process)?
bool any_symbol(const std::string& path) {
  auto reader = open_cell_matrix(path, CellImportOptions());
  EXPECT_TRUE(reader.is_ok()) << reader.status().message();
  for (const std::string& id : (*reader)->gene_ids())
    if (!id.empty() && !looks_like_ensembl(id)) return true;
  return false;
}

TEST(Hdf5GuardNote, SymbolKeyedFileAsksForTheSymbolTables) {
  ASSERT_TRUE(any_symbol(kPbmc3k));
  auto check = start_cell_file_check(kPbmc3k, CellImportOptions());
  ASSERT_TRUE(check.is_ok());
  EXPECT_EQ(check->note(), kGeneIdsNeedSymbols);
  EXPECT_EQ(check->note(), kGeneIdsNeedSymbols);  // asking twice reads nothing more
  Status st = check->wait();
  EXPECT_TRUE(st.is_ok()) << st.message();
}

TEST(Hdf5GuardNote, EnsemblKeyedFileNeedsNoSymbols) {
  ASSERT_FALSE(any_symbol(kTenxH5));
  auto check = start_cell_file_check(kTenxH5, CellImportOptions());
  ASSERT_TRUE(check.is_ok());
  EXPECT_EQ(check->note(), "");
  EXPECT_TRUE(check->wait().is_ok());
}

TEST(Hdf5GuardNote, WaitWithoutAskingForTheNoteIsTheVerdict) {
  auto check = start_cell_file_check(kPbmc3k, CellImportOptions());
  ASSERT_TRUE(check.is_ok());
  EXPECT_TRUE(check->wait().is_ok());
  EXPECT_TRUE(check->wait().is_ok());  // once only: then OK
}

TEST(Hdf5GuardNote, CrashingFileGivesNoNoteAndTheCrashError) {
  auto check = start_cell_file_check(kCrash, CellImportOptions());
  ASSERT_TRUE(check.is_ok());
  (void)check->note();  // "" or not, depending on whether the crash comes before the open
  Status st = check->wait();
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("h5ad_libhdf5_crash.h5ad"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("damaged"), std::string::npos) << st.message();
}

TEST(Hdf5GuardNote, ACheckNeverWaitedForLeavesNoChild) {
  {
    auto check = start_cell_file_check(kPbmc3k, CellImportOptions());
    ASSERT_TRUE(check.is_ok());
  }
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);  // no child left, not even a zombie
  EXPECT_EQ(errno, ECHILD);
}

TEST(Hdf5GuardNote, GuardOffOrOtherFormatsStartNoChild) {
  CellImportOptions off;
  off.hdf5_guard.timeout_seconds = 0;
  auto check = start_cell_file_check(kPbmc3k, off);
  ASSERT_TRUE(check.is_ok());
  EXPECT_EQ(check->note(), "");
  EXPECT_TRUE(check->wait().is_ok());
  auto mtx = start_cell_file_check(kData + "/cells/tenx_v3_subset", CellImportOptions());
  ASSERT_TRUE(mtx.is_ok());
  EXPECT_EQ(mtx->note(), "");
}

}  // namespace
}  // namespace sccello
