// Cell similarity search on real cells (pbmc3k, pbmc4k) and real CL releases. The embedder is a
// fixed random projection of each cell's rank-weighted top genes (no model needed: cells of one
// type share top genes, so they land near each other); the oracles are a looped brute-force
// cosine scan and the ontology closure.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "graph/ontology_graph.h"
#include "model/search/cell_index.h"
#include "model/search/cell_search.h"
#include "store/cells/cell_import.h"
#include "store/corpus.h"
#include "store/release_store.h"
#include "store/store.h"
#include "tests/projection_embedder.h"

namespace sccello {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kDims = 48;

std::string data(const std::string& rel) { return std::string(SCCELLO_DATA_DIR) + "/" + rel; }

struct CountingEmbedder : testing::ProjectionEmbedder {
  CountingEmbedder() { dims = kDims; }
};

ModelIdentity test_model(const std::string& id = "0123456789abcdef") {
  ModelIdentity m;
  m.id = id;
  m.checkpoint = "projection-" + id;
  m.release = "2022-12-15";
  m.dims = kDims;
  return m;
}

class SearchTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    path_ = (fs::temp_directory_path() / ("sccello_search_" + std::to_string(::getpid()) + "_" +
                                          backend_name(GetParam())))
                .string();
    if (!prepared_.count(path_)) {
      fs::remove_all(path_);
      fs::remove_all(path_ + ".indexes");
      auto store = open(false);
      ReleaseStore releases(*store);
      for (const char* f : {"cl-basic-2021-12-16.obo", "CL-ontology-v2024-01-04.json.gz", "cl-basic-2022-12-15.obo"}) {
        auto r = read_ontology_file(data("ontology/") + f, {});
        ASSERT_TRUE(r.is_ok()) << r.status().message();
        ASSERT_TRUE(releases.put(std::move(*r), {}).is_ok());
      }
      GeneVocab vocab = GeneVocab::load(data("vocab")).value();
      for (auto [file, name] : {std::pair{"cells/pbmc3k_seurat/pbmc3k_seurat.h5ad", "pbmc3k"},
                                std::pair{"cells/pbmc4k_soupx/pbmc4k_soupx.h5ad", "pbmc4k"}}) {
        CellImportOptions o;
        o.dataset = name;
        o.tokenizer.max_len = 256;
        auto r = import_cells(*store, vocab, data(file), o);
        ASSERT_TRUE(r.is_ok()) << r.status().message();
      }
      prepared_.insert(path_);
    }
  }
  std::unique_ptr<Store> open(bool read_only) {
    StoreOptions o;
    o.path = path_;
    o.backend = GetParam();
    o.read_only = read_only;
    return Store::open(o).value();
  }
  IndexBuildOptions options(const std::string& name, std::vector<std::string> datasets) {
    IndexBuildOptions o;
    o.name = name;
    o.datasets = std::move(datasets);
    o.threads = 1;
    o.replace = true;
    return o;
  }
  std::string path_;
  static std::set<std::string> prepared_;
};
std::set<std::string> SearchTest::prepared_;

std::vector<int64_t> rows_of(const std::vector<QueryHit>& hits) {
  std::vector<int64_t> out;
  for (const auto& h : hits) out.push_back(h.row);
  return out;
}

TEST_P(SearchTest, AnnMatchesExactAndLoopedOracle) {
  CountingEmbedder embed;
  {
    auto store = open(false);
    auto built = build_index(*store, test_model(), embed.fn(), options("recall", {"pbmc3k"}));
    ASSERT_TRUE(built.is_ok()) << built.status().message();
    EXPECT_EQ(built->rows, 2638);
  }
  auto store = open(true);
  auto opened = CellIndex::open(*store, "recall");
  ASSERT_TRUE(opened.is_ok()) << opened.status().message();
  auto index = std::move(*opened);
  auto matrix = index->matrix();
  ASSERT_TRUE(matrix.is_ok()) << matrix.status().message();
  const std::vector<float>& m = **matrix;
  double recall = 0;
  int queries = 0;
  for (int64_t q = 0; q < 2638; q += 13, ++queries) {
    const float* query = m.data() + q * kDims;
    auto ann = index->vectors().search(query, 10, 64);
    auto exact = exact_knn(m.data(), 2638, kDims, query, 1, 10)[0];
    // Looped oracle of the exact scan: double-precision cosines, sorted.
    std::vector<std::pair<double, int64_t>> all;
    for (int64_t r = 0; r < 2638; ++r) {
      double s = 0;
      for (int64_t d = 0; d < kDims; ++d) s += double(query[d]) * m[r * kDims + d];
      all.push_back({-s, r});
    }
    std::partial_sort(all.begin(), all.begin() + 10, all.end());
    for (int i = 0; i < 10; ++i) EXPECT_NEAR(exact[i].similarity, -all[i].first, 1e-5);
    std::set<int64_t> truth;
    for (const auto& n : exact) truth.insert(n.row);
    for (const auto& n : ann) recall += truth.count(n.row);
  }
  recall /= 10.0 * queries;
  EXPECT_GE(recall, 0.98) << "recall@10 over " << queries << " queries";
}

