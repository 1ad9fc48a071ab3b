// OntologyGraph on the real CL 2022-12-15 release: counts, known facts, closure/depth/LCA
// against brute-force oracles, cycles.
#include "graph/ontology_graph.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <set>

#include "tests/bundled_releases.h"

namespace sccello {
namespace {


const OntologyRelease& release_2022() { return bundled_release("cl-basic-2022-12-15.obo"); }

const OntologyGraph& graph_2022() {
  return bundled_graph("cl-basic-2022-12-15.obo");
}

TermIndex ix(const OntologyGraph& g, const std::string& id) {
  auto t = g.index_of(id);
  EXPECT_TRUE(t.has_value()) << id;
  return t.value_or(0);
}

// Upward DFS over parents(): the obvious ancestor set.
std::set<TermIndex> brute_ancestors(const OntologyGraph& g, TermIndex t) {
  std::set<TermIndex> seen;
  std::vector<TermIndex> stack{t};
  while (!stack.empty()) {
    TermIndex v = stack.back();
    stack.pop_back();
    for (TermIndex p : g.parents(v)) {
      if (seen.insert(p).second) stack.push_back(p);
    }
  }
  return seen;
}

TEST(OntologyGraph, CountsMatchTheFile) {
  // Live CL terms and is_a edges among them, counted with a separate script over the .obo.
  const OntologyGraph& g = graph_2022();
  EXPECT_EQ(g.num_terms(), 2644u);
  EXPECT_EQ(g.num_edges(), 3705u);
  // "cell" plus the nine cell-part terms CL:0017500..CL:0017509 (moved in from CP:), no parents.
  auto roots = g.roots();
  ASSERT_EQ(roots.size(), 10u);
  EXPECT_EQ(g.id_of(roots[0]), "CL:0000000");
  for (size_t i = 1; i < roots.size(); ++i) EXPECT_EQ(g.id_of(roots[i]).substr(0, 8), "CL:00175");
  EXPECT_EQ(g.release_name(), "2022-12-15");
}

TEST(OntologyGraph, BCellIsALymphocyte) {
  const OntologyGraph& g = graph_2022();
  TermIndex b = ix(g, "CL:0000236"), lymph = ix(g, "CL:0000542");
  EXPECT_TRUE(g.is_ancestor(lymph, b));
  EXPECT_FALSE(g.is_ancestor(b, lymph));
  EXPECT_TRUE(g.is_ancestor(b, b));
  std::vector<std::string> ids;
  for (TermIndex a : g.ancestors(b)) ids.push_back(g.id_of(a));
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"CL:0000000", "CL:0000003", "CL:0000219", "CL:0000226", "CL:0000255",
                                           "CL:0000542", "CL:0000548", "CL:0000738", "CL:0000842", "CL:0000945",
                                           "CL:0000988", "CL:0002242", "CL:0002371"}));
  EXPECT_EQ(g.term(b).name, "B cell");
}

TEST(OntologyGraph, LcaOfCd4AndCd8AlphaBetaTCells) {
  const OntologyGraph& g = graph_2022();
  auto lca = g.lca({ix(g, "CL:0000624"), ix(g, "CL:0000625")});
  ASSERT_EQ(lca.size(), 1u);
  EXPECT_EQ(g.id_of(lca[0]), "CL:0000791");  // mature alpha-beta T cell
  // A term with its own ancestor: the ancestor itself.
  auto self = g.lca({ix(g, "CL:0000236"), ix(g, "CL:0000542")});
  ASSERT_EQ(self.size(), 1u);
  EXPECT_EQ(g.id_of(self[0]), "CL:0000542");
}

TEST(OntologyGraph, ClosureMatchesBruteForceForEveryTerm) {
  const OntologyGraph& g = graph_2022();
  for (TermIndex t = 0; t < g.num_terms(); ++t) {
    std::set<TermIndex> oracle = brute_ancestors(g, t);
    auto anc = g.ancestors(t);
    ASSERT_EQ(std::set<TermIndex>(anc.begin(), anc.end()), oracle) << g.id_of(t);
    ASSERT_TRUE(std::is_sorted(anc.begin(), anc.end()));
    auto with_self = g.ancestors(t, true);
    ASSERT_EQ(with_self.size(), anc.size() + 1);
    ASSERT_TRUE(std::binary_search(with_self.begin(), with_self.end(), t));
    for (TermIndex a : anc) ASSERT_TRUE(g.is_ancestor(a, t));
  }
}

TEST(OntologyGraph, IsAncestorMatchesBruteForceOnAllPairsSample) {
  const OntologyGraph& g = graph_2022();
  size_t n = g.num_terms(), checked = 0;
  for (TermIndex t = 0; t < n; t += 7) {
    std::set<TermIndex> oracle = brute_ancestors(g, t);
    for (TermIndex a = 0; a < n; ++a, ++checked) {
      ASSERT_EQ(g.is_ancestor(a, t), a == t || oracle.count(a) > 0);
    }
  }
  EXPECT_GT(checked, 900000u);
}

TEST(OntologyGraph, DescendantsInvertAncestors) {
  const OntologyGraph& g = graph_2022();
  std::vector<std::set<TermIndex>> desc(g.num_terms());
  for (TermIndex t = 0; t < g.num_terms(); ++t) {
    for (TermIndex a : g.ancestors(t)) desc[a].insert(t);
  }
  for (TermIndex t = 0; t < g.num_terms(); ++t) {
    auto d = g.descendants(t);
    ASSERT_TRUE(std::is_sorted(d.begin(), d.end()));
    ASSERT_EQ(std::set<TermIndex>(d.begin(), d.end()), desc[t]);
  }
  EXPECT_EQ(g.descendants(*g.index_of("CL:0000000"), true).size(), g.num_terms() - 9);
}

