// sccello.Store, sccello.Ontology, sccello.Targets, sccello.Index: thin over store/, graph/,
// plugins/ and model/search/ (the calls `sccello ontology|targets|index|query` make).
#include <algorithm>
#include <filesystem>

#include "cli/python/py_store.h"
#include "graph/release_diff.h"
#include "graph/term_lookup.h"
#include "plugins/target_queries.h"
#include "plugins/target_registry.h"
#include "store/release_store.h"

namespace sccello::python {
namespace {

SharedStore open_store(const std::string& path, const std::string& backend, bool writable) {
  StoreOptions o;
  o.path = path;
  o.backend = take(parse_backend(backend));
  o.read_only = !writable;
  if (!writable && !std::filesystem::exists(path))
    throw Error(Status::not_found("no store at " + path + ": import a release first (`sccello ontology import FILE --store PATH`)"));
  return SharedStore(take(Store::open(o)).release());
}

// ---- Ontology ----

struct PyOntology {
  SharedStore store;
  std::shared_ptr<const OntologyRelease> release;
  std::shared_ptr<const OntologyGraph> graph;

  TermIndex node(const std::string& id) const { return take(find_graph_term(*release, *graph, id)); }
  // Term ids sorted by depth, then id (the CLI's order).
  std::vector<std::string> ids(std::vector<TermIndex> terms) const {
    const OntologyGraph& g = *graph;
    std::sort(terms.begin(), terms.end(), [&](TermIndex a, TermIndex b) {
      return g.depth(a) != g.depth(b) ? g.depth(a) < g.depth(b) : g.id_of(a) < g.id_of(b);
    });
    std::vector<std::string> out;
    for (TermIndex t : terms) out.push_back(g.id_of(t));
    return out;
  }
};

OntologyRelease load_release(Store& store, const std::string& name) {
  return take(without_gil([&] { return ReleaseStore(store).load(name); }));
}

PyOntology open_ontology(const SharedStore& store, const std::string& name, const std::string& relations,
                         const std::string& prefix) {
  PyOntology o;
  o.store = store;
  auto release = std::make_shared<OntologyRelease>(load_release(*store, name));
  GraphOptions options;
  options.relations = parse_relations(relations);
  options.prefix = prefix;
  o.graph = std::make_shared<OntologyGraph>(take(OntologyGraph::build(*release, options)));
  o.release = std::move(release);
  return o;
}

py::dict term_dict(const PyOntology& o, const std::string& raw) {
  const std::string id = normalize_term_id(raw);
  const Term* t = find_release_term(*o.release, id);
  if (!t) throw Error(Status::not_found("unknown term '" + raw + "' in release " + o.release->info.name));
  std::vector<std::string> synonyms;
  for (const Synonym& s : t->synonyms) synonyms.push_back(s.text);
  py::dict d;
  d["term_id"] = t->id, d["name"] = t->name, d["definition"] = t->definition, d["obsolete"] = t->obsolete;
  d["replaced_by"] = t->replaced_by, d["consider"] = t->consider, d["synonyms"] = synonyms;
  d["parents"] = term_parent_edges(*o.release, id);
  return d;
}

py::object search_frame(const PyOntology& o, const std::string& text, bool obsolete, size_t limit) {
  py::list id, name, matched, is_obsolete;
  for (const TermMatch& m : search_terms(*o.release, text, obsolete, limit)) {
    id.append(m.term->id), name.append(m.term->name), matched.append(m.matched), is_obsolete.append(m.term->obsolete);
  }
  return data_frame({{"term_id", id}, {"name", name}, {"matched", matched}, {"obsolete", is_obsolete}});
}

py::object migrate_frame(const PyOntology& from, const std::vector<std::string>& terms, const std::string& to_name) {
  const OntologyRelease to = load_release(*from.store, to_name);
  TermMigrator source(*from.release), target(to);
  py::list id, name, status, to_id, to_term_name, consider;
  for (const std::string& raw : terms) {
    const std::string t = normalize_term_id(raw);
    const Term* known = source.find(t);
    if (!known) throw Error(Status::not_found("unknown term '" + raw + "' in release " + from.release->info.name));
    TermMigration m = target.migrate(t, source);
    const Term* landed = m.to.empty() ? nullptr : target.find(m.to);
    id.append(t), name.append(known->name), status.append(migration_kind_name(m.kind)), to_id.append(m.to);
    to_term_name.append(landed ? landed->name : ""), consider.append(m.consider);
  }
  return data_frame({{"term_id", id}, {"name", name}, {"status", status}, {"to_term_id", to_id},
                     {"to_name", to_term_name}, {"consider", consider}});
}

py::object diff_frame(const PyOntology& a, const std::string& other, const std::string& prefix) {
  const OntologyRelease b = load_release(*a.store, other);
  DiffOptions options;
  options.prefix = prefix;
  ReleaseDiff d = diff_releases(*a.release, b, options);
  py::list change, id, name, detail;
  auto row = [&](const char* c, const std::string& t, const std::string& n, py::object more) {
    change.append(c), id.append(t), name.append(n), detail.append(more);
  };
  for (const auto& t : d.added) row("added", t, "", py::none());
  for (const auto& o : d.newly_obsolete) row("obsolete", o.id, o.name, py::cast(o.replaced_by));
  for (const auto& r : d.renamed) row("renamed", r.id, r.new_name, py::str(r.old_name));
  for (const auto& p : d.parents_changed)
    row("parents", p.id, p.name, py::dict(py::arg("removed") = p.removed_parents, py::arg("added") = p.added_parents));
  for (const auto& t : d.removed) row("removed", t, "", py::none());
  return data_frame({{"change", change}, {"term_id", id}, {"name", name}, {"detail", detail}});
}

void bind_ontology(py::module_& m) {
  py::class_<PyOntology>(m, "Ontology", "One CL release and its graph (is_a over CL: terms unless told)")
      .def_property_readonly("release", [](const PyOntology& o) { return o.release->info.name; })
      .def("__len__", [](const PyOntology& o) { return o.graph->num_terms(); })
      .def("__contains__", [](const PyOntology& o, const std::string& id) { return o.graph->index_of(normalize_term_id(id)).has_value(); })
      .def("term", &term_dict, py::arg("term"), "the term record: name, definition, synonyms, parents, obsolete, replaced_by")
      .def("name", [](const PyOntology& o, const std::string& id) { return o.graph->term(o.node(id)).name; })
      .def("depth", [](const PyOntology& o, const std::string& id) { return o.graph->depth(o.node(id)); })
      .def("parents", [](const PyOntology& o, const std::string& id) { return o.ids(o.graph->parents(o.node(id))); })
      .def("ancestors", [](const PyOntology& o, const std::string& id, bool self) {
             return o.ids(o.graph->ancestors(o.node(id), self)); }, py::arg("term"), py::arg("include_self") = false)
      .def("descendants", [](const PyOntology& o, const std::string& id, bool self) {
             return o.ids(o.graph->descendants(o.node(id), self)); }, py::arg("term"), py::arg("include_self") = false)
      .def("lca", [](const PyOntology& o, const std::vector<std::string>& terms) {
             std::vector<TermIndex> nodes;
             for (const auto& t : terms) nodes.push_back(o.node(t));
             return o.ids(o.graph->lca(nodes)); }, py::arg("terms"), "most specific common ancestors")
      .def("is_ancestor", [](const PyOntology& o, const std::string& ancestor, const std::string& term) {
             return o.graph->is_ancestor(o.node(ancestor), o.node(term)); }, py::arg("ancestor"), py::arg("term"))
      .def("search", &search_frame, py::arg("text"), py::arg("include_obsolete") = false, py::arg("limit") = 0)
      .def("migrate", [](const PyOntology& o, const std::vector<std::string>& terms, const std::string& to) {
             return migrate_frame(o, terms, to); }, py::arg("terms"), py::arg("to") = "",
           "maps terms of this release onto release `to` (default: newest)")
      .def("diff", &diff_frame, py::arg("other"), py::arg("prefix") = "",
           "what changed from this release to `other`: change, term_id, name, detail");
}

// ---- Targets ----

struct PyTargets {
  SharedStore store;
  TargetContext context;  // context.store points into `store`
  std::string spec;
  std::shared_ptr<TargetProvider> provider;
};

PyTargets bind_targets(const SharedStore& store, const std::string& spec, const std::vector<std::string>& terms,
                       const std::string& release, int threads, bool use_cache) {
  PyTargets t;
  t.store = store;
  t.spec = spec;
  t.context.store = store.get();
  t.context.release = release;
  t.context.label_space = terms;
  t.context.threads = threads;
  t.context.use_cache = use_cache && !store->read_only();
  t.provider = take(without_gil([&] { return make_target_provider(spec, t.context); }));
  return t;
}

py::array_t<double> target_row(const PyTargets& t, const std::string& term) {
  const LabelIndex l = t.provider->label_of(normalize_term_id(term));
  if (l < 0)
    throw Error(Status::not_found(term + " is not a node of the " + t.provider->describe() +
                                  " graph (absent, obsolete, or without edges): see `sccello ontology show " + term + "`"));
  std::vector<double> row = take(without_gil([&] { return t.provider->raw_row_f64(l); }));
  const auto n = static_cast<py::ssize_t>(row.size());
  return to_numpy(std::move(row), {n});
}

py::object target_matrix_of(const PyTargets& t, const py::object& terms, bool raw) {
  PyTargets bound = terms.is_none() ? t
      : bind_targets(t.store, t.spec, terms.cast<std::vector<std::string>>(), t.context.release, t.context.threads,
                     t.context.use_cache);
  const TargetProvider& p = *bound.provider;
  std::vector<double> values = take(without_gil([&] { return target_matrix(p, raw); }));
  const auto n = static_cast<py::ssize_t>(p.label_space().size());
  py::array_t<double> out = to_numpy(std::move(values), {n, n});
  return raw ? py::object(out) : py::object(out.attr("astype")("int32"));
}

void bind_targets(py::module_& m) {
  py::class_<PyTargets>(m, "Targets", "A bound target provider (plugins/): levels and raw similarity rows")
      .def_property_readonly("describe", [](const PyTargets& t) { return t.provider->describe(); })
      .def_property_readonly("labels", [](const PyTargets& t) { return t.provider->label_space(); })
      .def("row", &target_row, py::arg("term"), "raw similarity of `term` to every label (numpy float64)")
      .def("matrix", &target_matrix_of, py::arg("terms") = py::none(), py::arg("raw") = false,
           "n x n levels (int32) or raw values (float64) over `terms` (default: the labels)")
      .def("similar", [](const PyTargets& t, const std::string& term, int top) {
             auto terms = take(without_gil([&] { return most_similar_terms(*t.provider, normalize_term_id(term), top); }));
             py::list id, name, raw, level, ancestor;
             for (const auto& s : terms) id.append(s.term_id), name.append(s.name), raw.append(s.raw), level.append(s.level), ancestor.append(s.ancestor);
             return data_frame({{"term_id", id}, {"name", name}, {"raw", raw}, {"level", level}, {"ancestor", ancestor}});
           }, py::arg("term"), py::arg("top") = 10);
}

// ---- Index ----

PyIndex open_index(const SharedStore& store, const std::string& name, const std::string& release,
                   const std::string& target, int threads) {
  PyIndex i;
  i.store = store;
  i.index = take(without_gil([&] { return CellIndex::open(*store, name); }));
  SearchOptions so;
  so.release = release;
  so.target = target;
  so.threads = threads;
  i.search = take(without_gil([&] { return CellSearch::open(*store, *i.index, so); }));
  return i;
}

void bind_index(py::module_& m) {
  py::class_<PyIndex, std::shared_ptr<PyIndex>>(m, "Index", "A reference cell index with its ontology-aware search")
      .def_property_readonly("name", [](const PyIndex& i) { return i.index->info().name; })
      .def_property_readonly("checkpoint", [](const PyIndex& i) { return i.index->info().model.checkpoint; })
      .def_property_readonly("model_id", [](const PyIndex& i) { return i.index->info().model.id; })
      .def_property_readonly("dims", [](const PyIndex& i) { return i.index->info().model.dims; })
      .def_property_readonly("release", [](const PyIndex& i) { return i.search->release_name(); })
      .def("__len__", [](const PyIndex& i) { return i.index->info().rows; });
}

// ---- Store ----

std::string optional_text(const py::object& o) { return o.is_none() ? "" : o.cast<std::string>(); }

void bind_store_class(py::module_& m) {
  py::class_<PyStore>(m, "Store", "An opened sccello store (RocksDB directory or SQLite file)")
      .def(py::init([](const std::string& path, const std::string& backend, bool writable) {
             return PyStore{open_store(path, backend, writable)}; }),
           py::arg("path"), py::arg("backend") = "auto", py::arg("writable") = false)
      .def_property_readonly("path", [](const PyStore& p) { return p.s->path(); })
      .def_property_readonly("writable", [](const PyStore& p) { return !p.s->read_only(); })
      .def("releases", [](const PyStore& p) {
             std::vector<std::string> names;
             for (const ReleaseInfo& i : take(ReleaseStore(*p.s).list())) names.push_back(i.name);
             return names; }, "release names, oldest import first")
      .def("ontology", [](const PyStore& p, const py::object& release, const std::string& relations,
                          const std::string& prefix) {
             return open_ontology(p.s, optional_text(release), relations, prefix); },
           py::arg("release") = py::none(), py::arg("relations") = "is_a", py::arg("prefix") = "CL:")
      .def("targets", [](const PyStore& p, const std::string& spec, const std::vector<std::string>& terms,
                         const py::object& release, int threads, bool use_cache) {
             return bind_targets(p.s, spec, terms, optional_text(release), threads, use_cache); },
           py::arg("spec") = "ppr", py::arg("terms") = std::vector<std::string>{}, py::arg("release") = py::none(),
           py::arg("threads") = 0, py::arg("use_cache") = true)
      .def("indexes", [](const PyStore& p) {
             std::vector<std::string> names;
             for (const IndexInfo& i : take(list_indexes(*p.s))) names.push_back(i.name);
             return names; })
      .def("index", [](const PyStore& p, const std::string& name, const py::object& release, const std::string& target,
                       int threads) {
             return std::make_shared<PyIndex>(open_index(p.s, name, optional_text(release), target, threads)); },
           py::arg("name"), py::arg("release") = py::none(), py::arg("target") = "ppr", py::arg("threads") = 1);
}

}  // namespace

QueryFilters query_filters(const py::dict& kw) {
  QueryFilters f;
  auto list = [&](const char* key) {
    if (!kw.contains(key) || kw[key].is_none()) return std::vector<std::string>{};
    if (py::isinstance<py::str>(kw[key])) return std::vector<std::string>{kw[key].cast<std::string>()};
    return kw[key].cast<std::vector<std::string>>();
  };
  f.under = list("under"), f.not_under = list("not_under"), f.datasets = list("datasets");
  f.donors = list("donors"), f.tissues = list("tissues");
  return f;
}

py::object results_frame(const std::vector<QueryResult>& results) {
  py::list query, rank, dataset, cell_id, similarity, term_id, name, donor, tissue, relation, lca_id, distance, level;
  for (const QueryResult& r : results)
    for (const QueryHit& h : r.hits) {
      query.append(r.query), rank.append(h.rank), dataset.append(h.cell.dataset), cell_id.append(h.cell.cell_id);
      similarity.append(h.similarity), term_id.append(h.term_id), name.append(h.term_name), donor.append(h.cell.donor);
      tissue.append(h.cell.tissue), relation.append(h.relation), lca_id.append(h.lca_id), distance.append(h.distance);
      level.append(h.level);
    }
  return data_frame({{"query", query}, {"rank", rank}, {"dataset", dataset}, {"cell_id", cell_id},
                     {"similarity", similarity}, {"term_id", term_id}, {"name", name}, {"donor", donor},
                     {"tissue", tissue}, {"relation", relation}, {"lca_id", lca_id}, {"distance", distance},
                     {"level", level}});
}

void bind_store(py::module_& m) {
  bind_ontology(m);
  bind_targets(m);
  bind_index(m);
  bind_store_class(m);
}

}  // namespace sccello::python
