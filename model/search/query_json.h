// The JSON form of a search result: one schema for `sccello query --json`, the HTTP service's
// POST /v1/search and the Python module.
#pragma once

#include <nlohmann/json.hpp>

#include "model/search/cell_search.h"

namespace sccello {

// {"query", "query_term", "query_term_name", "hits": [{rank, dataset, cell_id, similarity,
// term_id, name, donor, tissue, relation, lca_id, distance, level}], "summary": [{term_id, name,
// hits, rolled_up}], "hits_lca", "hits_lca_name", "exact_fallback"}
nlohmann::json query_result_json(const QueryResult& result);

}  // namespace sccello