TEST_P(SearchTest, ConcurrentBuildKeepsRecall) {
  CountingEmbedder embed;
  {
    auto o = options("threads", {"pbmc3k", "pbmc4k"});
    o.threads = 2;
    ASSERT_TRUE(build_index(*open(false), test_model(), embed.fn(), o).is_ok());
  }
  auto store = open(true);
  auto index = CellIndex::open(*store, "threads").value();
  const std::vector<float>& m = *index->matrix().value();
  const int64_t rows = index->info().rows;
  double found = 0;
  int queries = 0;
  for (int64_t q = 0; q < rows; q += 17, ++queries) {
    std::set<int64_t> truth;
    const auto exact = exact_knn(m.data(), rows, kDims, m.data() + q * kDims, 1, 10);
    for (const auto& n : exact[0]) truth.insert(n.row);
    for (const auto& n : index->vectors().search(m.data() + q * kDims, 10, 64)) found += truth.count(n.row);
  }
  EXPECT_GE(found / (10.0 * queries), 0.98);
}

TEST_P(SearchTest, CellFindsItselfFirstAndFiltersUseTheClosure) {
  CountingEmbedder embed;
  { ASSERT_TRUE(build_index(*open(false), test_model(), embed.fn(), options("pbmc", {"pbmc3k"})).is_ok()); }
  auto store = open(true);
  auto index = CellIndex::open(*store, "pbmc").value();
  auto search = CellSearch::open(*store, *index, {}).value();
  const IndexCell& first = index->cells()[5];
  QueryOptions o;
  o.k = 5;
  auto self = search->by_cell("pbmc3k", first.cell_id, o).value();
  ASSERT_EQ(self.hits.size(), 5u);
  EXPECT_EQ(self.hits[0].cell.cell_id, first.cell_id);
  EXPECT_NEAR(self.hits[0].similarity, 1.0, 1e-5);
  EXPECT_EQ(self.hits[0].relation, "same");
  o.exclude_self = true;
  EXPECT_NE(search->by_cell("pbmc3k", first.cell_id, o)->hits[0].cell.cell_id, first.cell_id);

  // --under T cell from a B cell: every hit is a T cell by the closure, and there are k of them.
  const OntologyGraph& g = search->graph();
  const TermIndex t_cell = *g.index_of("CL:0000084");
  std::string b_cell;
  for (const auto& c : index->cells())
    if (c.term_id == "CL:0000236") { b_cell = c.cell_id; break; }
  ASSERT_FALSE(b_cell.empty());
  QueryOptions under;
  under.k = 50;
  under.filters.under = {"CL:0000084"};
  auto hits = search->by_cell("pbmc3k", b_cell, under).value();
  ASSERT_EQ(hits.hits.size(), 50u);
  for (const auto& h : hits.hits) {
    const auto ancestors = g.ancestors(*g.index_of(h.term_id), true);
    EXPECT_TRUE(std::find(ancestors.begin(), ancestors.end(), t_cell) != ancestors.end()) << h.term_id;
    // From a B cell every T-cell hit is related through lymphocyte-level ancestors.
    EXPECT_EQ(h.relation, "related");
  }
  // Filtered ANN equals the exact search restricted to the same cells.
  under.exact = true;
  std::set<int64_t> exact_rows;
  for (int64_t r : rows_of(search->by_cell("pbmc3k", b_cell, under)->hits)) exact_rows.insert(r);
  int64_t agree = 0;
  for (int64_t r : rows_of(hits.hits)) agree += exact_rows.count(r);
  EXPECT_GE(agree, 48);
  // --not-under removes them all.
  QueryOptions not_under;
  not_under.k = 50;
  not_under.filters.not_under = {"CL:0000084"};
  auto outside = search->by_cell("pbmc3k", b_cell, not_under);  // kept: range-for over ->hits of a temporary dangles
  ASSERT_TRUE(outside.is_ok()) << outside.status().message();
  for (const auto& h : outside->hits) EXPECT_FALSE(g.is_ancestor(t_cell, *g.index_of(h.term_id))) << h.term_id;
}

