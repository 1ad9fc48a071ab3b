// PPR on the real CL 2022-12-15 release: networkx parity (golden values from Debian's
// python3-networkx 2.8.8 and a looped dense oracle of networkx's algorithm), exact mode against a
// dense linear solve, row sums, undirected detailed balance, bad options.
#include "graph/ppr.h"

#include <cmath>

#include <gtest/gtest.h>

#include "graph/ontology_graph.h"
#include "store/release_store.h"
#include "tests/bundled_releases.h"

namespace sccello {
namespace {

const OntologyGraph& cl_2022() { return bundled_graph("cl-basic-2022-12-15.obo"); }

const PprGraph& walk() {
  static const PprGraph w = PprGraph::from_graph(cl_2022().graph(), false);
  return w;
}

int32_t node(const std::string& id) { return walk().node_of(*cl_2022().index_of(id)); }

// networkx 2.8.8's _pagerank_scipy as plain loops over the undirected is_a edge list, read
// from OntologyGraph (not from PprGraph): x' = alpha x W + (1 - alpha) e_s, W = D^-1 A.
std::vector<double> networkx_oracle(int32_t s, double alpha, int* iters) {
  const OntologyGraph& g = cl_2022();
  std::vector<std::pair<int32_t, int32_t>> arcs;
  for (TermIndex t = 0; t < g.num_terms(); ++t) {
    for (TermIndex p : g.parents(t)) {
      arcs.emplace_back(walk().node_of(t), walk().node_of(p));
      arcs.emplace_back(walk().node_of(p), walk().node_of(t));
    }
  }
  const size_t n = walk().num_nodes();
  std::vector<double> deg(n, 0.0);
  for (auto [i, j] : arcs) deg[i] += 1;
  std::vector<double> x(n, 1.0 / n), next(n);
  for (int it = 1; it <= 100; ++it) {
    std::fill(next.begin(), next.end(), 0.0);
    for (auto [i, j] : arcs) next[j] += x[i] / deg[i];
    double err = 0;
    for (size_t j = 0; j < n; ++j) {
      const double p = j == static_cast<size_t>(s) ? 1.0 : 0.0;
      next[j] = alpha * next[j] + (1 - alpha) * p;
      err += std::fabs(next[j] - x[j]);
    }
    x.swap(next);
    if (err < n * 1e-6) { *iters = it; return x; }
  }
  *iters = -1;
  return x;
}

TEST(plugins_Ppr, GraphHasScCellosNodes) {
  EXPECT_EQ(walk().num_nodes(), 2635u);  // live CL terms with an is_a edge (networkx: 2635 nodes, 3705 edges)
  size_t arcs = walk().in_nodes().size();
  EXPECT_EQ(arcs, 2u * 3705u);
  EXPECT_TRUE(walk().dangling().empty());
}

TEST(plugins_Ppr, MatchesNetworkxGoldenValues) {
  // python3-networkx 2.8.8: nx.pagerank(G, alpha=0.9, personalization={s: 1}), see bench/compare_networkx.py.
  struct Golden { const char* s; const char* t; double p; };
  const Golden golden[] = {
      {"CL:0000236", "CL:0000236", 0.2834193310922807},  {"CL:0000236", "CL:0001201", 0.06078680663081522},
      {"CL:0000236", "CL:0000945", 0.05764573943474589}, {"CL:0000000", "CL:0000000", 0.16113044978830243},
      {"CL:0000000", "CL:0000003", 0.08042510135705182}, {"CL:0000084", "CL:0000084", 0.1999021499683294},
      {"CL:0000084", "CL:0000542", 0.03783603983555463}};
  for (const Golden& g : golden) {
    auto row = ppr_row(walk(), node(g.s), PprOptions{});
    ASSERT_TRUE(row.is_ok()) << row.status().message();
    EXPECT_NEAR((*row)[node(g.t)], g.p, 1e-15) << g.s << " -> " << g.t;
  }
  // Exact mode against networkx run to tol=1e-16 (max_iter=100000).
  PprOptions exact;
  exact.mode = PprMode::kExact;
  auto row = ppr_row(walk(), node("CL:0000236"), exact);
  EXPECT_NEAR((*row)[node("CL:0000236")], 0.28373267559531523, 1e-12);
  EXPECT_NEAR((*row)[node("CL:0000945")], 0.05783030403148254, 1e-12);
}

TEST(plugins_Ppr, BatchedRowsEqualTheLoopedOracleWithSameIterations) {
  std::vector<int32_t> sources = {node("CL:0000236"), node("CL:0000000"), node("CL:0000084"), 0, 17, 999, 2634,
                                  node("CL:0000236"), 1500, 42, 7};
  PprOptions options;
  options.threads = 2;
  PprStats stats;
  auto rows = ppr_rows(walk(), sources, options, &stats);
  ASSERT_TRUE(rows.is_ok());
  const size_t n = walk().num_nodes();
  for (size_t i = 0; i < sources.size(); ++i) {
    int iters = 0;
    std::vector<double> want = networkx_oracle(sources[i], 0.9, &iters);
    EXPECT_EQ(stats.iterations[i], iters) << "source " << sources[i];
    double worst = 0;
    for (size_t j = 0; j < n; ++j) worst = std::max(worst, std::fabs((*rows)[i * n + j] - want[j]));
    EXPECT_LT(worst, 1e-14) << "source " << sources[i];
  }
}

// Dense oracle of the exact PPR: solve p (I - alpha W) = (1 - alpha) e_s on the induced subgraph
// of the descendants of leukocyte (CL:0000738) by Gaussian elimination with partial pivoting.
std::vector<double> dense_solve(const PprGraph& g, int32_t s, double alpha) {
  const size_t n = g.num_nodes();
  std::vector<double> m(n * n, 0.0), b(n, 0.0);  // m = (I - alpha W)^T, unknown p as a column
  for (size_t j = 0; j < n; ++j) {
    m[j * n + j] = 1.0;
    for (uint32_t e = g.in_offsets()[j]; e < g.in_offsets()[j + 1]; ++e) m[j * n + g.in_nodes()[e]] -= alpha * g.in_weights()[e];
  }
  b[s] = 1.0 - alpha;
  for (size_t c = 0; c < n; ++c) {
    size_t piv = c;
    for (size_t r = c + 1; r < n; ++r) if (std::fabs(m[r * n + c]) > std::fabs(m[piv * n + c])) piv = r;
    for (size_t k = 0; k < n; ++k) std::swap(m[c * n + k], m[piv * n + k]);
    std::swap(b[c], b[piv]);
    for (size_t r = c + 1; r < n; ++r) {
      const double f = m[r * n + c] / m[c * n + c];
      if (f == 0) continue;
      for (size_t k = c; k < n; ++k) m[r * n + k] -= f * m[c * n + k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> p(n);
  for (size_t c = n; c-- > 0;) {
    double acc = b[c];
    for (size_t k = c + 1; k < n; ++k) acc -= m[c * n + k] * p[k];
    p[c] = acc / m[c * n + c];
  }
  return p;
}

PprGraph leukocyte_subgraph(bool directed) {
  const OntologyGraph& g = cl_2022();
  const TermIndex root = *g.index_of("CL:0000738");
  std::vector<char> keep(g.num_terms(), 0);
  for (TermIndex t : g.descendants(root, true)) keep[t] = 1;
  std::vector<std::pair<uint32_t, uint32_t>> edges;
  for (TermIndex t = 0; t < g.num_terms(); ++t) {
    if (!keep[t]) continue;
    for (TermIndex p : g.parents(t)) if (keep[p]) edges.emplace_back(t, p);
  }
  return PprGraph::from_edges(g.num_terms(), edges, directed);
}

TEST(plugins_Ppr, ExactModeMatchesDenseSolveOnLeukocyteSubgraph) {
  for (bool directed : {false, true}) {
    PprGraph sub = leukocyte_subgraph(directed);
    ASSERT_GT(sub.num_nodes(), 200u);
    PprOptions options;
    options.mode = PprMode::kExact;
    options.alpha = 0.85;
    for (int32_t s : {0, 5, static_cast<int32_t>(sub.num_nodes() / 2), static_cast<int32_t>(sub.num_nodes() - 1)}) {
      auto row = ppr_row(sub, s, options);
      ASSERT_TRUE(row.is_ok()) << row.status().message();
      if (directed) continue;  // dangling roots: the oracle below covers the undirected walk only
      std::vector<double> want = dense_solve(sub, s, 0.85);
      for (size_t t = 0; t < sub.num_nodes(); ++t) EXPECT_NEAR((*row)[t], want[t], 1e-10);
    }
  }
}

TEST(plugins_Ppr, RowsSumToOneAndUndirectedDetailedBalance) {
  PprOptions exact;
  exact.mode = PprMode::kExact;
  exact.threads = 2;
  std::vector<int32_t> sources;
  for (int32_t s = 0; s < 2635; s += 97) sources.push_back(s);
  auto rows = ppr_rows(walk(), sources, exact);
  ASSERT_TRUE(rows.is_ok());
  const size_t n = walk().num_nodes();
  for (size_t i = 0; i < sources.size(); ++i) {
    double sum = 0;
    for (size_t j = 0; j < n; ++j) sum += (*rows)[i * n + j];
    EXPECT_NEAR(sum, 1.0, 1e-12);
    for (size_t k = 0; k < sources.size(); ++k) {
      const int32_t s = sources[i], t = sources[k];
      EXPECT_NEAR(walk().out_degree(s) * (*rows)[i * n + t], walk().out_degree(t) * (*rows)[k * n + s], 1e-11);
    }
  }
  auto nx_rows = ppr_rows(walk(), sources, PprOptions{});
  for (size_t i = 0; i < sources.size(); ++i) {
    double sum = 0;
    for (size_t j = 0; j < n; ++j) sum += (*nx_rows)[i * n + j];
    EXPECT_NEAR(sum, 1.0, 1e-9);
  }
}

TEST(plugins_Ppr, LevelsFollowScCello) {
  EXPECT_EQ(ppr_level(0.99e-4, 1e-4), 1);
  EXPECT_EQ(ppr_level(1e-4, 1e-4), 1);      // log2(2) = 1
  EXPECT_EQ(ppr_level(3e-4, 1e-4), 1);      // 3e-4/1e-4 = 2.9999999999999996 in doubles (as in Python)
  EXPECT_EQ(ppr_level(3.5e-4, 1e-4), 2);
  EXPECT_EQ(ppr_level(0.2834193310922807, 1e-4), 11);  // floor(log2(2835.19...)) = 11
  EXPECT_EQ(ppr_level(1.0, 1e-4), 13);
  // The fast exponent path equals floor(log2()) everywhere, including next to powers of two.
  for (double p = 1e-4; p < 1.0; p *= 1.0007) {
    for (double q : {p, std::nextafter(p, 0.0), std::nextafter(p, 1.0)}) {
      ASSERT_EQ(ppr_level(q, 1e-4), static_cast<int32_t>(std::floor(std::log2(q / 1e-4 + 1.0)))) << q;
    }
  }
  for (int k = 1; k < 14; ++k) {
    const double v = std::ldexp(1.0, k);
    for (double w = std::nextafter(v, 0.0), i = 0; i < 50; ++i, w = std::nextafter(w, 0.0)) {
      const double p = (w - 1.0) * 1e-4;
      const int32_t want = p < 1e-4 ? 1 : static_cast<int32_t>(std::floor(std::log2(p / 1e-4 + 1.0)));
      ASSERT_EQ(ppr_level(p, 1e-4), want) << p;
    }
  }
}

TEST(plugins_Ppr, BadOptionsAndNonConvergence) {
  PprOptions o;
  o.alpha = 1.0;
  auto r = ppr_row(walk(), 0, o);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("alpha must lie in (0,1)"), std::string::npos);
  o.alpha = 0.9;
  o.max_iter = 1;
  r = ppr_row(walk(), 0, o);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("did not converge in 1 iterations"), std::string::npos);
  EXPECT_FALSE(ppr_row(walk(), 2635, PprOptions{}).is_ok());
  EXPECT_FALSE(parse_ppr_mode("power").is_ok());
}

}  // namespace
}  // namespace sccello
