// Ontology endpoints: /v1/releases, /v1/terms (search), /v1/terms/{id}[/ancestors|/descendants],
// /v1/lca, /v1/diff, /v1/migrate. The same library calls as `sccello ontology ...`.
#include <algorithm>

#include "graph/release_diff.h"
#include "graph/term_lookup.h"
#include "model/serve/service_state.h"

namespace sccello {
namespace {

Json term_ref(const OntologyGraph& g, TermIndex t) {
  return {{"term_id", g.id_of(t)}, {"name", g.term(t).name}, {"depth", g.depth(t)}};
}

Json term_list(const OntologyGraph& g, std::vector<TermIndex> terms) {
  std::sort(terms.begin(), terms.end(), [&](TermIndex a, TermIndex b) {
    return g.depth(a) != g.depth(b) ? g.depth(a) < g.depth(b) : g.id_of(a) < g.id_of(b);
  });
  Json out = Json::array();
  for (TermIndex t : terms) out.push_back(term_ref(g, t));
  return out;
}

Json releases_json(const ServiceState& s) {
  Json out = Json::array();
  for (const ReleaseInfo& i : s.releases)
    out.push_back({{"release", i.name}, {"source_file", i.source_file}, {"format", i.source_format},
                   {"terms", i.num_terms}, {"obsolete", i.num_obsolete}, {"edges", i.num_edges},
                   {"content_hash", i.content_hash}, {"imported_at", i.imported_at}});
  return out;
}

Result<TermIndex> graph_term(const ReleaseView& v, const std::string& id) {
  if (auto t = v.graph->index_of(id)) return *t;
  const std::string& rel = v.release->info.name;
  if (const Term* t = find_release_term(*v.release, id)) {
    if (t->obsolete) return Status::invalid("term " + id + " is obsolete in release " + rel + "; see /v1/migrate");
    return Status::invalid("term " + id + " is not part of the CL is_a graph of release " + rel);
  }
  return Status::not_found("unknown term '" + id + "' in release " + rel + "; try /v1/terms?q=NAME");
}

ApiResult term_json(const ReleaseView& v, const std::string& id) {
  const Term* term = nullptr;
  std::optional<TermIndex> node = v.graph->index_of(id);
  term = node ? &v.graph->term(*node) : find_release_term(*v.release, id);
  if (!term) return Status::not_found("unknown term '" + id + "' in release " + v.release->info.name);
  Json synonyms = Json::array();
  for (const Synonym& s : term->synonyms) synonyms.push_back({{"text", s.text}, {"scope", s.scope}});
  Json out = {{"term_id", term->id}, {"name", term->name}, {"definition", term->definition},
              {"release", v.release->info.name}, {"obsolete", term->obsolete}, {"replaced_by", term->replaced_by},
              {"consider", term->consider}, {"synonyms", synonyms}, {"edges", term_parent_edges(*v.release, id)},
              {"parents", Json::array()}, {"children", Json::array()}, {"depth", nullptr}};
  if (node) {
    out["parents"] = term_list(*v.graph, v.graph->parents(*node));
    out["children"] = term_list(*v.graph, v.graph->children(*node));
    out["depth"] = v.graph->depth(*node);
  }
  return out;
}

ApiResult search_json(const ServiceState& s, const ReleaseView& v, const ServiceRequest& r) {
  std::string text = param(r, "q").value_or("");
  if (Status st = valid_name(text, "parameter 'q'"); !st.is_ok()) return st;
  SCCELLO_ASSIGN_OR_RETURN(int64_t limit, int_param(r, "limit", 20, 1, s.options->max_terms));
  SCCELLO_ASSIGN_OR_RETURN(bool obsolete, bool_param(r, "obsolete", false));
  Json out = Json::array();
  for (const TermMatch& m : search_terms(*v.release, text, obsolete, static_cast<size_t>(limit)))
    out.push_back({{"term_id", m.term->id}, {"name", m.term->name}, {"matched", m.matched},
                   {"obsolete", m.term->obsolete}});
  return out;
}

ApiResult closure_json(const ReleaseView& v, const ServiceRequest& r, const std::string& id, bool up) {
  SCCELLO_ASSIGN_OR_RETURN(TermIndex t, graph_term(v, id));
  SCCELLO_ASSIGN_OR_RETURN(bool self, bool_param(r, "self", false));
  const OntologyGraph& g = *v.graph;
  return term_list(g, up ? g.ancestors(t, self) : g.descendants(t, self));
}

ApiResult lca_json(const ServiceState& s, const ReleaseView& v, const ServiceRequest& r) {
  std::vector<std::string> raw = list_param(r, "terms");
  if (raw.size() < 2) return Status::invalid("parameter 'terms' needs two or more term ids, comma-separated");
  if (static_cast<int64_t>(raw.size()) > s.options->max_terms)
    return Status::invalid("at most " + std::to_string(s.options->max_terms) + " terms per request");
  std::vector<TermIndex> terms;
  for (const std::string& t : raw) {
    SCCELLO_ASSIGN_OR_RETURN(std::string id, valid_term_id(t, "each of 'terms'"));
    SCCELLO_ASSIGN_OR_RETURN(TermIndex node, graph_term(v, id));
    terms.push_back(node);
  }
  return term_list(*v.graph, v.graph->lca(terms));
}

Result<const ReleaseView*> named_view(const ServiceState& s, const ServiceRequest& r, const std::string& key) {
  auto name = param(r, key);
  if (!name) return Status::invalid("parameter '" + key + "' (a release name, see /v1/releases) is required");
  ServiceRequest copy;
  copy.params.emplace("release", *name);
  return release_view(s, copy);
}

ApiResult diff_json(const ServiceState& s, const ServiceRequest& r) {
  SCCELLO_ASSIGN_OR_RETURN(const ReleaseView* a, named_view(s, r, "a"));
  SCCELLO_ASSIGN_OR_RETURN(const ReleaseView* b, named_view(s, r, "b"));
  DiffOptions o;
  o.prefix = param(r, "prefix").value_or("");
  ReleaseDiff d = diff_releases(*a->release, *b->release, o);
  Json obsolete = Json::array(), renamed = Json::array(), parents = Json::array();
  for (const auto& t : d.newly_obsolete)
    obsolete.push_back({{"term_id", t.id}, {"name", t.name}, {"replaced_by", t.replaced_by}, {"consider", t.consider}});
  for (const auto& t : d.renamed) renamed.push_back({{"term_id", t.id}, {"old_name", t.old_name}, {"new_name", t.new_name}});
  for (const auto& t : d.parents_changed)
    parents.push_back({{"term_id", t.id}, {"name", t.name}, {"added", t.added_parents}, {"removed", t.removed_parents}});
  return Json{{"a", a->release->info.name}, {"b", b->release->info.name}, {"added", d.added}, {"removed", d.removed},
              {"obsolete", obsolete}, {"renamed", renamed}, {"parents_changed", parents}};
}

ApiResult migrate_json(const ServiceState& s, const ServiceRequest& r) {
  SCCELLO_ASSIGN_OR_RETURN(const ReleaseView* from, named_view(s, r, "from"));
  SCCELLO_ASSIGN_OR_RETURN(const ReleaseView* to, release_view(s, [&] {
    ServiceRequest copy;
    copy.params.emplace("release", param(r, "to").value_or(""));
    return copy;
  }()));
  std::vector<std::string> raw = list_param(r, "terms");
  if (raw.empty()) return Status::invalid("parameter 'terms' (term ids of release 'from', comma-separated) is required");
  if (static_cast<int64_t>(raw.size()) > s.options->max_terms)
    return Status::invalid("at most " + std::to_string(s.options->max_terms) + " terms per request");
  TermMigrator source(*from->release), target(*to->release);
  Json out = Json::array();
  for (const std::string& t : raw) {
    SCCELLO_ASSIGN_OR_RETURN(std::string id, valid_term_id(t, "each of 'terms'"));
    const Term* known = source.find(id);
    if (!known) return Status::not_found("unknown term '" + id + "' in release " + from->release->info.name);
    TermMigration m = target.migrate(id, source);
    const Term* dest = m.to.empty() ? nullptr : find_release_term(*to->release, m.to);
    out.push_back({{"term_id", id}, {"name", known->name}, {"status", migration_kind_name(m.kind)},
                   {"to_term_id", m.to}, {"to_name", dest ? dest->name : ""}, {"consider", m.consider}});
  }
  return out;
}

}  // namespace

ApiResult handle_ontology(const ServiceState& s, const ServiceRequest& r, const std::vector<std::string>& p) {
  const std::string& what = p[1];
  if (what == "releases" && p.size() == 2) return releases_json(s);
  if (what == "diff" && p.size() == 2) return diff_json(s, r);
  if (what == "migrate" && p.size() == 2) return migrate_json(s, r);
  SCCELLO_ASSIGN_OR_RETURN(const ReleaseView* v, release_view(s, r));
  if (what == "lca" && p.size() == 2) return lca_json(s, *v, r);
  if (what == "terms" && p.size() == 2) return search_json(s, *v, r);
  if (what == "terms" && (p.size() == 3 || p.size() == 4)) {
    SCCELLO_ASSIGN_OR_RETURN(std::string id, valid_term_id(p[2], "the term in the path"));
    if (p.size() == 3) return term_json(*v, id);
    if (p[3] == "ancestors" || p[3] == "descendants") return closure_json(*v, r, id, p[3] == "ancestors");
  }
  return ApiError{404, "no endpoint GET " + r.path + " (see docs/serve.md)"};
}

}  // namespace sccello
