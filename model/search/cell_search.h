// CellSearch: ontology-aware queries over a CellIndex, viewed through one CL release. Queries by
// corpus cell, by embedding vectors (new cells), or by term (the cells nearest the type's
// centroid); filters evaluated on the ontology graph (--under/--not-under are closure tests, not
// string matches); every hit carries its relation to the query's term and its target level
// (PPR by default); a summary rolls hit counts up the ontology and names the hits' LCA.
// Owns the release view; borrows the index. Queries are const and thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "graph/ontology_graph.h"
#include "graph/release_diff.h"
#include "graph/status.h"
#include "model/search/cell_index.h"

namespace sccello {

class Store;
class TargetProvider;

struct QueryFilters {
  std::vector<TermId> under;      // hit's term is one of these or a descendant
  std::vector<TermId> not_under;  // ... and none of these nor a descendant
  std::vector<std::string> datasets, donors, tissues;  // exact matches; empty = any
  bool empty() const {
    return under.empty() && not_under.empty() && datasets.empty() && donors.empty() && tissues.empty();
  }
};

struct QueryOptions {
  int64_t k = 20;
  bool exact = false;          // BLAS over all rows instead of HNSW
  int64_t ef = 0;              // HNSW beam (0 = the index's ef_search)
  bool exclude_self = false;   // a corpus cell query drops the cell itself from its hits
  QueryFilters filters;
};

struct QueryHit {
  int64_t rank = 0;  // 1-based
  int64_t row = -1;
  float similarity = 0;
  IndexCell cell;
  TermId term_id;          // viewed through the release ("" when unmapped)
  std::string term_name;
  std::string relation;    // same | ancestor | descendant | related | unrelated | unknown
  TermId lca_id;           // with "related": the most specific common ancestor
  int distance = -1;       // undirected is_a path length between the two terms (-1: none)
  int level = 0;           // target level between the query's term and the hit's (0: not applicable)
};

struct TermCount {
  TermId term_id;
  std::string name;
  int64_t direct = 0;   // hits labelled exactly this term
  int64_t rolled = 0;   // hits labelled this term or a descendant
};

struct QueryResult {
  std::string query;           // what was asked ("dataset/cell", a term, a cell id of a file)
  TermId query_term;           // the term hits are related to ("" when none)
  std::string query_term_name;
  std::vector<QueryHit> hits;
  std::vector<TermCount> summary;  // terms with rolled > 0, most hits first
  TermId hits_lca;                 // LCA of the hits' terms ("" when none)
  std::string hits_lca_name;
  bool used_exact = false;         // the filtered ANN search fell back to exact search
};

struct SearchOptions {
  std::string release;            // "" = the index model's release when stored, else newest
  std::string target = "ppr";     // provider for hit levels ("none" skips them)
  int threads = 1;
};

class CellSearch {
 public:
  static Result<std::unique_ptr<CellSearch>> open(Store& store, const CellIndex& index, const SearchOptions& options);

  Result<QueryResult> by_cell(const std::string& dataset, const std::string& cell_id, const QueryOptions& options) const;
  // n rows of dims values each; query_terms[i] (may be "") is the i-th row's term, names[i] its name.
  Result<std::vector<QueryResult>> by_vectors(const std::vector<float>& rows, const std::vector<TermId>& query_terms,
                                              const std::vector<std::string>& names, const QueryOptions& options) const;
  // The cells nearest the centroid of the cells of `term` (and its descendants when asked).
  Result<QueryResult> by_term(const TermId& term, bool descendants, const QueryOptions& options) const;

  // The k nearest rows of one normalised query (filters applied; exclude_row skipped), without
  // the per-hit explanation: what annotation runs for every cell.
  Result<std::vector<Neighbour>> knn(const float* query, int64_t exclude_row, const QueryOptions& options,
                                     bool* used_exact = nullptr) const;

  const std::string& release_name() const { return release_name_; }
  const CellIndex& index() const { return *index_; }
  Store& store() const { return *store_; }
  const std::shared_ptr<OntologyRelease>& release() const { return release_; }
  // The hit's term as viewed through the release ("" when unmapped).
  const TermId& viewed_term(int64_t row) const { return viewed_by_code_[index_->cells().term_code(row)]; }
  const OntologyGraph& graph() const { return *graph_; }
  // True when index row `row` passes the filters (and is not exclude_row).
  bool allowed(int64_t row, const QueryFilters& filters, int64_t exclude_row) const;
  // Checks that a filter term is a term of the release (error names it).
  Status check_term(const TermId& term, const std::string& what) const;

 private:
  CellSearch() = default;
  Result<QueryResult> search_one(const float* query, const std::string& label, const TermId& query_term,
                                 int64_t exclude_row, const QueryOptions& options) const;
  Status describe_hits(QueryResult* result) const;
  // Levels of each hit's term seen from the query's term (0: none), from the provider bound to
  // the index's label space (the terms its cells carry), built on first use.
  Result<std::vector<int32_t>> hit_levels(const QueryResult& result) const;
  Result<std::vector<int32_t>> hit_levels_own_space(const QueryResult& result) const;

  Store* store_ = nullptr;
  const CellIndex* index_ = nullptr;
  SearchOptions options_;
  std::string release_name_;
  std::shared_ptr<OntologyRelease> release_;
  std::unique_ptr<OntologyGraph> graph_;
  std::vector<TermId> viewed_by_code_;  // per distinct stored term (IndexCells::terms())
  mutable std::once_flag levels_once_;
  mutable std::shared_ptr<TargetProvider> levels_provider_;
  mutable Status levels_status_;
};

}  // namespace sccello