TEST_P(SearchTest, RelationsOnHandPickedPairs) {
  CountingEmbedder embed;
  { ASSERT_TRUE(build_index(*open(false), test_model(), embed.fn(), options("rel", {"pbmc3k", "pbmc4k"})).is_ok()); }
  auto store = open(true);
  auto index = CellIndex::open(*store, "rel").value();
  auto search = CellSearch::open(*store, *index, {}).value();
  auto first_of = [&](const std::string& dataset, const std::string& term) {
    for (const auto& c : index->cells())
      if (c.dataset == dataset && c.term_id == term) return c.cell_id;
    return std::string();
  };
  auto hit_with = [&](const std::string& dataset, const std::string& term, const std::string& under) {
    QueryOptions o;
    o.k = 3;
    o.filters.under = {under};
    o.filters.datasets = {dataset == "pbmc3k" ? "pbmc4k" : "pbmc3k"};
    auto r = search->by_cell(dataset, first_of(dataset, term), o);
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    return r->hits.at(0);
  };
  // Query naive CD4 (pbmc3k) -> hit CD4 alpha-beta T (pbmc4k): the hit's term is an ancestor.
  QueryHit h = hit_with("pbmc3k", "CL:0000895", "CL:0000624");
  EXPECT_EQ(h.term_id, "CL:0000624");
  EXPECT_EQ(h.relation, "ancestor");
  // Query CD4 alpha-beta T (pbmc4k) -> hit naive CD4 (pbmc3k): a descendant.
  h = hit_with("pbmc4k", "CL:0000624", "CL:0000895");
  EXPECT_EQ(h.relation, "descendant");
  // CD4 vs CD8 alpha-beta T: related via mature alpha-beta T cell (LCA), at a positive distance.
  h = hit_with("pbmc4k", "CL:0000624", "CL:0000625");
  EXPECT_EQ(h.relation, "related");
  EXPECT_EQ(h.lca_id, "CL:0000791");
  EXPECT_GT(h.distance, 0);
  EXPECT_GE(h.level, 1);
}

TEST_P(SearchTest, AddEqualsFreshBuildAndReusesEmbeddings) {
  CountingEmbedder embed;
  {
    auto store = open(false);
    ASSERT_TRUE(build_index(*store, test_model("aaaaaaaaaaaaaaaa"), embed.fn(), options("grow", {"pbmc3k"})).is_ok());
    EXPECT_EQ(embed.cells, 2638);
    ASSERT_TRUE(add_to_index(*store, "grow", test_model("aaaaaaaaaaaaaaaa"), embed.fn(), options("grow", {"pbmc4k"})).is_ok());
    EXPECT_EQ(embed.cells, 2638 + 2170);
    // A second index over the same model embeds nothing.
    ASSERT_TRUE(build_index(*store, test_model("aaaaaaaaaaaaaaaa"), embed.fn(), options("fresh", {"pbmc3k", "pbmc4k"})).is_ok());
    EXPECT_EQ(embed.cells, 2638 + 2170);
    // Another model's index does not see them.
    auto other = add_to_index(*store, "grow", test_model("bbbbbbbbbbbbbbbb"), embed.fn(), options("grow", {"pbmc4k"}));
    EXPECT_FALSE(other.is_ok());
  }
  auto store = open(true);
  auto grown = CellIndex::open(*store, "grow").value();
  auto fresh = CellIndex::open(*store, "fresh").value();
  ASSERT_EQ(grown->info().rows, 2638 + 2170);
  ASSERT_EQ(fresh->info().rows, grown->info().rows);
  for (int64_t r = 0; r < grown->info().rows; r += 97)
    EXPECT_EQ(grown->cells()[r].cell_id, fresh->cells()[r].cell_id);
  auto a = CellSearch::open(*store, *grown, {}).value();
  auto b = CellSearch::open(*store, *fresh, {}).value();
  QueryOptions o;
  o.k = 10;
  double overlap = 0;
  int n = 0;
  for (int64_t r = 0; r < grown->info().rows; r += 61, ++n) {
    const IndexCell& c = grown->cells()[r];
    QueryOptions exact = o;
    exact.exact = true;
    EXPECT_EQ(rows_of(a->by_cell(c.dataset, c.cell_id, exact)->hits), rows_of(b->by_cell(c.dataset, c.cell_id, exact)->hits));
    std::vector<int64_t> x = rows_of(a->by_cell(c.dataset, c.cell_id, o)->hits);
    std::set<int64_t> y;
    for (int64_t row : rows_of(b->by_cell(c.dataset, c.cell_id, o)->hits)) y.insert(row);
    for (int64_t row : x) overlap += y.count(row);
  }
  EXPECT_GE(overlap / (10.0 * n), 0.97);
}

