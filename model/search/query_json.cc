#include "model/search/query_json.h"

namespace sccello {

nlohmann::json query_result_json(const QueryResult& r) {
  nlohmann::json hits = nlohmann::json::array();
  for (const auto& h : r.hits)
    hits.push_back({{"rank", h.rank}, {"dataset", h.cell.dataset}, {"cell_id", h.cell.cell_id},
                    {"similarity", h.similarity}, {"term_id", h.term_id}, {"name", h.term_name},
                    {"donor", h.cell.donor}, {"tissue", h.cell.tissue}, {"relation", h.relation},
                    {"lca_id", h.lca_id}, {"distance", h.distance}, {"level", h.level}});
  nlohmann::json summary = nlohmann::json::array();
  for (const auto& c : r.summary)
    summary.push_back({{"term_id", c.term_id}, {"name", c.name}, {"hits", c.direct}, {"rolled_up", c.rolled}});
  return {{"query", r.query}, {"query_term", r.query_term}, {"query_term_name", r.query_term_name},
          {"hits", hits}, {"summary", summary}, {"hits_lca", r.hits_lca}, {"hits_lca_name", r.hits_lca_name},
          {"exact_fallback", r.used_exact}};
}

}  // namespace sccello
