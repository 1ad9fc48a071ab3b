// OntologyGraph: node selection, edge filtering, cycle check, closure bitsets, sorted
// ancestor/descendant lists, depth, and the queries over them.
#include "graph/ontology_graph.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <unordered_map>
#include <unordered_set>

namespace sccello {

struct OntologyGraph::Index {
  std::vector<Term> terms;                                  // by TermIndex
  std::unordered_map<std::string_view, TermIndex> by_id;    // views into `terms`
  size_t words = 0;                                         // 64-bit words per closure row
  std::vector<uint64_t> closure;                            // row t: ancestors of t, self included
  std::vector<uint32_t> anc_offsets, desc_offsets;          // CSR offsets (n + 1)
  std::vector<TermIndex> anc, desc;                         // sorted, self excluded
  std::vector<int> depth;
  std::vector<TermIndex> roots;

  const uint64_t* row(TermIndex t) const { return closure.data() + t * words; }
  bool bit(TermIndex t, TermIndex a) const { return (row(t)[a >> 6] >> (a & 63)) & 1u; }
};

std::vector<std::string> parse_relations(std::string_view spec) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    while (!cur.empty() && cur.back() == ' ') cur.pop_back();
    if (!cur.empty() && std::find(out.begin(), out.end(), cur) == out.end()) out.push_back(cur);
    cur.clear();
  };
  for (char c : spec) {
    if (c == '+' || c == ',') flush();
    else if (c != ' ' || !cur.empty()) cur.push_back(c);
  }
  flush();
  if (out.empty()) out.push_back("is_a");
  return out;
}

struct OntologyGraphBuilder {
  OntologyGraphBuilder(const OntologyRelease& r, const GraphOptions& o) : release(r), options(o) {}
  const OntologyRelease& release;
  const GraphOptions& options;
  OntologyGraph g;
  std::shared_ptr<OntologyGraph::Index> ix = std::make_shared<OntologyGraph::Index>();
  std::vector<TermIndex> topo;  // parents before children

  bool wanted(const Term& t) const {
    if (t.obsolete && !options.include_obsolete) return false;
    return t.id.compare(0, options.prefix.size(), options.prefix) == 0;
  }

  void add_nodes() {
    for (const Term& t : release.terms) {
      if (wanted(t)) ix->terms.push_back(t);
    }
    ix->by_id.reserve(ix->terms.size() * 2);
    for (TermIndex i = 0; i < ix->terms.size(); ++i) ix->by_id.emplace(ix->terms[i].id, i);
    g.graph_ = OntologyGraph::Graph(ix->terms.size());
  }

  std::optional<TermIndex> find(const std::string& id) const {
    auto it = ix->by_id.find(id);
    if (it == ix->by_id.end()) return std::nullopt;
    return it->second;
  }

  void add_edges() {
    const auto& rels = options.relations;
    std::unordered_set<uint64_t> seen;
    for (const Edge& e : release.edges) {
      if (std::find(rels.begin(), rels.end(), e.relation) == rels.end()) continue;
      auto c = find(e.child), p = find(e.parent);
      if (!c || !p) continue;
      if (!seen.insert((uint64_t{*c} << 32) | *p).second) continue;
      boost::add_edge(*c, *p, g.graph_);
    }
  }

  // Kahn's algorithm, parents first. Returns false when some nodes sit on or below a cycle.
  bool topological_order() {
    const size_t n = ix->terms.size();
    std::vector<size_t> pending(n);
    std::deque<TermIndex> ready;
    for (TermIndex v = 0; v < n; ++v) {
      pending[v] = boost::out_degree(v, g.graph_);
      if (pending[v] == 0) ready.push_back(v);
    }
    while (!ready.empty()) {
      TermIndex v = ready.front();
      ready.pop_front();
      topo.push_back(v);
      for (auto [it, end] = boost::in_edges(v, g.graph_); it != end; ++it) {
        TermIndex child = static_cast<TermIndex>(boost::source(*it, g.graph_));
        if (--pending[child] == 0) ready.push_back(child);
      }
    }
    return topo.size() == n;
  }

  // Every node left out of `topo` has a parent also left out: walking up such parents must
  // revisit a node; the walk from its first visit is a cycle.
  Status cycle_error() const {
    std::vector<char> done(ix->terms.size(), 0);
    for (TermIndex v : topo) done[v] = 1;
    TermIndex v = 0;
    while (done[v]) ++v;
    std::vector<TermIndex> walk;
    std::unordered_map<TermIndex, size_t> pos;
    while (!pos.count(v)) {
      pos[v] = walk.size();
      walk.push_back(v);
      for (auto [it, end] = boost::out_edges(v, g.graph_); it != end; ++it) {
        TermIndex p = static_cast<TermIndex>(boost::target(*it, g.graph_));
        if (!done[p]) { v = p; break; }
      }
    }
    std::string names;
    for (size_t i = pos[v]; i < walk.size(); ++i) {
      const Term& t = ix->terms[walk[i]];
      names += t.id + " (" + t.name + ") -> ";
    }
    names += ix->terms[v].id;
    std::string rels;
    for (const auto& r : options.relations) rels += (rels.empty() ? "" : "+") + r;
    return Status::invalid("release '" + release.info.name + "': " + rels + " cycle: " + names +
                           "; fix the ontology file (a term cannot be its own ancestor) and re-import");
  }

