// Target providers on the real CL 2022-12-15 release: registry and spec errors, every built-in
// provider against a brute-force oracle over OntologyGraph, ancestor masks against the closure,
// negatives, the external plugin loader, and the store cache on both backends.
#include <cmath>
#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "graph/ppr.h"
#include "plugins/row_provider.h"
#include "plugins/target_registry.h"
#include "store/release_store.h"
#include "store/store.h"
#include "store/target_cache.h"
#include "tests/bundled_releases.h"

namespace sccello {
namespace {

const OntologyRelease& cl_release() { return bundled_release("cl-basic-2022-12-15.obo"); }
const OntologyGraph& cl_graph() { return bundled_graph("cl-basic-2022-12-15.obo"); }

// Every 11th term with an is_a edge, B cell and friends, and CL:0017500 (live, no is_a edge).
std::vector<TermId> sample_labels() {
  std::vector<TermId> out = {"CL:0000236", "CL:0000945", "CL:0000084", "CL:0000000", "CL:0017500"};
  const OntologyGraph& g = cl_graph();
  int k = 0;
  for (TermIndex t = 0; t < g.num_terms(); ++t) {
    if (g.parents(t).empty() && g.children(t).empty()) continue;
    if (k++ % 11 == 0 && std::find(out.begin(), out.end(), g.id_of(t)) == out.end()) out.push_back(g.id_of(t));
  }
  return out;
}

std::unique_ptr<TargetProvider> make(const std::string& spec, std::vector<TermId> labels = sample_labels()) {
  TargetContext ctx;
  ctx.release_data = &cl_release();
  ctx.label_space = std::move(labels);
  ctx.threads = 2;
  auto p = make_target_provider(spec, ctx);
  EXPECT_TRUE(p.is_ok()) << spec << ": " << p.status().message();
  return p.is_ok() ? std::move(*p) : nullptr;
}

std::vector<LabelIndex> all_labels(const TargetProvider& p) {
  std::vector<LabelIndex> l(p.label_space().size());
  for (size_t i = 0; i < l.size(); ++i) l[i] = static_cast<LabelIndex>(i);
  return l;
}

std::string error_of(const std::string& spec, std::vector<TermId> labels = {"CL:0000236"}) {
  TargetContext ctx;
  ctx.release_data = &cl_release();
  ctx.label_space = std::move(labels);
  auto p = make_target_provider(spec, ctx);
  if (p.is_ok()) {
    Status s = (*p)->precompute();
    return s.is_ok() ? "" : s.message();
  }
  return p.status().message();
}

TEST(plugins_TargetRegistry, ListsBuiltinsWithParameters) {
  std::set<std::string> names;
  for (const auto& info : list_target_providers()) names.insert(info.name);
  for (const char* n : {"ppr", "shortest_path", "ic", "lca_depth", "none"}) EXPECT_TRUE(names.count(n)) << n;
  auto spec = TargetRegistry::global().parse("ppr:alpha=0.90,mode=exact,directed=true");
  ASSERT_TRUE(spec.is_ok());
  EXPECT_EQ(spec->describe("1"), "ppr/1:alpha=0.9,threshold=1e-04,mode=exact,edges=is_a,directed=1,max_iter=100,tol=1e-06");
}

TEST(plugins_TargetRegistry, BadInputGivesClearErrors) {
  EXPECT_NE(error_of("pagerank").find("unknown target provider 'pagerank'; valid: ppr, shortest_path, ic, lca_depth, none"), std::string::npos);
  EXPECT_NE(error_of("ppr:beta=2").find("unknown parameter 'beta' of provider ppr; valid: alpha, threshold, mode, edges, directed, max_iter, tol"), std::string::npos);
  EXPECT_NE(error_of("ppr:alpha=1.5").find("alpha must lie in (0,1)"), std::string::npos);
  EXPECT_NE(error_of("ppr:alpha=0").find("alpha must lie in (0,1)"), std::string::npos);
  EXPECT_NE(error_of("ppr:mode=power").find("use networkx or exact"), std::string::npos);
  std::string absent = error_of("ppr", {"CL:0000236", "CL:9999999"});
  EXPECT_NE(absent.find("CL:9999999 is not in release '2022-12-15'"), std::string::npos) << absent;
  EXPECT_NE(absent.find("sccello ontology migrate"), std::string::npos);
  std::string obsolete = error_of("ppr", {"CL:0000002"});
  EXPECT_NE(obsolete.find("CL:0000002 is obsolete in release '2022-12-15' (replaced_by CLO:0000019)"), std::string::npos) << obsolete;
  EXPECT_NE(error_of("ppr:max_iter=1").find("did not converge in 1 iterations"), std::string::npos);
}

TEST(plugins_Targets, PprMatchesNetworkxGoldenValuesAndLevels) {
  auto p = make("ppr");
  LabelIndex b = p->label_of("CL:0000236"), lin = p->label_of("CL:0000945");
  auto row = p->raw_row_f64(b);
  ASSERT_TRUE(row.is_ok());
  EXPECT_NEAR((*row)[b], 0.2834193310922807, 1e-15);  // python3-networkx 2.8.8
  EXPECT_NEAR((*row)[lin], 0.05764573943474589, 1e-15);
  auto lv = p->levels({b, lin});
  EXPECT_EQ((*lv)[0], 11);
  EXPECT_EQ((*lv)[1], ppr_level(0.05764573943474589, 1e-4));
  EXPECT_EQ((*lv)[1], 9);
}

// Properties every provider must have, checked over the whole sample label space.
void check_common(const TargetProvider& p) {
  const auto labels = all_labels(p);
  const size_t n = labels.size();
  auto lv = p.levels(labels);
  auto mask = p.ancestor_mask(labels);
  ASSERT_TRUE(lv.is_ok()) << lv.status().message();
  ASSERT_TRUE(mask.is_ok());
  const OntologyGraph& g = cl_graph();
  const LabelIndex missing = p.label_of("CL:0017500");
  for (size_t i = 0; i < n; ++i) {
    const TermIndex ti = *g.index_of(p.label_space()[i]);
    for (size_t j = 0; j < n; ++j) {
      const TermIndex tj = *g.index_of(p.label_space()[j]);
      EXPECT_GE((*lv)[i * n + j], 1);
      const bool anc = i == j || g.is_ancestor(tj, ti);
      ASSERT_EQ((*mask)[i * n + j], anc ? 1 : 0) << p.describe() << " " << i << "," << j;
      if (static_cast<LabelIndex>(i) == missing || static_cast<LabelIndex>(j) == missing) {
        ASSERT_EQ((*lv)[i * n + j], 1) << "a term without edges has level 1 with everyone";
      }
    }
  }
  // Negatives: level below and not ancestor-or-self, from the matrices above.
  for (LabelIndex a : {0, 1, 2}) {
    for (int32_t level : {2, 5, 9}) {
      auto neg = p.negatives(a, level);
      ASSERT_TRUE(neg.is_ok());
      std::vector<LabelIndex> want;
      for (size_t j = 0; j < n; ++j) {
        if ((*lv)[a * n + j] < level && !(*mask)[a * n + j]) want.push_back(static_cast<LabelIndex>(j));
      }
      EXPECT_EQ(*neg, want);
    }
  }
  // batch_targets on a subset equals the submatrix.
  std::vector<LabelIndex> sub = {3, 0, 7, 7, 1};
  std::vector<int32_t> blv(25);
  std::vector<uint8_t> bmask(25);
  ASSERT_TRUE(p.batch_targets(sub, blv.data(), bmask.data()).is_ok());
  for (size_t i = 0; i < 5; ++i) {
    for (size_t j = 0; j < 5; ++j) {
      EXPECT_EQ(blv[i * 5 + j], (*lv)[sub[i] * n + sub[j]]);
      EXPECT_EQ(bmask[i * 5 + j], (*mask)[sub[i] * n + sub[j]]);
    }
  }
}

TEST(plugins_Targets, EveryProviderHasIntegerLevelsAndTheClosureMask) {
  for (const char* spec : {"ppr", "ppr:mode=exact,alpha=0.8", "ppr:directed=1", "ppr:edges=is_a+part_of",
                           "shortest_path", "ic", "ic:measure=lin,levels=5", "lca_depth", "none"}) {
    SCOPED_TRACE(spec);
    auto p = make(spec);
    ASSERT_TRUE(p);
    check_common(*p);
  }
}

TEST(plugins_Targets, ShortestPathEqualsGraphDistance) {
  auto p = make("shortest_path:max_level=6");
  const OntologyGraph& g = cl_graph();
  const size_t n = p->label_space().size();
  auto lv = p->levels(all_labels(*p));
  for (LabelIndex i : {0, 2, 9, 40}) {
    auto raw = p->raw_row_f64(i);
    for (size_t j = 0; j < n; ++j) {
      int d = g.path_distance(*g.index_of(p->label_space()[i]), *g.index_of(p->label_space()[j]));
      if (p->label_space()[i] == "CL:0017500" || p->label_space()[j] == "CL:0017500") continue;
      EXPECT_DOUBLE_EQ((*raw)[j], d < 0 ? 0.0 : 1.0 / (1 + d));
      EXPECT_EQ((*lv)[i * n + j], d < 0 ? 1 : std::max(1, 6 - d));
    }
  }
}

// Brute force over ancestor sets: the best common ancestor by a score.
double best_common(const OntologyGraph& g, TermIndex a, TermIndex b, const std::function<double(TermIndex)>& score) {
  auto aa = g.ancestors(a, true), bb = g.ancestors(b, true);
  double best = -1;
  for (TermIndex c : aa) {
    if (std::find(bb.begin(), bb.end(), c) != bb.end()) best = std::max(best, score(c));
  }
  return best;
}

TEST(plugins_Targets, LcaDepthAndResnikEqualBruteForce) {
  auto lca = make("lca_depth");
  auto ic = make("ic:measure=lin");
  const OntologyGraph& g = cl_graph();
  const double log_n = std::log(2635.0);
  auto ic_of = [&](TermIndex c) { return 1.0 - std::log(g.descendants(c).size() + 1.0) / log_n; };
  const size_t n = lca->label_space().size();
  for (LabelIndex i : {0, 1, 3, 30}) {
    auto raw_depth = lca->raw_row_f64(i);
    auto raw_lin = ic->raw_row_f64(i);
    const TermIndex a = *g.index_of(lca->label_space()[i]);
    for (size_t j = 0; j < n; ++j) {
      const TermIndex b = *g.index_of(lca->label_space()[j]);
      if (lca->label_space()[j] == "CL:0017500") continue;
      EXPECT_EQ((*raw_depth)[j], best_common(g, a, b, [&](TermIndex c) { return double(g.depth(c)); }));
      // The deepest common ancestor is one of OntologyGraph::lca's most specific ones.
      int deepest = -1;
      for (TermIndex c : g.lca({a, b})) deepest = std::max(deepest, g.depth(c));
      EXPECT_EQ((*raw_depth)[j], deepest);
      double mica = best_common(g, a, b, ic_of);
      const double denom = ic_of(a) + ic_of(b);
      double want = mica < 0 ? 0.0 : denom > 0 ? 2 * mica / denom : (a == b ? 1.0 : 0.0);
      EXPECT_NEAR((*raw_lin)[j], want, 1e-12);
    }
  }
}

TEST(plugins_Targets, NoneIsOneLevelForAllPairs) {
  auto p = make("none");
  auto lv = p->levels(all_labels(*p));
  for (int32_t v : *lv) ASSERT_EQ(v, 1);
  EXPECT_TRUE(p->negatives(0, 2)->size() > 0);
}

TEST(plugins_Targets, DefaultLabelSpaceIsTheGraphNodes) {
  auto p = make("ppr", {});
  EXPECT_EQ(p->label_space().size(), 2635u);
  EXPECT_EQ(p->label_of("CL:0017500"), -1);
}

// raw_matrix: the direct path (every label a node, no cache: one kernel batch written in place)
// equals the rows one by one, bit for bit; label spaces it cannot serve (a term without edges,
// here) fall back to rows and still agree with raw_row_f64.
TEST(plugins_Targets, RawMatrixInPlaceEqualsRowByRow) {
  for (const std::string& spec : {std::string("ppr"), std::string("shortest_path")}) {
    for (auto labels : {std::vector<TermId>{}, sample_labels()}) {
      auto direct = make(spec, labels), rows = make(spec, labels);
      const size_t n = direct->label_space().size();
      std::vector<double> matrix(n * n, 0.0);
      ASSERT_TRUE(direct->raw_matrix(matrix.data()).is_ok());
      for (size_t i = 0; i < n; i += 37) {
        auto row = rows->raw_row_f64(static_cast<LabelIndex>(i));
        ASSERT_TRUE(row.is_ok());
        for (size_t j = 0; j < n; ++j) ASSERT_EQ(matrix[i * n + j], (*row)[j]) << spec << " " << i << "," << j;
      }
      const auto* counted = dynamic_cast<const RowTargetProvider*>(direct.get());
      if (labels.empty()) EXPECT_EQ(counted->stats().rows_ms, 0.0) << spec << ": no level rows were made in place";
      else EXPECT_GT(counted->stats().rows_ms, 0.0) << spec << ": a term without edges takes the row path";
    }
  }
}

TEST(plugins_TargetPlugin, LoadsAndServesAnExternalProvider) {
  auto info = load_target_plugin(SCCELLO_TEST_PLUGIN);
  ASSERT_TRUE(info.is_ok()) << info.status().message();
  EXPECT_EQ(info->name, "neighbours");
  EXPECT_TRUE(load_target_plugin(SCCELLO_TEST_PLUGIN).is_ok());  // idempotent
  auto p = make("neighbours:weight=0.25");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->describe(), "neighbours/2:weight=0.25,edges=is_a");
  const OntologyGraph& g = cl_graph();
  const LabelIndex b = p->label_of("CL:0000236");
  auto raw = p->raw_row_f64(b);
  auto parents = g.parents(*g.index_of("CL:0000236"));
  for (TermIndex c : g.children(*g.index_of("CL:0000236"))) parents.push_back(c);
  for (size_t j = 0; j < p->label_space().size(); ++j) {
    const TermIndex t = *g.index_of(p->label_space()[j]);
    const bool parent = std::find(parents.begin(), parents.end(), t) != parents.end();
    EXPECT_EQ((*raw)[j], static_cast<LabelIndex>(j) == b ? 1.0 : parent ? 0.25 : 0.0);
  }
  check_common(*p);
  EXPECT_NE(error_of("neighbours:weight=2").find("weight must lie in (0,1)"), std::string::npos);
}

TEST(plugins_TargetPlugin, RefusesAnotherApiVersion) {
  auto info = load_target_plugin(SCCELLO_TEST_PLUGIN_V999);
  ASSERT_FALSE(info.is_ok());
  EXPECT_NE(info.status().message().find("speaks API version 999"), std::string::npos) << info.status().message();
  EXPECT_NE(info.status().message().find("this sccello speaks version 1"), std::string::npos);
  EXPECT_FALSE(load_target_plugin("/nonexistent/plugin.so").is_ok());
}

// A label repeated hundreds of times in one batch (the trainer samples with replacement) gets
// the same levels as in a 2 x 2 matrix.
TEST(plugins_Targets, RepeatedLabelsInOneBatch) {
  auto p = make("ppr");
  const LabelIndex b = p->label_of("CL:0000236"), t = p->label_of("CL:0000084");
  const std::vector<int32_t> two = *p->levels({b, t});
  std::vector<LabelIndex> many(300, b);
  many.push_back(t);
  const size_t n = many.size();
  std::vector<int32_t> lv = *make("ppr")->levels(many);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      ASSERT_EQ(lv[i * n + j], two[(many[i] == t) * 2 + (many[j] == t)]) << i << "," << j;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Cache on both backends.

class TargetCacheTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sccello_target_cache_" + std::to_string(::getpid()) + "_" + backend_name(GetParam()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / (GetParam() == Backend::kSqlite ? "store.sqlite" : "store")).string();
    auto store = open(false);
    ReleaseStore releases(*store);
    OntologyRelease rel = cl_release();
    ASSERT_TRUE(releases.put(rel, {}).is_ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Store> open(bool read_only) {
    StoreOptions o;
    o.path = path_;
    o.backend = GetParam();
    o.read_only = read_only;
    auto s = Store::open(o);
    EXPECT_TRUE(s.is_ok()) << s.status().message();
    return std::move(*s);
  }

  std::unique_ptr<RowTargetProvider> provider(Store* store, const std::string& spec = "ppr") {
    TargetContext ctx;
    ctx.store = store;
    ctx.label_space = sample_labels();
    auto p = make_target_provider(spec, ctx);
    EXPECT_TRUE(p.is_ok()) << p.status().message();
    return std::unique_ptr<RowTargetProvider>(static_cast<RowTargetProvider*>(p->release()));
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_P(TargetCacheTest, RowsAreReusedByAnotherProviderAndStaleEntriesRecomputed) {
  const int64_t nodes = static_cast<int64_t>(sample_labels().size()) - 1;  // CL:0017500 has no row
  std::vector<int32_t> first;
  {
    auto store = open(false);
    auto p = provider(store.get());
    ASSERT_TRUE(p->precompute().is_ok());
    EXPECT_EQ(p->stats().rows_computed, nodes);
    first = *p->levels(all_labels(*p));
  }
  {
    auto store = open(false);
    auto p = provider(store.get());
    ASSERT_TRUE(p->precompute().is_ok());
    EXPECT_EQ(p->stats().rows_computed, 0);
    EXPECT_EQ(p->stats().rows_loaded, nodes);
    EXPECT_EQ(*p->levels(all_labels(*p)), first);
    // Another parameter value is another slot: computed, never reused.
    auto q = provider(store.get(), "ppr:alpha=0.5");
    ASSERT_TRUE(q->precompute().is_ok());
    EXPECT_EQ(q->stats().rows_loaded, 0);
    // Plant an entry from another provider version (same slot) with garbage values.
    TargetCacheKey key{cl_release().info.content_hash, p->describe(), cl_graph().num_terms()};
    std::string old = p->describe();
    old.replace(old.find("/1:"), 3, "/0:");
    std::vector<double> garbage(cl_graph().num_terms(), 0.5);
    ASSERT_TRUE(store->kv().put(TargetCache::key_of(key, "CL:0000236"), TargetCache::encode(old, garbage.data(), garbage.size())).is_ok());
  }
  {
    auto store = open(false);
    auto p = provider(store.get());
    auto raw = p->raw_row_f64(p->label_of("CL:0000236"));
    EXPECT_NEAR((*raw)[p->label_of("CL:0000236")], 0.2834193310922807, 1e-15);
    EXPECT_EQ(p->stats().stale_entries, 1);
    EXPECT_EQ(p->stats().rows_computed, 1);
  }
  {
    auto store = open(true);  // read-only: served (from cache) without writing
    auto p = provider(store.get());
    ASSERT_TRUE(p->precompute().is_ok());
    EXPECT_EQ(p->stats().rows_loaded, nodes);  // the stale row was overwritten above
    EXPECT_EQ(*p->levels(all_labels(*p)), first);
  }
}

// Level matrices and negatives of a fresh provider come from the compact level rows alone (no
// raw row decoded) and equal those of an uncached provider (the oracle); a stale level row is
// recomputed; a cache that has raw rows but no level rows is served from the raw rows and gets
// its level rows written.
TEST_P(TargetCacheTest, LevelRowsServeFreshProvidersAndNeverStaleOnes) {
  auto oracle = make("ppr");
  const auto labels = all_labels(*oracle);
  const int64_t nodes = static_cast<int64_t>(labels.size()) - 1;  // CL:0017500 has no row
  const std::vector<int32_t> expected = *oracle->levels(labels);
  const LabelIndex b_cell = oracle->label_of("CL:0000236");
  const std::vector<LabelIndex> expected_neg = *oracle->negatives(b_cell, 3);
  ASSERT_FALSE(expected_neg.empty());
  auto store = open(false);
  ASSERT_TRUE(provider(store.get())->precompute().is_ok());
  {
    auto p = provider(store.get());
    EXPECT_EQ(*p->levels(labels), expected);
    EXPECT_EQ(*p->negatives(b_cell, 3), expected_neg);
    EXPECT_EQ(p->stats().level_rows_loaded, nodes);
    EXPECT_EQ(p->stats().rows_loaded, 0);
    EXPECT_EQ(p->stats().rows_computed, 0);
  }
  auto p = provider(store.get());
  TargetCacheKey key{cl_release().info.content_hash, p->describe(), cl_graph().num_terms()};
  std::string old = p->describe();
  old.replace(old.find("/1:"), 3, "/0:");
  std::vector<uint8_t> garbage(cl_graph().num_terms(), 9);
  ASSERT_TRUE(store->kv().put(TargetCache::level_key_of(key, "CL:0000236"),
                              TargetCache::encode_levels(old, garbage.data(), garbage.size())).is_ok());
  ASSERT_TRUE(store->kv().del(TargetCache::level_key_of(key, "CL:0000084")).is_ok());
  EXPECT_EQ(*p->levels(labels), expected);
  EXPECT_EQ(p->stats().stale_entries, 1);
  EXPECT_EQ(p->stats().level_rows_loaded, nodes - 2);
  EXPECT_EQ(p->stats().rows_loaded, 2);  // from the raw rows, level rows written back
  EXPECT_EQ(p->stats().rows_computed, 0);
  auto q = provider(store.get());
  EXPECT_EQ(*q->levels(labels), expected);
  EXPECT_EQ(q->stats().level_rows_loaded, nodes);
  EXPECT_EQ(q->stats().stale_entries, 0);
}

// Every node's level row at once: read by one prefix scan (a stale row in it recomputed), equal
// to the uncached provider's levels.
TEST_P(TargetCacheTest, WholeLabelSpaceReadsLevelRowsByScan) {
  TargetContext ctx;
  ctx.release_data = &cl_release();
  auto made = make_target_provider("ppr", ctx);
  ASSERT_TRUE(made.is_ok());
  auto oracle = std::move(*made);
  const auto labels = all_labels(*oracle);
  const std::vector<int32_t> expected = *oracle->levels(labels);
  auto store = open(false);
  ctx.release_data = nullptr;
  ctx.store = store.get();
  ASSERT_TRUE((*make_target_provider("ppr", ctx))->precompute().is_ok());
  TargetCacheKey key{cl_release().info.content_hash, oracle->describe(), cl_graph().num_terms()};
  std::vector<uint8_t> garbage(cl_graph().num_terms(), 9);
  ASSERT_TRUE(store->kv().put(TargetCache::level_key_of(key, "CL:0000236"),
                              TargetCache::encode_levels(oracle->describe(), garbage.data(), 7)).is_ok());
  made = make_target_provider("ppr", ctx);
  ASSERT_TRUE(made.is_ok());
  auto p = std::move(*made);
  EXPECT_EQ(*p->levels(labels), expected);
  auto st = static_cast<RowTargetProvider*>(p.get())->stats();
  EXPECT_EQ(st.level_rows_loaded, static_cast<int64_t>(labels.size()) - 1);
  EXPECT_EQ(st.stale_entries, 1);  // wrong row length
  EXPECT_EQ(st.rows_loaded, 1);
}

// The sparse level-row codec round-trips any row (background other than 1, entries at both
// ends, multi-byte gaps) and reports a damaged value as stale.
TEST_P(TargetCacheTest, LevelRowCodecRoundTrips) {
  auto store = open(false);
  TargetCache cache(*store);
  TargetCacheKey key{"0123", "test/1:k=v", 1000};
  std::vector<uint8_t> row(1000, 7);
  row[0] = 1;
  row[300] = 255;
  row[301] = 2;
  row[999] = 3;
  std::vector<uint8_t> two_rows(row);  // put_levels reads one row per term
  two_rows.insert(two_rows.end(), row.begin(), row.end());
  ASSERT_TRUE(cache.put_levels(key, {"CL:1", "CL:2"}, two_rows.data()).is_ok());
  std::vector<uint8_t> back;
  ASSERT_EQ(*cache.get_levels(key, "CL:1", &back), CacheLookup::kHit);
  EXPECT_EQ(back, row);
  EXPECT_EQ(*cache.get_levels(key, "CL:3", &back), CacheLookup::kMiss);
  std::string value = TargetCache::encode_levels(key.describe, row.data(), row.size());
  ASSERT_TRUE(store->kv().put(TargetCache::level_key_of(key, "CL:2"), value.substr(0, value.size() - 1)).is_ok());
  EXPECT_EQ(*cache.get_levels(key, "CL:2", &back), CacheLookup::kStale);
  TargetCacheKey other = key;
  other.describe = "test/2:k=v";
  EXPECT_EQ(*cache.get_levels(other, "CL:1", &back), CacheLookup::kStale);
  int hits = 0, stale = 0;
  ASSERT_TRUE(cache.scan_levels(key, [](std::string_view) { return true; },
                                [&](std::string_view term, CacheLookup found, std::vector<uint8_t>* r) {
                                  if (found == CacheLookup::kHit) {
                                    ++hits;
                                    EXPECT_EQ(term, "CL:1");
                                    EXPECT_EQ(*r, row);
                                  } else {
                                    ++stale;
                                  }
                                }).is_ok());
  EXPECT_EQ(hits, 1);
  EXPECT_EQ(stale, 1);
}

TEST_P(TargetCacheTest, AnotherReleaseNeverReusesRows) {
  auto store = open(false);
  auto rel = read_ontology_file(std::string(SCCELLO_DATA_DIR) + "/ontology/cl-basic-2021-12-16.obo", {});
  ASSERT_TRUE(rel.is_ok());
  ASSERT_TRUE(ReleaseStore(*store).put(*rel, {}).is_ok());
  TargetContext ctx;
  ctx.store = store.get();
  ctx.release = "2022-12-15";
  ctx.label_space = {"CL:0000236", "CL:0000084"};
  ASSERT_TRUE((*make_target_provider("ppr", ctx))->precompute().is_ok());
  ctx.release = "2021-12-16";
  auto older = make_target_provider("ppr", ctx);
  ASSERT_TRUE(older.is_ok());
  auto* p = static_cast<RowTargetProvider*>(older->get());
  ASSERT_TRUE(p->precompute().is_ok());
  EXPECT_EQ(p->stats().rows_loaded, 0);
  EXPECT_EQ(p->stats().rows_computed, 2);
}

INSTANTIATE_TEST_SUITE_P(plugins, TargetCacheTest, ::testing::Values(Backend::kRocksDb, Backend::kSqlite),
                         [](const auto& info) { return backend_name(info.param); });

}  // namespace
}  // namespace sccello
