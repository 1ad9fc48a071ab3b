// The plain data of one ontology release: terms and typed edges, as imported from OBO or the
// cellxgene JSON. No indexes here: OntologyGraph builds those. Plain values, freely copyable;
// not synchronised (share const instances across threads).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sccello {

// "CL:0000236" etc. Kept as the ontology's CURIE string everywhere outside hot loops.
using TermId = std::string;

struct Synonym {
  std::string text;
  std::string scope;  // EXACT, NARROW, BROAD, RELATED ("" when the source has none)
};

struct Term {
  TermId id;
  std::string name;
  std::string definition;
  std::vector<Synonym> synonyms;
  std::vector<std::string> xrefs;
  bool obsolete = false;
  std::vector<TermId> replaced_by;  // usually zero or one
  std::vector<TermId> consider;
};

// A directed edge child -[relation]-> parent ("is_a", "part_of", "develops_from", ...).
// The parent may lie outside CL (e.g. GO:, UBERON:): kept, filtered when a graph is built.
struct Edge {
  TermId child;
  std::string relation;
  TermId parent;
  bool operator==(const Edge& o) const {
    return child == o.child && relation == o.relation && parent == o.parent;
  }
};

// What identifies and summarises a release in the store.
struct ReleaseInfo {
  std::string name;          // e.g. "2022-12-15"
  std::string source_file;   // base name of the imported file
  std::string source_format; // "obo" or "cellxgene-json"
  std::string content_hash;  // hex digest of the canonical content (terms + edges)
  std::string data_version;  // as written in the file header, if any
  int64_t imported_at = 0;   // unix seconds
  int64_t num_terms = 0;
  int64_t num_obsolete = 0;
  int64_t num_edges = 0;
};

struct OntologyRelease {
  ReleaseInfo info;
  std::vector<Term> terms;  // in file order
  std::vector<Edge> edges;  // in file order
};

}  // namespace sccello
