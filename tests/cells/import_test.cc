// Import behaviour on real files and bad input, on both store backends: 10x MTX == 10x HDF5,
// both heart encodings agree, CSC and dense layouts equal CSR, non-raw input refused, and every
// user error is a clear Status that leaves no dataset behind.
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "store/formats/h5ad_writer.h"
#include "store/release_store.h"
#include "tests/cells/cells_test_util.h"

namespace sccello::testing {
namespace {

class ImportTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');
    store_ = fresh_store(GetParam(), name);
  }
  Result<CellImportReport> import(const std::string& path, const std::string& name, CellImportOptions o = {}) {
    o.dataset = name;
    return import_cells(*store_, vocab(), path, o);
  }
  std::vector<CellRecord> cells(const std::string& name) {
    std::vector<CellRecord> out;
    EXPECT_TRUE(Corpus(*store_).for_each(name, [&](int64_t, const CellRecord& c) {
      out.push_back(c);
      return true;
    }).is_ok());
    return out;
  }
  std::unique_ptr<Store> store_;
};

const std::string kPbmc3k = data("cells/pbmc3k_seurat/pbmc3k_seurat.h5ad");

TEST_P(ImportTest, TenxMtxAndH5GiveIdenticalCorpora) {
  ASSERT_TRUE(import(data("cells/tenx_v3_subset"), "mtx").is_ok());
  ASSERT_TRUE(import(data("cells/tenx_v3_subset/filtered_feature_bc_matrix.h5"), "h5").is_ok());
  auto a = cells("mtx"), b = cells("h5");
  ASSERT_EQ(a.size(), 1107u);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].cell_id, b[i].cell_id);
    EXPECT_EQ(a[i].tokens, b[i].tokens);
    EXPECT_EQ(a[i].values, b[i].values);
  }
  EXPECT_EQ(a[0].cell_id, "AAACCCAAGGAGAGTA-1");
}

TEST_P(ImportTest, TenxLabelsFromTsvJoinedOnBarcode) {
  std::string tsv = temp_path("tenx_labels.tsv");
  std::ofstream(tsv) << "barcode\tcell_type\nAAACCCAAGGAGAGTA-1\tCL:0000236\nAAACGCTTCAGCCCAG-1\tmystery\n";
  CellImportOptions o;
  o.labels_tsv = tsv;
  o.label_key = "cell_type";
  auto r = import(data("cells/tenx_v3_subset"), "mtx", o);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  auto c = cells("mtx");
  EXPECT_EQ(c[0].term_id, "CL:0000236");
  EXPECT_EQ(c[1].term_id, "");
  EXPECT_EQ(c[1].label, "mystery");
  EXPECT_EQ(r->unmapped_cells, 1106);
}

// The two files hold 320 cells each (30 in common) with the same two CL terms, 160 cells each.
TEST_P(ImportTest, BothHeartEncodingsGiveTheSameLabels) {
  auto n = import(data("cells/heart_fixture/example_valid.h5ad"), "new");
  auto o = import(data("cells/heart_fixture/example_with_labels_old_encoding.h5ad"), "old");
  ASSERT_TRUE(n.is_ok() && o.is_ok());
  std::map<std::string, int64_t> want = {{"CL:0000057", 160}, {"CL:0000115", 160}};
  EXPECT_EQ(n->cells_per_term, want);
  EXPECT_EQ(o->cells_per_term, want);
  std::map<std::string, std::string> new_terms;
  for (auto& c : cells("new")) new_terms[c.cell_id] = c.term_id;
  int common = 0;
  for (auto& c : cells("old")) {
    EXPECT_EQ(c.label, c.term_id == "CL:0000057" ? "fibroblast" : "endothelial cell");  // old-encoding categorical
    if (!new_terms.count(c.cell_id)) continue;
    EXPECT_EQ(new_terms[c.cell_id], c.term_id) << c.cell_id;
    ++common;
  }
  EXPECT_EQ(common, 30);
  EXPECT_EQ(cells("new")[0].donor, "donor_2");  // donor_id categorical, new encoding
  EXPECT_EQ(cells("old")[0].tissue, "heart left ventricle");
}

