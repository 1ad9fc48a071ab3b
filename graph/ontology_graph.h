// OntologyGraph: one release's terms of a prefix (CL: by default, live terms only) and the
// edges of chosen relations, on a Boost.Graph bidirectional adjacency list (edge child -> parent),
// with a closure index for O(1) is_ancestor. Immutable after build(); safe to share across
// threads. Owns its data (copies what it needs from the OntologyRelease).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/graph/adjacency_list.hpp>

#include "graph/ontology.h"
#include "graph/status.h"

namespace sccello {

// Dense index of a term inside one OntologyGraph (0..num_terms()-1).
using TermIndex = uint32_t;

// A read-only view of a sorted run of TermIndex owned by an OntologyGraph (valid while it lives).
struct TermSpan {
  const TermIndex* first = nullptr;
  const TermIndex* last = nullptr;
  const TermIndex* begin() const { return first; }
  const TermIndex* end() const { return last; }
  size_t size() const { return static_cast<size_t>(last - first); }
  bool empty() const { return first == last; }
};

struct GraphOptions {
  // Relations whose edges enter the graph. {"is_a"} is scCello's; {"is_a","part_of"} is common.
  std::vector<std::string> relations = {"is_a"};
  // Only terms whose id starts with this prefix become nodes ("" keeps every prefix).
  std::string prefix = "CL:";
  // Obsolete terms never become nodes unless this is set (then they are isolated).
  bool include_obsolete = false;
  // Memory bound of the closure index, so a hostile file (100k terms in a deep DAG) is an error
  // rather than an out-of-memory kill: the n x n ancestor bitsets (n^2 / 8 bytes), and the
  // sorted ancestor + descendant lists (8 bytes per ancestor pair), each at most this. The Cell
  // Ontology (~3k terms, ~40k pairs) needs about 1.5 MB.
  size_t max_closure_bytes = size_t{256} << 20;
};

// Parses "is_a" | "is_a+part_of" | "is_a,part_of,develops_from" into relation names.
std::vector<std::string> parse_relations(std::string_view spec);

class OntologyGraph {
 public:
  // Vertex = TermIndex; edge child -> parent.
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS>;

  // Builds nodes from the release's terms (filtered by options), edges whose both ends are nodes.
  // An is_a cycle is an error naming the terms in it; so is a closure larger than
  // options.max_closure_bytes (naming the sizes), checked before it is allocated.
  static Result<OntologyGraph> build(const OntologyRelease& release, const GraphOptions& options = {});

  size_t num_terms() const;
  size_t num_edges() const;
  const Graph& graph() const { return graph_; }
  const std::string& release_name() const { return release_name_; }
  const std::string& content_hash() const { return content_hash_; }

  std::optional<TermIndex> index_of(std::string_view id) const;
  const TermId& id_of(TermIndex t) const;
  const Term& term(TermIndex t) const;

  std::vector<TermIndex> parents(TermIndex t) const;
  std::vector<TermIndex> children(TermIndex t) const;
  // Sorted by TermIndex.
  std::vector<TermIndex> ancestors(TermIndex t, bool include_self = false) const;
  std::vector<TermIndex> descendants(TermIndex t, bool include_self = false) const;
  // Allocation-free views of the same lists (without self), for hot loops.
  TermSpan ancestor_span(TermIndex t) const;
  TermSpan descendant_span(TermIndex t) const;
  // True when `ancestor` is reachable from `t` upward, or equals it. O(1).
  bool is_ancestor(TermIndex ancestor, TermIndex t) const;
  // Length of the longest path from t up to a root (roots have depth 0).
  int depth(TermIndex t) const;
  std::vector<TermIndex> roots() const;
  // Most specific common ancestors (inclusive of the terms themselves) of all given terms.
  std::vector<TermIndex> lca(const std::vector<TermIndex>& terms) const;
  // Shortest path length ignoring edge direction; -1 when disconnected.
  int path_distance(TermIndex a, TermIndex b) const;

 private:
  OntologyGraph() = default;
  friend struct OntologyGraphBuilder;  // ontology_graph.cc: fills the members below
  Graph graph_;
  std::string release_name_;
  std::string content_hash_;
  // Terms, id map, closure bitsets, sorted ancestor/descendant lists (CSR), depth. Shared and
  // immutable: copies of a graph are cheap and the id map's string_views stay valid.
  struct Index;
  std::shared_ptr<const Index> index_;
};

}  // namespace sccello
