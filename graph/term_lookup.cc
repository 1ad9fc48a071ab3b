#include "graph/term_lookup.h"

#include <algorithm>
#include <cctype>

namespace sccello {

std::string normalize_term_id(const std::string& id) {
  std::string out = id;
  size_t sep = out.find_first_of(":_");
  if (sep == std::string::npos) return out;
  out[sep] = ':';
  std::transform(out.begin(), out.begin() + sep, out.begin(), [](unsigned char c) { return std::toupper(c); });
  return out;
}

const Term* find_release_term(const OntologyRelease& release, const std::string& id) {
  for (const Term& t : release.terms)
    if (t.id == id) return &t;
  return nullptr;
}

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Rank of a match (TermMatch::rank), -1 for none.
int match_rank(const Term& t, const std::string& needle, std::string* matched) {
  std::string name = lower(t.name);
  *matched = t.name;
  if (name == needle) return 0;
  const Synonym* partial = nullptr;
  for (const Synonym& s : t.synonyms) {
    std::string text = lower(s.text);
    if (text == needle) {
      *matched = s.text;
      return 1;
    }
    if (!partial && text.find(needle) != std::string::npos) partial = &s;
  }
  size_t at = name.find(needle);
  if (at != std::string::npos) return at == 0 ? 2 : 3;
  if (partial) {
    *matched = partial->text;
    return 4;
  }
  return -1;
}

}  // namespace

std::vector<TermMatch> search_terms(const OntologyRelease& release, const std::string& text, bool include_obsolete,
                                    size_t limit) {
  const std::string needle = lower(text);
  std::vector<TermMatch> hits;
  for (const Term& t : release.terms) {
    if (t.obsolete && !include_obsolete) continue;
    TermMatch m;
    m.rank = match_rank(t, needle, &m.matched);
    if (m.rank < 0) continue;
    m.term = &t;
    hits.push_back(std::move(m));
  }
  std::sort(hits.begin(), hits.end(), [](const TermMatch& a, const TermMatch& b) {
    return a.rank != b.rank ? a.rank < b.rank : a.term->id < b.term->id;
  });
  if (limit > 0 && hits.size() > limit) hits.resize(limit);
  return hits;
}

Result<TermIndex> find_graph_term(const OntologyRelease& release, const OntologyGraph& graph, const std::string& raw) {
  const std::string id = normalize_term_id(raw);
  if (auto t = graph.index_of(id)) return *t;
  const std::string& rel = release.info.name;
  if (const Term* t = find_release_term(release, id)) {
    if (!t->obsolete) return Status::invalid("term " + id + " is not part of the graph (check --prefix)");
    std::string replaced;
    for (const TermId& r : t->replaced_by) replaced += (replaced.empty() ? "" : ", ") + r;
    return Status::invalid("term " + id + " is obsolete in release " + rel +
                           (replaced.empty() ? "" : " (replaced by " + replaced + ")") +
                           "; see `sccello ontology migrate " + id + "`");
  }
  return Status::not_found("unknown term '" + raw + "' in release " + rel + "; try `sccello ontology search`");
}

std::vector<std::string> term_parent_edges(const OntologyRelease& release, const std::string& id) {
  std::vector<std::string> parents;
  for (const Edge& e : release.edges)
    if (e.child == id) parents.push_back(e.relation + " " + e.parent);
  return parents;
}

}  // namespace sccello
