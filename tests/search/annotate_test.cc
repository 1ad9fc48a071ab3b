// Annotation on real cells: reference pbmc3k, query pbmc4k, both embedded by the projection
// embedder. Oracles: a brute-force roll-up (every vote walked up by a looped BFS over parents)
// and graph facts about the calls.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "model/annotate/annotation.h"
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

std::string data(const std::string& rel) { return std::string(SCCELLO_DATA_DIR) + "/" + rel; }

struct Reference {
  std::string path;
  std::unique_ptr<Store> store;
  std::unique_ptr<CellIndex> index;
  std::unique_ptr<CellSearch> search;
  std::vector<float> query;            // pbmc4k embeddings
  std::vector<std::string> query_terms;  // pbmc4k cell_type_ontology_term_id
};

Reference& reference() {
  static Reference r = [] {
    Reference r;
    r.path = (fs::temp_directory_path() / ("sccello_annotate_" + std::to_string(::getpid()))).string();
    fs::remove_all(r.path);
    StoreOptions so;
    so.path = r.path;
    {
      auto store = Store::open(so).value();
      auto rel = read_ontology_file(data("ontology/cl-basic-2022-12-15.obo"), {}).value();
      ReleaseStore(*store).put(std::move(rel), {}).value();
      GeneVocab vocab = GeneVocab::load(data("vocab")).value();
      for (auto [file, name] : {std::pair{"cells/pbmc3k_seurat/pbmc3k_seurat.h5ad", "pbmc3k"},
                                std::pair{"cells/pbmc4k_soupx/pbmc4k_soupx.h5ad", "pbmc4k"}}) {
        CellImportOptions o;
        o.dataset = name;
        o.tokenizer.max_len = 256;
        import_cells(*store, vocab, data(file), o).value();
      }
      testing::ProjectionEmbedder embed;
      ModelIdentity m;
      m.id = "feedfacefeedface";
      m.release = "2022-12-15";
      m.dims = embed.dims;
      IndexBuildOptions o;
      o.name = "ref";
      o.datasets = {"pbmc3k"};
      build_index(*store, m, embed.fn(), o).value();
      Corpus(*store).for_each("pbmc4k", [&](int64_t, const CellRecord& c) {
        std::vector<float> v = embed.embed_one(c.tokens);
        r.query.insert(r.query.end(), v.begin(), v.end());
        r.query_terms.push_back(c.term_id);
        return true;
      });
    }
    so.read_only = true;
    r.store = Store::open(so).value();
    r.index = CellIndex::open(*r.store, "ref").value();
    r.search = CellSearch::open(*r.store, *r.index, {}).value();
    return r;
  }();
  return r;
}

// Oracle: support of term a = votes of cells whose term reaches a by walking parents.
std::map<TermIndex, double> brute_force_support(const OntologyGraph& g, const std::vector<TermIndex>& votes,
                                                const std::vector<double>& weights) {
  std::map<TermIndex, double> support;
  double total = 0;
  for (size_t i = 0; i < votes.size(); ++i) {
    total += weights[i];
    std::set<TermIndex> seen{votes[i]};
    std::vector<TermIndex> stack{votes[i]};
    while (!stack.empty()) {
      TermIndex t = stack.back();
      stack.pop_back();
      for (TermIndex p : g.parents(t))
        if (seen.insert(p).second) stack.push_back(p);
    }
    for (TermIndex a : seen) support[a] += weights[i];
  }
  for (auto& [t, s] : support) s /= total;
  return support;
}

TEST(Annotate, RolledUpVoteMatchesBruteForce) {
  const OntologyGraph& g = reference().search->graph();
  auto idx = [&](const char* id) { return *g.index_of(id); };
  // Naive CD4 x3, memory CD4 x2, CD8 x1, B x1, with unequal weights.
  std::vector<TermIndex> votes = {idx("CL:0000895"), idx("CL:0000895"), idx("CL:0000895"), idx("CL:0000897"),
                                  idx("CL:0000897"), idx("CL:0000625"), idx("CL:0000236")};
  std::vector<double> weights = {0.9, 0.8, 0.8, 0.7, 0.95, 0.6, 0.3};
  std::vector<double> fast = rolled_up_support(g, votes, weights);
  auto oracle = brute_force_support(g, votes, weights);
  for (TermIndex t = 0; t < static_cast<TermIndex>(fast.size()); ++t) {
    const double expected = oracle.count(t) ? oracle[t] : 0.0;
    EXPECT_NEAR(fast[t], expected, 1e-12) << g.id_of(t);
  }
  // Naive and memory CD4 together pass 0.5 but neither alone does: the call is their CD4 parent.
  const TermIndex call = most_specific_supported(g, fast, 0.5);
  EXPECT_EQ(g.id_of(call), "CL:0000624");  // CD4-positive, alpha-beta T cell
  EXPECT_GT(fast[idx("CL:0000624")], 0.5);
  EXPECT_LT(fast[idx("CL:0000895")], 0.5);
  // With a low bar the most specific supported term is a leaf.
  EXPECT_EQ(g.id_of(most_specific_supported(g, fast, 0.3)), "CL:0000895");
}