TEST_P(SearchTest, ReleaseViewMigratesAndTermQueries) {
  CountingEmbedder embed;
  { ASSERT_TRUE(build_index(*open(false), test_model(), embed.fn(), options("view", {"pbmc3k"})).is_ok()); }
  auto store = open(true);
  auto index = CellIndex::open(*store, "view").value();
  // pbmc3k's terms are CL 2022-12-15 ids; through 2021-12-16 the terms added since are unmapped,
  // through 2024-01-04 every term is live and kept.
  SearchOptions old_view;
  old_view.release = "2021-12-16";
  auto old_search = CellSearch::open(*store, *index, old_view).value();
  SearchOptions newer;
  newer.release = "2024-01-04";
  auto new_search = CellSearch::open(*store, *index, newer).value();
  EXPECT_EQ(new_search->release_name(), "2024-01-04");
  int64_t kept = 0;
  for (int64_t r = 0; r < index->info().rows; ++r) kept += new_search->viewed_term(r) == index->cells()[r].term_id;
  EXPECT_EQ(kept, index->info().rows);
  // --term: the cells nearest the B-cell centroid are B cells.
  QueryOptions o;
  o.k = 20;
  auto typical = new_search->by_term("CL:0000236", false, o).value();
  ASSERT_EQ(typical.hits.size(), 20u);
  for (const auto& h : typical.hits) EXPECT_EQ(h.term_id, "CL:0000236");
  // Rolled-up summary: lymphocyte counts the hits of every lymphocyte subtype.
  QueryOptions t;
  t.k = 40;
  t.filters.under = {"CL:0000542"};
  auto lymph = new_search->by_term("CL:0000084", true, t).value();
  int64_t lymphocyte_rolled = 0, direct = 0;
  for (const auto& c : lymph.summary) {
    if (c.term_id == "CL:0000542") lymphocyte_rolled = c.rolled;
    direct += c.direct;
  }
  EXPECT_EQ(lymphocyte_rolled, 40);
  EXPECT_EQ(direct, 40);
  (void)old_search;
}

// Cells labelled with terms of CL 2021-12-16 that 2022-12-15 obsoleted: valve cell CL:0000663
// (replaced_by CL:1000147) and inhibitory neuron CL:0008029 (no replacement). Through 2022-12-15
// the first is migrated and the second unmapped; through 2021-12-16 both are live; a query by
// one of those cells relates its hits through the migrated term.
TEST_P(SearchTest, ReleaseViewMigratesObsoletedTerms) {
  const std::string map = path_ + "_obsolete_map.tsv";
  {
    std::ofstream out(map);
    out << "label\tcl_id\nB\tCL:0000663\nCD14+ Mono\tCL:0008029\n";
  }
  {
    auto store = open(false);
    GeneVocab vocab = GeneVocab::load(data("vocab")).value();
    CellImportOptions o;
    o.dataset = "pbmc3k_2021";
    o.tokenizer.max_len = 256;
    o.cl_map_tsv = map;
    auto r = import_cells(*store, vocab, data("cells/pbmc3k_seurat/pbmc3k_seurat.h5ad"), o);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    CountingEmbedder embed;
    ASSERT_TRUE(build_index(*store, test_model(), embed.fn(), options("old_terms", {"pbmc3k_2021"})).is_ok());
  }
  auto store = open(true);
  auto index = CellIndex::open(*store, "old_terms").value();
  SearchOptions newer, older;
  newer.release = "2022-12-15";
  older.release = "2021-12-16";
  auto through_new = CellSearch::open(*store, *index, newer).value();
  auto through_old = CellSearch::open(*store, *index, older).value();
  int64_t valve = 0, neuron = 0, b_row = -1;
  for (int64_t r = 0; r < index->info().rows; ++r) {
    const TermId& stored = index->cells()[r].term_id;
    if (stored == "CL:0000663") {
      ++valve;
      b_row = r;
      EXPECT_EQ(through_new->viewed_term(r), "CL:1000147");
      EXPECT_EQ(through_old->viewed_term(r), "CL:0000663");
    } else if (stored == "CL:0008029") {
      ++neuron;
      EXPECT_EQ(through_new->viewed_term(r), "");
      EXPECT_EQ(through_old->viewed_term(r), "CL:0008029");
    }
  }
  EXPECT_EQ(valve, 344);   // pbmc3k's B cells
  EXPECT_EQ(neuron, 480);  // and CD14+ monocytes
  ASSERT_GE(b_row, 0);
  QueryOptions q;
  q.k = 10;
  auto hits = through_new->by_cell("pbmc3k_2021", index->cells()[b_row].cell_id, q).value();
  EXPECT_EQ(hits.query_term, "CL:1000147");
  for (const auto& h : hits.hits)
    if (h.term_id == "CL:1000147") EXPECT_EQ(h.relation, "same");
  // The filter takes the view's terms: under the replacement, only migrated valve-cell rows.
  q.filters.under = {"CL:1000147"};
  auto under = through_new->by_cell("pbmc3k_2021", index->cells()[b_row].cell_id, q).value();
  ASSERT_EQ(under.hits.size(), 10u);
  for (const auto& h : under.hits) EXPECT_EQ(index->cells()[h.row].term_id, "CL:0000663");
  // Through 2022-12-15 the obsolete id itself is not a filter term.
  q.filters.under = {"CL:0000663"};
  EXPECT_FALSE(through_new->by_cell("pbmc3k_2021", index->cells()[b_row].cell_id, q).is_ok());
}