  static std::string mib(double bytes) { return std::to_string(static_cast<int64_t>(bytes / (1 << 20) + 0.5)) + " MiB"; }

  Status too_big(const std::string& what, double bytes) const {
    return Status::invalid("release '" + release.info.name + "': " + what + " would need " + mib(bytes) +
                           " (limit " + mib(static_cast<double>(options.max_closure_bytes)) + "); the Cell Ontology "
                           "has ~3,000 terms: is this the right file? (a larger limit: GraphOptions::max_closure_bytes)");
  }

  // The ancestor bitsets' size, checked before they are allocated.
  Status check_bitset_size() const {
    double n = static_cast<double>(ix->terms.size());
    double bytes = std::ceil(n / 64) * 8 * n;
    if (bytes > static_cast<double>(options.max_closure_bytes))
      return too_big("the closure of " + std::to_string(ix->terms.size()) + " terms", bytes);
    return Status::ok();
  }

  // The ancestor and descendant lists' size (8 bytes per pair), checked before they are built.
  Status check_list_size() const {
    uint64_t pairs = 0;
    for (uint64_t w : ix->closure) pairs += static_cast<uint64_t>(__builtin_popcountll(w));
    pairs -= ix->terms.size();  // self bits
    double bytes = static_cast<double>(pairs) * 2 * sizeof(TermIndex);
    if (bytes > static_cast<double>(options.max_closure_bytes))
      return too_big(std::to_string(pairs) + " ancestor pairs over " + std::to_string(ix->terms.size()) + " terms",
                     bytes);
    return Status::ok();
  }

  void build_closure() {
    const size_t n = ix->terms.size();
    ix->words = (n + 63) / 64;
    ix->closure.assign(n * ix->words, 0);
    ix->depth.assign(n, 0);
    for (TermIndex v : topo) {
      uint64_t* row = ix->closure.data() + v * ix->words;
      row[v >> 6] |= uint64_t{1} << (v & 63);
      for (auto [it, end] = boost::out_edges(v, g.graph_); it != end; ++it) {
        TermIndex p = static_cast<TermIndex>(boost::target(*it, g.graph_));
        const uint64_t* prow = ix->row(p);
        for (size_t w = 0; w < ix->words; ++w) row[w] |= prow[w];
        ix->depth[v] = std::max(ix->depth[v], ix->depth[p] + 1);
      }
      if (boost::out_degree(v, g.graph_) == 0) ix->roots.push_back(v);
    }
    std::sort(ix->roots.begin(), ix->roots.end());
  }

  void build_lists() {
    const size_t n = ix->terms.size();
    ix->anc_offsets.assign(n + 1, 0);
    std::vector<uint32_t> desc_count(n, 0);
    for (TermIndex t = 0; t < n; ++t) {
      const uint64_t* row = ix->row(t);
      for (size_t w = 0; w < ix->words; ++w) {
        for (uint64_t bits = row[w]; bits; bits &= bits - 1) {
          TermIndex a = static_cast<TermIndex>(w * 64 + __builtin_ctzll(bits));
          if (a == t) continue;
          ix->anc.push_back(a);
          ++desc_count[a];
        }
      }
      ix->anc_offsets[t + 1] = static_cast<uint32_t>(ix->anc.size());
    }
    ix->desc_offsets.assign(n + 1, 0);
    for (TermIndex t = 0; t < n; ++t) ix->desc_offsets[t + 1] = ix->desc_offsets[t] + desc_count[t];
    ix->desc.resize(ix->anc.size());
    std::vector<uint32_t> fill(ix->desc_offsets.begin(), ix->desc_offsets.end() - 1);
    for (TermIndex t = 0; t < n; ++t) {  // ascending t: each descendant list comes out sorted
      for (uint32_t k = ix->anc_offsets[t]; k < ix->anc_offsets[t + 1]; ++k) ix->desc[fill[ix->anc[k]]++] = t;
    }
  }

  Result<OntologyGraph> run() {
    g.release_name_ = release.info.name;
    g.content_hash_ = release.info.content_hash;
    add_nodes();
    add_edges();
    if (!topological_order()) return cycle_error();
    SCCELLO_RETURN_IF_ERROR(check_bitset_size());
    build_closure();
    SCCELLO_RETURN_IF_ERROR(check_list_size());
    build_lists();
    g.index_ = std::move(ix);
    return std::move(g);
  }
};

Result<OntologyGraph> OntologyGraph::build(const OntologyRelease& release, const GraphOptions& options) {
  OntologyGraphBuilder builder(release, options);
  return builder.run();
}