TEST(Annotate, Pbmc4kAgainstPbmc3kIsHierarchicallyConsistent) {
  Reference& r = reference();
  const OntologyGraph& g = r.search->graph();
  AnnotateOptions o;
  o.k = 30;
  auto calls = annotate_cells(*r.search, r.query, {}, o);
  ASSERT_TRUE(calls.is_ok()) << calls.status().message();
  ASSERT_EQ(calls->size(), r.query_terms.size());
  int64_t labelled = 0, hier = 0, flat_hier = 0, consistent = 0, flat_consistent = 0;
  double depth = 0, flat_depth = 0;
  for (size_t i = 0; i < calls->size(); ++i) {
    const auto truth = r.query_terms[i].empty() ? std::nullopt : g.index_of(r.query_terms[i]);
    if (!truth) continue;
    ++labelled;
    const TermIndex call = *g.index_of((*calls)[i].term_id), fine = *g.index_of((*calls)[i].fine_term_id);
    hier += g.is_ancestor(call, *truth);
    flat_hier += g.is_ancestor(fine, *truth);
    consistent += g.is_ancestor(call, *truth) || g.is_ancestor(*truth, call);
    flat_consistent += g.is_ancestor(fine, *truth) || g.is_ancestor(*truth, fine);
    depth += g.depth(call);
    flat_depth += g.depth(fine);
    EXPECT_GE((*calls)[i].score, 0.5 - 1e-9);
  }
  ASSERT_GT(labelled, 2000);
  const double h = double(hier) / labelled, fh = double(flat_hier) / labelled;
  const double c = double(consistent) / labelled, fc = double(flat_consistent) / labelled;
  std::printf("pbmc4k vs pbmc3k (projection embedder): hierarchical acc %.3f (flat kNN %.3f), consistent %.3f "
              "(flat %.3f), mean depth %.2f (flat %.2f)\n",
              h, fh, c, fc, depth / labelled, flat_depth / labelled);
  EXPECT_GE(c, fc - 1e-9);   // backing off never makes a call inconsistent
  EXPECT_GE(h, fh);          // and is right (the truth or above it) at least as often
  EXPECT_GT(c, 0.4);  // measured 0.454 with this model-free embedder (0.433 for the flat vote)
}

TEST(Annotate, HeldOutNaturalKillerCellsAreNamedThroughTheGraph) {
  Reference& r = reference();
  const OntologyGraph& g = r.search->graph();
  AnnotateOptions o;
  o.k = 30;
  o.filters.not_under = {"CL:0000623"};  // the reference without its NK cells
  o.novel_threshold = 1.01;              // score every cell; the flag rule is measured separately
  std::vector<float> nk;
  for (size_t i = 0; i < r.query_terms.size(); ++i)
    if (r.query_terms[i] == "CL:0000623")
      nk.insert(nk.end(), r.query.begin() + i * 48, r.query.begin() + (i + 1) * 48);
  ASSERT_GT(nk.size(), 0u);
  auto calls = annotate_cells(*r.search, nk, {}, o);
  ASSERT_TRUE(calls.is_ok()) << calls.status().message();
  int64_t named = 0, near = 0;
  const TermIndex truth = *g.index_of("CL:0000623");
  for (const auto& a : *calls) {
    EXPECT_NE(a.fine_term_id, "CL:0000623");  // the reference has none
    if (a.novel_term_id.empty()) continue;
    ++named;
    const TermIndex t = *g.index_of(a.novel_term_id);
    const int d = g.path_distance(t, truth);
    near += d >= 0 && d <= 2;
  }
  std::printf("held-out NK: %lld of %zu cells get a novel candidate; within graph distance 2 of NK: %lld\n",
              (long long)named, calls->size(), (long long)near);
  EXPECT_EQ(named, static_cast<int64_t>(calls->size()));
}

}  // namespace
}  // namespace sccello