TEST_P(SearchTest, BadInputIsRefusedClearly) {
  CountingEmbedder embed;
  {
    auto store = open(false);
    ASSERT_TRUE(build_index(*store, test_model(), embed.fn(), options("bad", {"pbmc3k"})).is_ok());
    auto dup = build_index(*store, test_model(), embed.fn(), [&] { auto o = options("bad", {"pbmc3k"}); o.replace = false; return o; }());
    ASSERT_FALSE(dup.is_ok());
    EXPECT_NE(dup.status().message().find("--replace"), std::string::npos);
    EXPECT_FALSE(build_index(*store, test_model(), embed.fn(), options("bad2", {"nope"})).is_ok());
    EXPECT_FALSE(build_index(*store, test_model(), embed.fn(), options("x/y", {"pbmc3k"})).is_ok());
    // An embedder failing midway leaves the previous index as it was.
    int calls = 0;
    CellEmbedder failing = [&](const std::vector<std::vector<int32_t>>& b) -> Result<std::vector<float>> {
      if (++calls > 1) return Status::io_error("disk gone");
      return embed.fn()(b);
    };
    auto o = options("bad", {"pbmc3k", "pbmc4k"});
    o.embed_batch = 1000;
    auto failed = build_index(*store, test_model("cccccccccccccccc"), failing, o);
    ASSERT_FALSE(failed.is_ok());
    EXPECT_EQ(index_info(*store, "bad")->rows, 2638);
  }
  auto store = open(true);
  auto missing = CellIndex::open(*store, "nope");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("bad"), std::string::npos);  // lists the indexes there are
  auto index = CellIndex::open(*store, "bad").value();
  auto search = CellSearch::open(*store, *index, {}).value();
  QueryOptions o;
  o.k = 0;
  EXPECT_FALSE(search->by_cell("pbmc3k", index->cells()[0].cell_id, o).is_ok());
  o.k = 100000;
  EXPECT_FALSE(search->by_cell("pbmc3k", index->cells()[0].cell_id, o).is_ok());
  o.k = 5;
  EXPECT_FALSE(search->by_cell("pbmc3k", "no-such-cell", o).is_ok());
  o.filters.under = {"CL:9999999"};
  auto bad_term = search->by_cell("pbmc3k", index->cells()[0].cell_id, o);
  ASSERT_FALSE(bad_term.is_ok());
  EXPECT_NE(bad_term.status().message().find("CL:9999999"), std::string::npos);
  // A truncated HNSW file is reported, not read.
  const std::string file = index_directory(*store) + "/" + index->info().file;
  fs::resize_file(file, fs::file_size(file) / 2);
  auto corrupt = CellIndex::open(*store, "bad");
  ASSERT_FALSE(corrupt.is_ok());
  EXPECT_NE(corrupt.status().message().find("rebuild"), std::string::npos);
}

TEST(HalfFloat, RoundTripsWithinHalfPrecision) {
  for (float v : {0.0f, 1.0f, -2.5f, 0.1f, 65504.0f, 1e-5f, -3.14159f}) {
    const float back = half_to_float(float_to_half(v));
    EXPECT_NEAR(back, v, std::abs(v) * 1e-3 + 1e-7) << v;
  }
  EXPECT_TRUE(std::isinf(half_to_float(float_to_half(1e6f))));
}

INSTANTIATE_TEST_SUITE_P(Backends, SearchTest, ::testing::Values(Backend::kRocksDb, Backend::kSqlite),
                         [](const auto& info) { return std::string(backend_name(info.param)); });

}  // namespace
}  // namespace sccello