TEST(OntologyGraph, DepthIsLongestPathToARoot) {
  const OntologyGraph& g = graph_2022();
  std::vector<int> memo(g.num_terms(), -1);
  std::function<int(TermIndex)> longest = [&](TermIndex t) {
    if (memo[t] >= 0) return memo[t];
    int d = 0;
    for (TermIndex p : g.parents(t)) d = std::max(d, longest(p) + 1);
    return memo[t] = d;
  };
  for (TermIndex t = 0; t < g.num_terms(); ++t) ASSERT_EQ(g.depth(t), longest(t)) << g.id_of(t);
  EXPECT_EQ(g.depth(ix(g, "CL:0000000")), 0);
}

TEST(OntologyGraph, LcaMatchesBruteForceOnPairs) {
  const OntologyGraph& g = graph_2022();
  for (TermIndex a = 0; a < g.num_terms(); a += 37) {
    for (TermIndex b = 5; b < g.num_terms(); b += 41) {
      auto sa = brute_ancestors(g, a), sb = brute_ancestors(g, b);
      sa.insert(a); sb.insert(b);
      std::set<TermIndex> common;
      for (TermIndex x : sa) if (sb.count(x)) common.insert(x);
      std::vector<TermIndex> minimal;
      for (TermIndex c : common) {
        bool below = false;
        for (TermIndex d : common) if (d != c && brute_ancestors(g, d).count(c)) below = true;
        if (!below) minimal.push_back(c);
      }
      ASSERT_EQ(g.lca({a, b}), minimal);
    }
  }
}

TEST(OntologyGraph, PathDistanceMatchesUndirectedBfs) {
  const OntologyGraph& g = graph_2022();
  TermIndex b = ix(g, "CL:0000236");
  EXPECT_EQ(g.path_distance(b, b), 0);
  EXPECT_EQ(g.path_distance(b, ix(g, "CL:0000945")), 1);
  EXPECT_EQ(g.path_distance(ix(g, "CL:0000624"), ix(g, "CL:0000625")), 2);  // via CL:0000791
  EXPECT_EQ(g.path_distance(ix(g, "CL:0000625"), ix(g, "CL:0000624")), 2);
}

OntologyRelease tiny(const std::vector<Edge>& edges) {
  OntologyRelease r;
  r.info.name = "tiny";
  for (const char* id : {"CL:1", "CL:2", "CL:3", "CL:4"}) r.terms.push_back({id, std::string("t") + id});
  r.edges = edges;
  return r;
}

TEST(OntologyGraph, IsACycleIsAnErrorNamingItsTerms) {
  auto g = OntologyGraph::build(tiny({{"CL:2", "is_a", "CL:1"}, {"CL:3", "is_a", "CL:2"},
                                     {"CL:4", "is_a", "CL:3"}, {"CL:2", "is_a", "CL:4"}}));
  ASSERT_FALSE(g.is_ok());
  const std::string& msg = g.status().message();
  EXPECT_NE(msg.find("cycle"), std::string::npos) << msg;
  for (const char* id : {"CL:2", "CL:3", "CL:4"}) EXPECT_NE(msg.find(id), std::string::npos) << msg;
  EXPECT_EQ(msg.find("CL:1 "), std::string::npos) << msg;
  auto self_loop = OntologyGraph::build(tiny({{"CL:3", "is_a", "CL:3"}}));
  EXPECT_FALSE(self_loop.is_ok());
}

TEST(OntologyGraph, RelationsAndPrefixFilterEdges) {
  EXPECT_EQ(parse_relations("is_a"), (std::vector<std::string>{"is_a"}));
  EXPECT_EQ(parse_relations("is_a+part_of"), (std::vector<std::string>{"is_a", "part_of"}));
  EXPECT_EQ(parse_relations("is_a, part_of,develops_from"),
            (std::vector<std::string>{"is_a", "part_of", "develops_from"}));
  EXPECT_EQ(parse_relations(""), (std::vector<std::string>{"is_a"}));
  OntologyRelease r = tiny({{"CL:2", "is_a", "CL:1"}, {"CL:3", "part_of", "CL:2"}, {"CL:4", "is_a", "GO:1"}});
  auto isa = OntologyGraph::build(r).value();
  EXPECT_EQ(isa.num_edges(), 1u);
  GraphOptions both;
  both.relations = parse_relations("is_a+part_of");
  auto g = OntologyGraph::build(r, both).value();
  EXPECT_EQ(g.num_edges(), 2u);
  EXPECT_TRUE(g.is_ancestor(*g.index_of("CL:1"), *g.index_of("CL:3")));
  EXPECT_EQ(g.roots().size(), 2u);  // CL:1 and CL:4 (its GO: parent is filtered out)
  EXPECT_EQ(g.path_distance(*g.index_of("CL:1"), *g.index_of("CL:4")), -1);
}

TEST(OntologyGraph, DevelopsFromGraphOfTheRealRelease) {
  GraphOptions options;
  options.relations = parse_relations("is_a+develops_from");
  auto g = OntologyGraph::build(release_2022(), options);
  ASSERT_TRUE(g.is_ok()) << g.status().message();
  EXPECT_GT(g->num_edges(), 3705u);
}

}  // namespace
}  // namespace sccello
