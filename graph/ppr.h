// Personalized PageRank (PPR) in Boost.Graph's generic style: PprGraph is a compact CSR random
// walk built from any BGL EdgeListGraph (plus a vertex index map); ppr_row / ppr_rows / ppr_all
// run the power iteration per source, batched as an N x k block with worker threads. PprGraph is
// immutable after construction and safe to share across threads; the functions are reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <boost/graph/graph_traits.hpp>
#include <boost/graph/properties.hpp>

#include "graph/status.h"

namespace sccello {

enum class PprMode {
  kNetworkx,  // networkx.pagerank(G, alpha, personalization=e_s) to the bit: uniform start,
              // dangling mass to e_s, stop when the L1 change < N * tol, max_iter else an error
  kExact,     // iterate until the L1 distance to the fixed point is provably <= exact_tol
};

// "networkx" | "exact"; anything else is an error listing both.
Result<PprMode> parse_ppr_mode(const std::string& name);
const char* ppr_mode_name(PprMode mode);

struct PprOptions {
  double alpha = 0.9;                 // probability to follow an edge; 1 - alpha restarts at s
  PprMode mode = PprMode::kNetworkx;
  double tol = 1e-6;                  // networkx: stop when sum |x - xlast| < N * tol
  int max_iter = 100;                 // networkx: not converged after this many is an error
  double exact_tol = 1e-12;           // exact: L1 error bound of every returned row
  int threads = 1;                    // worker threads for batched rows (<= 0: hardware)
};

// Checks alpha in (0,1), tol > 0, max_iter >= 1, exact_tol > 0.
Status validate_ppr_options(const PprOptions& options);

// Level of a PPR probability: 1 if p < threshold else floor(log2(p / threshold + 1)) (scCello).
int32_t ppr_level(double p, double threshold);

// The walk: nodes are the vertices that touch at least one edge (ascending vertex index);
// undirected graphs walk both ways, directed ones along the edges (child -> parent in an
// ontology). Stored in pull form: for node j, the nodes i with an edge i -> j and 1/outdeg(i).
class PprGraph {
 public:
  // Generic entry: any BGL EdgeListGraph with a vertex index map (vertices 0..num_vertices-1).
  template <class Graph, class VertexIndexMap>
  static PprGraph from_graph(const Graph& g, VertexIndexMap index, bool directed);
  template <class Graph>
  static PprGraph from_graph(const Graph& g, bool directed) {
    return from_graph(g, get(boost::vertex_index, g), directed);  // ADL
  }
  // Core: `edges` are (source vertex, target vertex); duplicates and self loops are dropped.
  static PprGraph from_edges(size_t num_vertices, std::vector<std::pair<uint32_t, uint32_t>> edges,
                             bool directed);

  size_t num_nodes() const { return node_vertex_.size(); }
  size_t num_vertices() const { return vertex_node_.size(); }
  bool directed() const { return directed_; }
  // Node of a vertex, or -1 when the vertex touches no edge.
  int32_t node_of(size_t vertex) const { return vertex_node_[vertex]; }
  uint32_t vertex_of(int32_t node) const { return node_vertex_[node]; }
  const std::vector<uint32_t>& node_vertices() const { return node_vertex_; }
  uint32_t out_degree(int32_t node) const { return out_degree_[node]; }
  // Pull-form CSR (see above) and the nodes without out-edges.
  const std::vector<uint32_t>& in_offsets() const { return in_offsets_; }
  const std::vector<int32_t>& in_nodes() const { return in_nodes_; }
  const std::vector<double>& in_weights() const { return in_weights_; }
  const std::vector<int32_t>& dangling() const { return dangling_; }

 private:
  bool directed_ = false;
  std::vector<int32_t> vertex_node_;
  std::vector<uint32_t> node_vertex_;
  std::vector<uint32_t> out_degree_;
  std::vector<uint32_t> in_offsets_;
  std::vector<int32_t> in_nodes_;
  std::vector<double> in_weights_;
  std::vector<int32_t> dangling_;
};

namespace ppr_detail {
// Unqualified BGL calls (found by ADL, as BGL algorithms do) outside PprGraph's scope.
template <class Graph>
size_t vertex_count(const Graph& g) { return num_vertices(g); }
}  // namespace ppr_detail

template <class Graph, class VertexIndexMap>
PprGraph PprGraph::from_graph(const Graph& g, VertexIndexMap index, bool directed) {
  std::vector<std::pair<uint32_t, uint32_t>> arcs;
  arcs.reserve(num_edges(g));  // unqualified calls: found by ADL, as BGL algorithms do
  for (auto [it, end] = edges(g); it != end; ++it) {
    arcs.emplace_back(static_cast<uint32_t>(get(index, source(*it, g))),
                       static_cast<uint32_t>(get(index, target(*it, g))));
  }
  return from_edges(ppr_detail::vertex_count(g), std::move(arcs), directed);
}

// What a batched run reports besides the rows.
struct PprStats {
  std::vector<int> iterations;  // per source: power iterations done (networkx's count)
};

// One PPR row over the graph's nodes (indexed by node). Errors: bad options, bad source,
// non-convergence (names the source and the iteration count).
Result<std::vector<double>> ppr_row(const PprGraph& g, int32_t source, const PprOptions& options);
// Row-major sources.size() x num_nodes(); rows computed as N x 8 blocks on options.threads threads.
Result<std::vector<double>> ppr_rows(const PprGraph& g, const std::vector<int32_t>& sources,
                                     const PprOptions& options, PprStats* stats = nullptr);
// Column of a node whose value is not wanted (ppr_rows_into).
constexpr uint32_t kPprNoColumn = UINT32_MAX;
// As ppr_rows, written straight into a caller's layout: row r of `out` (row_length values, zero
// them first) gets p_r(node j) at column column_of_node[j] (e.g. vertex ids: node_vertices()),
// or nowhere when that is kPprNoColumn.
Status ppr_rows_into(const PprGraph& g, const std::vector<int32_t>& sources, const PprOptions& options,
                     double* out, size_t row_length, const uint32_t* column_of_node, PprStats* stats = nullptr);
// Every node as a source: num_nodes() x num_nodes().
Result<std::vector<double>> ppr_all(const PprGraph& g, const PprOptions& options,
                                    PprStats* stats = nullptr);

}  // namespace sccello
