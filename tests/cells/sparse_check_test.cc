// check_row_block and the readers' use of it: sparse structure validated before anyone indexes
// with it (indptr, column range and order, duplicates, non-finite or negative counts), with
// errors that name the file, the cell and the gene; unsorted rows are sorted, not refused, and
// import exactly like their sorted form. Also the text helpers of store/safe_text.h.
#include <fstream>

#include "store/formats/h5ad_writer.h"
#include "store/safe_text.h"
#include "tests/cells/cells_test_util.h"

namespace sccello::testing {
namespace {

RowBlock block(std::vector<int64_t> indptr, std::vector<int32_t> indices, std::vector<float> data) {
  RowBlock b;
  b.first_row = 10;
  b.indptr = std::move(indptr);
  b.indices = std::move(indices);
  b.data = std::move(data);
  return b;
}

std::string refusal(RowBlock b, int64_t cols = 5) {
  auto cell = [](int64_t row) { return "cell" + std::to_string(row); };
  auto gene = [](int64_t col) { return "G" + std::to_string(col); };
  Status st = check_row_block(&b, cols, "f.h5ad:X", cell, gene);
  return st.is_ok() ? "" : st.message();
}

TEST(CheckRowBlock, AcceptsAValidBlockAndSortsUnsortedRows) {
  RowBlock b = block({0, 3, 3, 4}, {4, 0, 2, 1}, {1, 2, 3, 4});
  ASSERT_TRUE(check_row_block(&b, 5, "f").is_ok());
  EXPECT_EQ(b.indices, (std::vector<int32_t>{0, 2, 4, 1}));
  EXPECT_EQ(b.data, (std::vector<float>{2, 3, 1, 4}));
}

TEST(CheckRowBlock, RefusesBrokenStructureNamingRowCellAndGene) {
  EXPECT_NE(refusal(block({1, 2}, {0, 1}, {1, 1})).find("does not start at 0"), std::string::npos);
  EXPECT_NE(refusal(block({0, 2, 1, 2}, {0, 1}, {1, 1})).find("decreases at row 11 (cell 'cell11')"),
            std::string::npos) << refusal(block({0, 2, 1, 2}, {0, 1}, {1, 1}));
  EXPECT_NE(refusal(block({0, 1}, {0, 1}, {1, 1})).find("ends at 1 but there are 2 indices"), std::string::npos);
  EXPECT_NE(refusal(block({0, 2}, {0, 1}, {1})).find("and 1 values"), std::string::npos);
  EXPECT_NE(refusal(block({0, 1}, {5}, {1})).find("column 5, outside the matrix's 5 columns"), std::string::npos);
  EXPECT_NE(refusal(block({0, 1}, {-1}, {1})).find("column -1"), std::string::npos);
  std::string dup = refusal(block({0, 1, 3}, {0, 3, 3}, {1, 1, 2}));
  EXPECT_NE(dup.find("row 11 (cell 'cell11') has column 3 (gene 'G3') more than once"), std::string::npos) << dup;
  std::string nan = refusal(block({0, 2}, {0, 1}, {1, std::nanf("")}));
  EXPECT_NE(nan.find("row 10 (cell 'cell10'), column 1 (gene 'G1') holds nan"), std::string::npos) << nan;
  EXPECT_NE(refusal(block({0, 1}, {0}, {-INFINITY})).find("-inf"), std::string::npos);
  EXPECT_NE(refusal(block({0, 1}, {0}, {-2})).find("finite and non-negative"), std::string::npos);
}

class SparseImportTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = fresh_store(Backend::kRocksDb, "sparse_" + std::string(name())); }
  static const char* name() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }
  H5adWriteSpec spec() {
    H5adWriteSpec s;
    s.num_genes = 3;
    s.gene_ids = {"ENSG00000075624", "ENSG00000111640", "ENSG00000167996"};
    s.cell_ids = {"a", "b", "c"};
    s.matrix.indptr = {0, 2, 3, 5};
    s.matrix.indices = {0, 2, 1, 0, 1};
    s.matrix.data = {3, 1, 2, 5, 1};
    return s;
  }
  Result<CellImportReport> import(const std::string& path, const std::string& dataset) {
    CellImportOptions o;
    o.dataset = dataset;
    return import_cells(*store_, vocab(), path, o);
  }
  std::unique_ptr<Store> store_;
};