size_t OntologyGraph::num_terms() const { return index_ ? index_->terms.size() : 0; }
size_t OntologyGraph::num_edges() const { return boost::num_edges(graph_); }

std::optional<TermIndex> OntologyGraph::index_of(std::string_view id) const {
  auto it = index_->by_id.find(id);
  if (it == index_->by_id.end()) return std::nullopt;
  return it->second;
}

const TermId& OntologyGraph::id_of(TermIndex t) const { return index_->terms[t].id; }
const Term& OntologyGraph::term(TermIndex t) const { return index_->terms[t]; }

std::vector<TermIndex> OntologyGraph::parents(TermIndex t) const {
  std::vector<TermIndex> out;
  for (auto [it, end] = boost::out_edges(t, graph_); it != end; ++it) {
    out.push_back(static_cast<TermIndex>(boost::target(*it, graph_)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<TermIndex> OntologyGraph::children(TermIndex t) const {
  std::vector<TermIndex> out;
  for (auto [it, end] = boost::in_edges(t, graph_); it != end; ++it) {
    out.push_back(static_cast<TermIndex>(boost::source(*it, graph_)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

TermSpan OntologyGraph::ancestor_span(TermIndex t) const {
  const auto& ix = *index_;
  return {ix.anc.data() + ix.anc_offsets[t], ix.anc.data() + ix.anc_offsets[t + 1]};
}

TermSpan OntologyGraph::descendant_span(TermIndex t) const {
  const auto& ix = *index_;
  return {ix.desc.data() + ix.desc_offsets[t], ix.desc.data() + ix.desc_offsets[t + 1]};
}

namespace {
// Copies a sorted span, inserting `self` at its place when asked.
std::vector<TermIndex> with_self(TermSpan span, TermIndex self, bool include_self) {
  std::vector<TermIndex> out;
  out.reserve(span.size() + 1);
  const TermIndex* mid = include_self ? std::lower_bound(span.begin(), span.end(), self) : span.end();
  out.insert(out.end(), span.begin(), mid);
  if (include_self) out.push_back(self);
  out.insert(out.end(), mid, span.end());
  return out;
}
}  // namespace

std::vector<TermIndex> OntologyGraph::ancestors(TermIndex t, bool include_self) const {
  return with_self(ancestor_span(t), t, include_self);
}

std::vector<TermIndex> OntologyGraph::descendants(TermIndex t, bool include_self) const {
  return with_self(descendant_span(t), t, include_self);
}

bool OntologyGraph::is_ancestor(TermIndex ancestor, TermIndex t) const {
  return index_->bit(t, ancestor);
}

int OntologyGraph::depth(TermIndex t) const { return index_->depth[t]; }
std::vector<TermIndex> OntologyGraph::roots() const { return index_->roots; }

std::vector<TermIndex> OntologyGraph::lca(const std::vector<TermIndex>& terms) const {
  if (terms.empty()) return {};
  const auto& ix = *index_;
  std::vector<uint64_t> common(ix.row(terms[0]), ix.row(terms[0]) + ix.words);
  for (TermIndex t : terms) {
    for (size_t w = 0; w < ix.words; ++w) common[w] &= ix.row(t)[w];
  }
  // A common ancestor is most specific when it is no proper ancestor of another common one.
  std::vector<uint64_t> above(ix.words, 0);
  for (size_t w = 0; w < ix.words; ++w) {
    for (uint64_t bits = common[w]; bits; bits &= bits - 1) {
      TermIndex c = static_cast<TermIndex>(w * 64 + __builtin_ctzll(bits));
      for (TermIndex a : ancestor_span(c)) above[a >> 6] |= uint64_t{1} << (a & 63);
    }
  }
  std::vector<TermIndex> out;
  for (size_t w = 0; w < ix.words; ++w) {
    for (uint64_t bits = common[w] & ~above[w]; bits; bits &= bits - 1) {
      out.push_back(static_cast<TermIndex>(w * 64 + __builtin_ctzll(bits)));
    }
  }
  return out;
}

int OntologyGraph::path_distance(TermIndex a, TermIndex b) const {
  if (a == b) return 0;
  std::vector<int> dist(num_terms(), -1);
  std::deque<TermIndex> queue{a};
  dist[a] = 0;
  while (!queue.empty()) {
    TermIndex v = queue.front();
    queue.pop_front();
    auto visit = [&](size_t u) {
      if (dist[u] >= 0) return false;
      dist[u] = dist[v] + 1;
      queue.push_back(static_cast<TermIndex>(u));
      return u == b;
    };
    for (auto [it, end] = boost::out_edges(v, graph_); it != end; ++it) {
      if (visit(boost::target(*it, graph_))) return dist[b];
    }
    for (auto [it, end] = boost::in_edges(v, graph_); it != end; ++it) {
      if (visit(boost::source(*it, graph_))) return dist[b];
    }
  }
  return -1;
}

}  // namespace sccello
