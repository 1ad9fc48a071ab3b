// The Python objects over a store (py_store.cc): the store itself, one release's ontology, a bound
// target provider, and a cell index with its ontology-aware search. Shared with py_model.cc,
// which embeds new cells for an index. Used from one Python thread at a time.
#pragma once

#include "cli/python/py_common.h"
#include "graph/ontology_graph.h"
#include "model/search/cell_index.h"
#include "model/search/cell_search.h"

namespace sccello::python {

// sccello.Store: shared by the objects opened from it.
struct PyStore {
  SharedStore s;
};

struct PyIndex {
  SharedStore store;
  std::unique_ptr<CellIndex> index;
  std::unique_ptr<CellSearch> search;  // borrows *index
};

// The search options of sccello.search / sccello.annotate (filters as lists of strings).
QueryFilters query_filters(const py::dict& kw);
// Query results as one frame: query, rank, dataset, cell_id, similarity, term_id, name, donor,
// tissue, relation, lca_id, distance, level.
py::object results_frame(const std::vector<QueryResult>& results);

}  // namespace sccello::python