TEST_F(SparseImportTest, UnsortedCsrRowsImportLikeSortedOnes) {
  auto sorted = spec(), unsorted = spec();
  unsorted.matrix.indices = {2, 0, 1, 1, 0};
  unsorted.matrix.data = {1, 3, 2, 1, 5};
  std::string a = temp_path("sorted.h5ad"), b = temp_path("unsorted.h5ad");
  ASSERT_TRUE(write_h5ad(a, sorted).is_ok());
  ASSERT_TRUE(write_h5ad(b, unsorted).is_ok());
  ASSERT_TRUE(import(a, "a").is_ok());
  auto r = import(b, "b");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  for (int64_t i = 0; i < 3; ++i) {
    auto x = Corpus(*store_).cell("a", i), y = Corpus(*store_).cell("b", i);
    ASSERT_TRUE(x.is_ok() && y.is_ok());
    EXPECT_EQ(x->tokens, y->tokens);
    EXPECT_EQ(x->values, y->values);
  }
}

TEST_F(SparseImportTest, DuplicateEntryNamesFileCellAndGene) {
  auto s = spec();
  s.matrix.indices = {0, 2, 1, 1, 1};
  std::string path = temp_path("dup_entry.h5ad");
  ASSERT_TRUE(write_h5ad(path, s).is_ok());
  auto r = import(path, "d");
  ASSERT_FALSE(r.is_ok());
  const std::string& m = r.status().message();
  EXPECT_NE(m.find(path + ":X/indices"), std::string::npos) << m;
  EXPECT_NE(m.find("cell 'c'"), std::string::npos) << m;
  EXPECT_NE(m.find("gene 'ENSG00000111640'"), std::string::npos) << m;
  EXPECT_TRUE(Corpus(*store_).datasets()->empty());
}

TEST_F(SparseImportTest, MtxValueThatIsNotANumberNamesFileAndLine) {
  std::string dir = temp_path("mtx_abc");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/matrix.mtx") << "%%MatrixMarket matrix coordinate integer general\n% c\n3 3 2\n1 1 4\n2 2 abc\n";
  std::ofstream(dir + "/features.tsv") << "ENSG00000075624\tACTB\nENSG00000111640\tGAPDH\nENSG00000167996\tFTH1\n";
  std::ofstream(dir + "/barcodes.tsv") << "a\nb\nc\n";
  auto r = import(dir, "m");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find(dir + "/matrix.mtx:5: expected an entry"), std::string::npos)
      << r.status().message();
}

TEST(SafeText, Utf8ValidationEscapingAndDumping) {
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_EQ(first_invalid_utf8("ab\xff"), 2u);
  EXPECT_EQ(first_invalid_utf8("\xc0\xaf"), 0u);          // overlong '/'
  EXPECT_EQ(first_invalid_utf8("x\xed\xa0\x80"), 1u);     // a surrogate
  EXPECT_EQ(first_invalid_utf8("\xf4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(first_invalid_utf8("\xe2\x82"), 0u);          // truncated
  EXPECT_EQ(replace_invalid_utf8("a\xffz"), "a\xef\xbf\xbdz");
  EXPECT_EQ(tsv_escape("a\tb\nc\\d\r"), "a\\tb\\nc\\\\d\\r");
  nlohmann::json j = {{"label", std::string("caf\xe9")}};
  EXPECT_EQ(json_dump(j), "{\"label\":\"caf\xef\xbf\xbd\"}");
  Status st = check_utf8("x\xff", "f.obo:3", "the line");
  EXPECT_NE(st.message().find("f.obo:3: the line"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("0xFF at offset 1"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace sccello::testing
