// Finding terms of a release by id or by text: what `sccello ontology show|search`, the HTTP
// service and the Python module all ask. Pure functions over an OntologyRelease.
#pragma once

#include <string>
#include <vector>

#include "graph/ontology.h"
#include "graph/ontology_graph.h"
#include "graph/status.h"

namespace sccello {

// "CL_0000236" and "cl:0000236" are read as "CL:0000236"; other text is returned unchanged.
std::string normalize_term_id(const std::string& id);

// The term record of a release (obsolete ones included), or nullptr. Linear scan.
const Term* find_release_term(const OntologyRelease& release, const std::string& id);

struct TermMatch {
  const Term* term = nullptr;
  std::string matched;  // the name or synonym that matched
  int rank = 0;         // 0 exact name, 1 exact synonym, 2 name prefix, 3 name substring, 4 synonym substring
};

// Terms whose name or a synonym contains `text` (case-insensitive), best matches first (rank,
// then id); obsolete terms only when asked. `limit` > 0 keeps that many.
std::vector<TermMatch> search_terms(const OntologyRelease& release, const std::string& text, bool include_obsolete,
                                    size_t limit = 0);

// The graph node of a typed id (normalized first). Errors say whether the term is unknown to the
// release, obsolete (naming its replacement and `sccello ontology migrate`) or outside the graph.
Result<TermIndex> find_graph_term(const OntologyRelease& release, const OntologyGraph& graph, const std::string& id);

// The edges of `id` in the release: "relation parent" for each edge whose child it is.
std::vector<std::string> term_parent_edges(const OntologyRelease& release, const std::string& id);

}  // namespace sccello
