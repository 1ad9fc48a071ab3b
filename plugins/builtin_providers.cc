// The built-in target providers: ppr, shortest_path, ic (Resnik/Lin), lca_depth, none. Each is a
// RowKernel over an OntologyGraph plus its registry entry (parameters, defaults, description).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>

#include "graph/ppr.h"
#include "plugins/row_provider.h"

namespace sccello {

namespace {

Result<double> number_param(const TargetSpec& spec, const std::string& key) {
  const std::string& v = spec.get(key);
  double d = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (ec != std::errc() || end != v.data() + v.size()) {
    return Status::invalid("target " + spec.name + ": parameter " + key + "=" + v + " is not a number");
  }
  return d;
}

Result<int> int_param(const TargetSpec& spec, const std::string& key, int lo, int hi) {
  SCCELLO_ASSIGN_OR_RETURN(double d, number_param(spec, key));
  if (d != std::floor(d) || d < lo || d > hi) {
    return Status::invalid("target " + spec.name + ": parameter " + key + "=" + spec.get(key) +
                           " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return static_cast<int>(d);
}

Result<bool> bool_param(const TargetSpec& spec, const std::string& key) {
  const std::string& v = spec.get(key);
  if (v == "1") return true;
  if (v == "0") return false;
  return Status::invalid("target " + spec.name + ": parameter " + key + "=" + v + " must be 0/1 or true/false");
}

struct Graphs {
  std::shared_ptr<const OntologyGraph> isa;    // directed is_a: ancestor masks
  std::shared_ptr<const OntologyGraph> edges;  // the provider's chosen relations
};

Result<Graphs> build_graphs(const TargetSpec& spec, const TargetBinding& b, const std::string& edges) {
  GraphOptions isa_options;
  SCCELLO_ASSIGN_OR_RETURN(OntologyGraph isa, OntologyGraph::build(*b.release, isa_options));
  Graphs g;
  g.isa = std::make_shared<const OntologyGraph>(std::move(isa));
  GraphOptions options;
  options.relations = parse_relations(edges);
  if (options.relations.empty()) return Status::invalid("target " + spec.name + ": edges= names no relation");
  if (options.relations == isa_options.relations) {
    g.edges = g.isa;
    return g;
  }
  SCCELLO_ASSIGN_OR_RETURN(OntologyGraph chosen, OntologyGraph::build(*b.release, options));
  g.edges = std::make_shared<const OntologyGraph>(std::move(chosen));
  return g;
}

bool has_edge(const OntologyGraph& g, TermIndex t) {
  return boost::out_degree(t, g.graph()) + boost::in_degree(t, g.graph()) > 0;
}

// ---------------------------------------------------------------------------------------------
// ppr

class PprKernel : public RowKernel {
 public:
  PprKernel(std::shared_ptr<const OntologyGraph> g, PprOptions o, double threshold, bool directed)
      : graph_(std::move(g)), walk_(PprGraph::from_graph(graph_->graph(), directed)), options_(o),
        threshold_(threshold) {}

  Result<std::vector<double>> compute(const std::vector<TermIndex>& sources, int threads) const override {
    std::vector<int32_t> nodes;
    for (TermIndex t : sources) nodes.push_back(walk_.node_of(t));
    PprOptions o = options_;
    o.threads = threads;
    const size_t n = graph_->num_terms();
    std::vector<double> out(sources.size() * n, 0.0);
    SCCELLO_RETURN_IF_ERROR(ppr_rows_into(walk_, nodes, o, out.data(), n, walk_.node_vertices().data()));
    return out;
  }
  Status compute_into(const std::vector<TermIndex>& sources, int threads, double* out, size_t row_length,
                      const std::vector<int64_t>& column_of_term) const override {
    std::vector<int32_t> nodes;
    for (TermIndex t : sources) nodes.push_back(walk_.node_of(t));
    std::vector<uint32_t> column_of_node(walk_.num_nodes());
    for (size_t j = 0; j < column_of_node.size(); ++j) {
      const int64_t c = column_of_term[walk_.vertex_of(static_cast<int32_t>(j))];
      column_of_node[j] = c < 0 ? kPprNoColumn : static_cast<uint32_t>(c);
    }
    PprOptions o = options_;
    o.threads = threads;
    return ppr_rows_into(walk_, nodes, o, out, row_length, column_of_node.data());
  }
  int32_t level(double raw) const override { return ppr_level(raw, threshold_); }
  void levels(const double* raw, size_t n, uint8_t* out) const override {
    for (size_t t = 0; t < n; ++t) out[t] = static_cast<uint8_t>(std::min(255, ppr_level(raw[t], threshold_)));
  }
  bool is_node(TermIndex t) const override { return walk_.node_of(t) >= 0; }

 private:
  std::shared_ptr<const OntologyGraph> graph_;
  PprGraph walk_;
  PprOptions options_;
  double threshold_;
};

Result<std::unique_ptr<TargetProvider>> make_ppr(const TargetSpec& spec, const TargetBinding& b) {
  PprOptions o;
  SCCELLO_ASSIGN_OR_RETURN(o.alpha, number_param(spec, "alpha"));
  SCCELLO_ASSIGN_OR_RETURN(o.mode, parse_ppr_mode(spec.get("mode")));
  SCCELLO_ASSIGN_OR_RETURN(o.max_iter, int_param(spec, "max_iter", 1, 1000000));
  SCCELLO_ASSIGN_OR_RETURN(o.tol, number_param(spec, "tol"));
  SCCELLO_ASSIGN_OR_RETURN(double threshold, number_param(spec, "threshold"));
  SCCELLO_ASSIGN_OR_RETURN(bool directed, bool_param(spec, "directed"));
  Status valid = validate_ppr_options(o);
  if (!valid) return Status::invalid("target ppr: " + valid.message());
  if (!(threshold > 0)) return Status::invalid("target ppr: threshold must be > 0");
  SCCELLO_ASSIGN_OR_RETURN(Graphs g, build_graphs(spec, b, spec.get("edges")));
  auto kernel = std::make_unique<PprKernel>(g.edges, o, threshold, directed);
  return std::unique_ptr<TargetProvider>(
      new RowTargetProvider(spec.describe("1"), g.isa, std::move(kernel), b));
}

// ---------------------------------------------------------------------------------------------
// shortest_path: BFS over the undirected graph; raw 1/(1+d), level max(1, max_level - d).

class ShortestPathKernel : public RowKernel {
 public:
  ShortestPathKernel(std::shared_ptr<const OntologyGraph> g, int max_level)
      : graph_(std::move(g)), max_level_(max_level) {
    const size_t n = graph_->num_terms();
    neighbours_.resize(n);
    for (TermIndex t = 0; t < n; ++t) {
      for (TermIndex p : graph_->parents(t)) {
        neighbours_[t].push_back(p);
        neighbours_[p].push_back(t);
      }
    }
  }

  Result<std::vector<double>> compute(const std::vector<TermIndex>& sources, int) const override {
    const size_t n = graph_->num_terms();
    std::vector<double> out(sources.size() * n, 0.0);
    std::vector<int> dist(n);
    for (size_t i = 0; i < sources.size(); ++i) {
      bfs(sources[i], &dist);
      for (size_t t = 0; t < n; ++t) out[i * n + t] = dist[t] < 0 ? 0.0 : 1.0 / (1.0 + dist[t]);
    }
    return out;
  }
  int32_t level(double raw) const override {
    if (raw <= 0) return 1;
    const int d = static_cast<int>(std::lround(1.0 / raw - 1.0));
    return std::max(1, max_level_ - d);
  }
  bool is_node(TermIndex t) const override { return !neighbours_[t].empty(); }

 private:
  void bfs(TermIndex s, std::vector<int>* dist) const {
    std::fill(dist->begin(), dist->end(), -1);
    std::deque<TermIndex> queue{s};
    (*dist)[s] = 0;
    while (!queue.empty()) {
      TermIndex u = queue.front();
      queue.pop_front();
      for (TermIndex v : neighbours_[u]) {
        if ((*dist)[v] >= 0) continue;
        (*dist)[v] = (*dist)[u] + 1;
        queue.push_back(v);
      }
    }
  }

  std::shared_ptr<const OntologyGraph> graph_;
  int max_level_;
  std::vector<std::vector<TermIndex>> neighbours_;
};

Result<std::unique_ptr<TargetProvider>> make_shortest_path(const TargetSpec& spec, const TargetBinding& b) {
  SCCELLO_ASSIGN_OR_RETURN(int max_level, int_param(spec, "max_level", 1, 255));
  SCCELLO_ASSIGN_OR_RETURN(Graphs g, build_graphs(spec, b, spec.get("edges")));
  auto kernel = std::make_unique<ShortestPathKernel>(g.edges, max_level);
  return std::unique_ptr<TargetProvider>(
      new RowTargetProvider(spec.describe("1"), g.isa, std::move(kernel), b));
}

// ---------------------------------------------------------------------------------------------
// Common-ancestor kernels: raw(a, b) from the best common ancestor c (self included) by a score.

// best[b] = max score(c) over c in ancestors-or-self(a) with b in descendants-or-self(c); -1: none.
void best_common_ancestor(const OntologyGraph& g, TermIndex a, const std::vector<double>& score,
                          double* best) {
  auto visit = [&](TermIndex c) {
    const double s = score[c];
    best[c] = std::max(best[c], s);
    for (TermIndex d : g.descendant_span(c)) best[d] = std::max(best[d], s);
  };
  visit(a);
  for (TermIndex c : g.ancestor_span(a)) visit(c);
}

enum class IcMeasure { kResnik, kLin };

// ic: intrinsic information content (Seco et al. 2004), IC(t) = 1 - log(desc(t)+1) / log(N),
// N = graph nodes; Resnik = IC(MICA), Lin = 2 IC(MICA) / (IC(a) + IC(b)); level 1 + floor(sim*L).
class IcKernel : public RowKernel {
 public:
  IcKernel(std::shared_ptr<const OntologyGraph> g, IcMeasure m, int levels)
      : graph_(std::move(g)), measure_(m), levels_(levels) {
    const size_t n = graph_->num_terms();
    size_t nodes = 0;
    for (TermIndex t = 0; t < n; ++t) nodes += has_edge(*graph_, t) ? 1 : 0;
    const double log_n = std::log(static_cast<double>(std::max<size_t>(nodes, 2)));
    ic_.resize(n);
    for (TermIndex t = 0; t < n; ++t) {
      ic_[t] = 1.0 - std::log(static_cast<double>(graph_->descendant_span(t).size()) + 1.0) / log_n;
    }
  }

  Result<std::vector<double>> compute(const std::vector<TermIndex>& sources, int) const override {
    const size_t n = graph_->num_terms();
    std::vector<double> out(sources.size() * n, -1.0);
    for (size_t i = 0; i < sources.size(); ++i) {
      double* row = out.data() + i * n;
      best_common_ancestor(*graph_, sources[i], ic_, row);
      for (size_t t = 0; t < n; ++t) row[t] = finish(sources[i], static_cast<TermIndex>(t), row[t]);
    }
    return out;
  }
  int32_t level(double raw) const override {
    if (!(raw > 0)) return 1;
    return 1 + std::min(levels_ - 1, static_cast<int>(std::floor(raw * levels_)));
  }
  bool is_node(TermIndex t) const override { return has_edge(*graph_, t); }

 private:
  double finish(TermIndex a, TermIndex b, double mica) const {
    if (mica < 0) return 0.0;
    if (measure_ == IcMeasure::kResnik) return mica;
    const double denom = ic_[a] + ic_[b];
    if (denom > 0) return 2.0 * mica / denom;
    return a == b ? 1.0 : 0.0;  // two terms of IC 0 (the root): identical only with itself
  }

  std::shared_ptr<const OntologyGraph> graph_;
  IcMeasure measure_;
  int levels_;
  std::vector<double> ic_;
};

Result<std::unique_ptr<TargetProvider>> make_ic(const TargetSpec& spec, const TargetBinding& b) {
  const std::string& m = spec.get("measure");
  if (m != "resnik" && m != "lin") return Status::invalid("target ic: measure=" + m + ": use resnik or lin");
  SCCELLO_ASSIGN_OR_RETURN(int levels, int_param(spec, "levels", 1, 255));
  SCCELLO_ASSIGN_OR_RETURN(Graphs g, build_graphs(spec, b, spec.get("edges")));
  auto kernel = std::make_unique<IcKernel>(g.edges, m == "lin" ? IcMeasure::kLin : IcMeasure::kResnik, levels);
  return std::unique_ptr<TargetProvider>(
      new RowTargetProvider(spec.describe("1"), g.isa, std::move(kernel), b));
}

// lca_depth: raw = depth of the deepest common ancestor (-1: none); level = 1 + depth (1: none).
class LcaDepthKernel : public RowKernel {
 public:
  explicit LcaDepthKernel(std::shared_ptr<const OntologyGraph> g) : graph_(std::move(g)) {
    for (TermIndex t = 0; t < graph_->num_terms(); ++t) depth_.push_back(graph_->depth(t));
  }
  Result<std::vector<double>> compute(const std::vector<TermIndex>& sources, int) const override {
    const size_t n = graph_->num_terms();
    std::vector<double> out(sources.size() * n, -1.0);
    for (size_t i = 0; i < sources.size(); ++i) best_common_ancestor(*graph_, sources[i], depth_, out.data() + i * n);
    return out;
  }
  int32_t level(double raw) const override { return raw < 0 ? 1 : 1 + static_cast<int32_t>(raw); }
  bool is_node(TermIndex t) const override { return has_edge(*graph_, t); }

 private:
  std::shared_ptr<const OntologyGraph> graph_;
  std::vector<double> depth_;
};

Result<std::unique_ptr<TargetProvider>> make_lca_depth(const TargetSpec& spec, const TargetBinding& b) {
  SCCELLO_ASSIGN_OR_RETURN(Graphs g, build_graphs(spec, b, spec.get("edges")));
  return std::unique_ptr<TargetProvider>(
      new RowTargetProvider(spec.describe("1"), g.isa, std::make_unique<LcaDepthKernel>(g.edges), b));
}

// none: one level for all pairs (the ablation baseline); nothing to compute or cache.
class NoneKernel : public RowKernel {
 public:
  Result<std::vector<double>> compute(const std::vector<TermIndex>&, int) const override {
    return std::vector<double>();
  }
  int32_t level(double) const override { return 1; }
  bool is_node(TermIndex) const override { return false; }
  bool cacheable() const override { return false; }
};

Result<std::unique_ptr<TargetProvider>> make_none(const TargetSpec& spec, const TargetBinding& b) {
  SCCELLO_ASSIGN_OR_RETURN(Graphs g, build_graphs(spec, b, "is_a"));
  TargetBinding bound = b;
  if (bound.label_space.empty()) {  // every node of the is_a graph, as the other providers
    for (TermIndex t = 0; t < g.isa->num_terms(); ++t) {
      if (has_edge(*g.isa, t)) bound.label_space.push_back(g.isa->id_of(t));
    }
  }
  return std::unique_ptr<TargetProvider>(
      new RowTargetProvider(spec.describe("1"), g.isa, std::make_unique<NoneKernel>(), bound));
}

ProviderParam edges_param() {
  return {"edges", "is_a", "relations whose edges form the graph, joined by '+' (is_a+part_of)"};
}

}  // namespace

void register_builtin_providers(TargetRegistry& registry) {
  Status s;
  s = registry.add({"ppr", "1", "Personalized PageRank from each term (scCello's default); level = 1 if p < threshold else floor(log2(p/threshold + 1))",
                    {{"alpha", "0.9", "probability of following an edge (restart 1 - alpha), in (0,1)"},
                     {"threshold", "0.0001", "PPR value below which the level is 1"},
                     {"mode", "networkx", "networkx (networkx.pagerank to the bit) | exact (L1 error <= 1e-12)"},
                     edges_param(),
                     {"directed", "0", "0: walk edges both ways (scCello); 1: child -> parent only"},
                     {"max_iter", "100", "networkx mode: iterations before a non-convergence error"},
                     {"tol", "1e-06", "networkx mode: stop when the L1 change < N * tol"}}},
                   make_ppr);
  s = registry.add({"shortest_path", "1", "undirected path length d; raw = 1/(1+d), level = max(1, max_level - d)",
                    {{"max_level", "8", "level of a term with itself"}, edges_param()}},
                   make_shortest_path);
  s = registry.add({"ic", "1", "intrinsic information content similarity (Seco IC from descendant counts), Resnik or Lin; level = 1 + floor(sim * levels), capped at levels",
                    {{"measure", "resnik", "resnik | lin"}, {"levels", "8", "number of levels"}, edges_param()}},
                   make_ic);
  s = registry.add({"lca_depth", "1", "depth of the deepest common ancestor (roots have depth 0); level = 1 + depth, 1 when none",
                    {edges_param()}},
                   make_lca_depth);
  s = registry.add({"none", "1", "one level for all pairs: the ontology alignment loss vanishes (ablation baseline)", {}},
                   make_none);
  (void)s;
}

}  // namespace sccello
