// Bad input and store semantics of cell import, on both backends: every failure is a clear
// Status and leaves no dataset; an import killed midway leaves nothing visible and is swept;
// labels absent from the CL release are kept unmapped and counted; by-term with descendants.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "graph/ontology_graph.h"
#include "store/formats/h5ad_writer.h"
#include "store/kv_store.h"
#include "store/text_lines.h"
#include "store/release_store.h"
#include "tests/cells/cells_test_util.h"

namespace sccello::testing {
namespace {

const std::string kPbmc3k = data("cells/pbmc3k_seurat/pbmc3k_seurat.h5ad");

class BadInputTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name_.begin(), name_.end(), '/', '_');
    store_ = fresh_store(GetParam(), name_);
  }
  Status import(const std::string& path, CellImportOptions o = {}) {
    if (o.dataset.empty()) o.dataset = "d";
    return import_cells(*store_, vocab(), path, o).status();
  }
  void expect_refused(const Status& st, const std::string& words) {
    ASSERT_FALSE(st.is_ok());
    EXPECT_NE(st.message().find(words), std::string::npos) << st.message();
    EXPECT_TRUE(Corpus(*store_).datasets()->empty());
  }
  int64_t keys_under(const std::string& prefix) {
    int64_t n = 0;
    store_->kv().scan(prefix, [&](std::string_view, std::string_view) { return ++n, true; });
    return n;
  }
  // A small valid h5ad spec: 3 cells x 2 genes (ACTB, GAPDH by Ensembl id).
  H5adWriteSpec tiny() {
    H5adWriteSpec s;
    s.num_genes = 2;
    s.gene_ids = {"ENSG00000075624", "ENSG00000111640"};
    s.cell_ids = {"a", "b", "c"};
    s.matrix.indptr = {0, 2, 3, 4};
    s.matrix.indices = {0, 1, 1, 0};
    s.matrix.data = {3, 1, 2, 5};
    return s;
  }
  std::string name_;
  std::unique_ptr<Store> store_;
};

TEST_P(BadInputTest, CorruptAndTruncatedHdf5) {
  std::string garbage = temp_path("garbage.h5ad");
  std::ofstream(garbage) << "this is not an HDF5 file\n";
  expect_refused(import(garbage), "not a readable HDF5 file");
  std::string truncated = temp_path("truncated.h5ad");
  {
    std::ifstream in(kPbmc3k, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(truncated, std::ios::binary).write(bytes.data(), bytes.size() / 2);
  }
  Status st = import(truncated);
  ASSERT_FALSE(st.is_ok());
  EXPECT_TRUE(Corpus(*store_).datasets()->empty());
  expect_refused(import(temp_path("missing.h5ad")), "no such file");
}

TEST_P(BadInputTest, MissingXAndVarWithoutIds) {
  auto spec = tiny();
  spec.write_x = false;
  std::string no_x = temp_path("no_x.h5ad");
  ASSERT_TRUE(write_h5ad(no_x, spec).is_ok());
  expect_refused(import(no_x), "no X matrix");
  spec = tiny();
  spec.write_var_index = false;
  std::string no_var = temp_path("no_var.h5ad");
  ASSERT_TRUE(write_h5ad(no_var, spec).is_ok());
  expect_refused(import(no_var), "--var-column");
}

TEST_P(BadInputTest, LabelColumnThatDoesNotExistListsColumns) {
  CellImportOptions o;
  o.label_column = "celltype";
  expect_refused(import(kPbmc3k, o), "columns there are: cell_id, cell_type");
}

TEST_P(BadInputTest, DuplicateCellIds) {
  auto spec = tiny();
  spec.cell_ids = {"a", "b", "a"};
  std::string path = temp_path("dup.h5ad");
  ASSERT_TRUE(write_h5ad(path, spec).is_ok());
  expect_refused(import(path), "duplicate cell id 'a' at rows 0 and 2");
  EXPECT_EQ(keys_under("ds/c/"), 0);  // nothing half-written
}

TEST_P(BadInputTest, LabelsAbsentFromTheReleaseAreKeptUnmappedAndCounted) {
  std::unordered_set<std::string> known = {"CL:0000895", "CL:0000897", "CL:0001054", "CL:0000236",
                                           "CL:0000625", "CL:0002396", "CL:0000623", "CL:0000451"};  // no platelet
  CellImportOptions o;
  o.dataset = "pbmc3k";
  o.known_terms = &known;
  auto r = import_cells(*store_, vocab(), kPbmc3k, o);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->info.num_cells, 2638);
  EXPECT_EQ(r->unmapped_cells, 14);
  EXPECT_EQ(r->unmapped_labels.at("Platelet"), 14);
  EXPECT_EQ(r->info.num_unmapped_cells, 14);
}