TEST_P(ImportTest, Pbmc3kLabelsAndClMap) {
  CellImportOptions o;
  o.label_column = "cell_type";
  o.cl_map_tsv = data("cells/pbmc3k_seurat/label_to_cl.tsv");
  auto r = import(kPbmc3k, "pbmc3k", o);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->info.num_cells, 2638);
  EXPECT_EQ(r->cells_per_term.at("CL:0000895"), 697);  // Naive CD4 T
  EXPECT_EQ(r->cells_per_term.at("CL:0000625"), 271);  // CD8 T
  EXPECT_EQ(r->genes.genes_in_file, 32738);
  EXPECT_EQ(r->genes.mapped + r->genes.dropped(), 32738);
  auto lengths = Corpus(*store_).lengths("pbmc3k").value();
  EXPECT_EQ(lengths.size(), 2638u);
  EXPECT_EQ(*std::max_element(lengths.begin(), lengths.end()), 2048);
}

TEST_P(ImportTest, NonRawRefusedAndNormalizedNeedsTotals) {
  auto refused = import(data("cells/pbmc68k_reduced/10x_pbmc68k_reduced.h5ad"), "p68");
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("raw/X"), std::string::npos);
  EXPECT_NE(refused.status().message().find("--assume-normalized"), std::string::npos);
  CellImportOptions o;
  o.assume_normalized = true;
  o.label_column = "bulk_labels";
  auto ok = import(data("cells/pbmc68k_reduced/10x_pbmc68k_reduced.h5ad"), "p68", o);
  ASSERT_TRUE(ok.is_ok()) << ok.status().message();
  EXPECT_EQ(ok->info.num_cells, 700);
  EXPECT_TRUE(ok->warnings.empty());  // recovered counts are integers
  CellImportOptions plain;
  plain.assume_normalized = true;
  auto no_totals = import(data("cells/tenx_v3_subset"), "tenx", plain);
  ASSERT_FALSE(no_totals.is_ok());
  EXPECT_NE(no_totals.status().message().find("n_counts"), std::string::npos);
  EXPECT_EQ(Corpus(*store_).datasets()->size(), 1u);
}

// pbmc3k's first 300 cells written as CSR, CSC and dense give the same tokens.
TEST_P(ImportTest, CscAndDenseEqualCsr) {
  auto reader = open_h5ad(kPbmc3k, {}).value();
  H5adWriteSpec spec;
  spec.num_genes = reader->num_genes();
  spec.gene_ids = reader->gene_ids();
  reader->next_block(300, &spec.matrix);
  spec.cell_ids = reader->cell_ids(0, 300).value();
  std::vector<std::vector<int32_t>> want;
  for (auto layout : {H5adWriteSpec::Layout::kCsr, H5adWriteSpec::Layout::kCsc, H5adWriteSpec::Layout::kDense}) {
    spec.layout = layout;
    std::string path = temp_path("layout" + std::to_string(static_cast<int>(layout)) + ".h5ad");
    ASSERT_TRUE(write_h5ad(path, spec).is_ok());
    CellImportOptions o;
    o.h5ad.csc_bucket_rows = 64;  // several buckets
    std::string name = "l" + std::to_string(static_cast<int>(layout));
    auto r = import(path, name, o);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    auto got = cells(name);
    ASSERT_EQ(got.size(), 300u);
    if (want.empty())
      for (auto& c : got) want.push_back(c.tokens);
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i].tokens, want[i]) << name << " cell " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(cells, ImportTest, ::testing::Values(Backend::kRocksDb, Backend::kSqlite),
                         [](const auto& info) { return backend_name(info.param); });

}  // namespace
}  // namespace sccello::testing