TEST_P(BadInputTest, ImportKilledMidwayLeavesNoDatasetAndIsSwept) {
  std::string path = store_->path();
  store_.reset();  // the child takes the writer lock
  pid_t pid = fork();
  if (pid == 0) {
    StoreOptions so;
    so.path = path;
    auto store = Store::open(so).value();
    CellImportOptions o;
    o.dataset = "pbmc3k";
    o.block_rows = 100;
    o.write_batch_bytes = 64 << 10;
    o.progress = [](int64_t done, int64_t) {
      if (done >= 1000) _exit(3);  // killed midway, records already written
    };
    import_cells(*store, vocab(), kPbmc3k, o);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_EQ(WEXITSTATUS(status), 3);
  StoreOptions so;
  so.path = path;
  store_ = Store::open(so).value();
  EXPECT_TRUE(Corpus(*store_).datasets()->empty());
  // Orphans, unreferenced. RocksDB writes pending records into a table file that only the commit
  // ingests (corpus.h), so a failed import leaves none at all; SQLite's are durable and must be swept.
  if (GetParam() == Backend::kSqlite) {
    EXPECT_GT(keys_under("ds/c/"), 0);
  }
  EXPECT_FALSE(Corpus(*store_).cell("pbmc3k", 0).is_ok());
  CellImportOptions o;
  o.dataset = "heart";
  ASSERT_TRUE(import_cells(*store_, vocab(), data("cells/heart_fixture/example_valid.h5ad"), o).is_ok());
  EXPECT_EQ(keys_under("ds/c/"), 320);  // the orphans were swept
}

TEST_P(BadInputTest, DeleteAndReplace) {
  CellImportOptions o;
  o.dataset = "heart";
  std::string heart = data("cells/heart_fixture/example_valid.h5ad");
  ASSERT_TRUE(import_cells(*store_, vocab(), heart, o).is_ok());
  EXPECT_FALSE(import_cells(*store_, vocab(), heart, o).is_ok());  // exists
  o.replace = true;
  ASSERT_TRUE(import_cells(*store_, vocab(), heart, o).is_ok());
  EXPECT_EQ(keys_under("ds/c/"), 320);
  ASSERT_TRUE(Corpus(*store_).delete_dataset("heart").is_ok());
  EXPECT_EQ(keys_under("ds/"), 0);
  EXPECT_TRUE(Corpus(*store_).dataset("heart").status().is_not_found());
}

// `cells by-term CL:0000084 --descendants` finds pbmc3k's CD4 and CD8 T cells (and nothing else).
TEST_P(BadInputTest, ByTermWithDescendantsFindsTheTCells) {
  ImportOptions ro;
  auto release = read_ontology_file(data("ontology/cl-basic-2022-12-15.obo"), ro);
  ASSERT_TRUE(release.is_ok()) << release.status().message();
  ASSERT_TRUE(ReleaseStore(*store_).put(std::move(release).value(), ro).is_ok());
  CellImportOptions o;
  o.dataset = "pbmc3k";
  ASSERT_TRUE(import_cells(*store_, vocab(), kPbmc3k, o).is_ok());
  std::string path = store_->path();
  store_.reset();
  std::string cmd = std::string(SCCELLO_CLI) + " --store " + path + " cells by-term CL:0000084 --descendants --tsv";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::map<std::string, int> per_term;
  char line[1024];
  int rows = 0;
  while (std::fgets(line, sizeof line, p)) {
    auto f = split_fields(std::string(line), '\t');
    if (rows++ == 0 || f.size() < 5) continue;
    ++per_term[f[3]];
  }
  ASSERT_EQ(pclose(p), 0);
  std::map<std::string, int> want = {{"CL:0000625", 271}, {"CL:0000895", 697}, {"CL:0000897", 483}};
  EXPECT_EQ(per_term, want);
}

INSTANTIATE_TEST_SUITE_P(cells, BadInputTest, ::testing::Values(Backend::kRocksDb, Backend::kSqlite),
                         [](const auto& info) { return backend_name(info.param); });

}  // namespace
}  // namespace sccello::testing
