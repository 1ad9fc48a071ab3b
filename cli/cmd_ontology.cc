// `sccello ontology ...`: import, list, show, search here; graph queries, diff and migrate in
// cmd_ontology_query.cc.
#include <algorithm>
#include <ctime>
#include <iostream>

#include "cli/ontology_cli.h"
#include "graph/term_lookup.h"
#include "store/store.h"

namespace sccello {

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

int print(const CliContext& ctx, const Table& table) {
  print_table(table, ctx.format(), std::cout);
  return 0;
}

Result<OntologyRelease> load_release(const CliContext& ctx, const std::string& name) {
  SCCELLO_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, ctx.open_store(false));
  return ReleaseStore(*store).load(name);
}

Result<LoadedRelease> load_release_graph(const CliContext& ctx, const std::string& name,
                                         const std::string& relations, const std::string& prefix) {
  LoadedRelease loaded;
  SCCELLO_ASSIGN_OR_RETURN(loaded.release, load_release(ctx, name));
  GraphOptions options;
  options.relations = parse_relations(relations);
  options.prefix = prefix;
  SCCELLO_ASSIGN_OR_RETURN(OntologyGraph graph, OntologyGraph::build(loaded.release, options));
  loaded.graph = std::make_unique<OntologyGraph>(std::move(graph));
  return loaded;
}

Result<TermIndex> find_graph_term(const LoadedRelease& loaded, const std::string& raw) {
  return sccello::find_graph_term(loaded.release, *loaded.graph, raw);
}

namespace {

std::string iso_time(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

int run_import(const CliContext& ctx, const std::string& file, bool replace) {
  ImportOptions options;
  options.release_name = ctx.release;
  options.replace = replace;
  Result<OntologyRelease> release = read_ontology_file(file, options);
  if (!release.is_ok()) return report_error(release.status());
  Result<std::unique_ptr<Store>> store = ctx.open_store(true);
  if (!store.is_ok()) return report_error(store.status());
  Result<ImportOutcome> out = ReleaseStore(**store).put(std::move(release).value(), options);
  if (!out.is_ok()) return report_error(out.status());
  for (const auto& w : out->warnings) std::cerr << "sccello: warning: " << w << "\n";
  const ReleaseInfo& i = out->info;
  Table t{{"release", "status", "source_file", "terms", "obsolete", "edges", "content_hash"}, {}};
  t.add_row({i.name, out->unchanged ? "unchanged" : "imported", i.source_file, std::to_string(i.num_terms),
             std::to_string(i.num_obsolete), std::to_string(i.num_edges), i.content_hash});
  return print(ctx, t);
}

int run_list(const CliContext& ctx) {
  Result<std::unique_ptr<Store>> store = ctx.open_store(false);
  if (!store.is_ok()) return report_error(store.status());
  Result<std::vector<ReleaseInfo>> list = ReleaseStore(**store).list();
  if (!list.is_ok()) return report_error(list.status());
  Table t{{"release", "source_file", "format", "terms", "obsolete", "edges", "content_hash", "imported_at"}, {}};
  for (const ReleaseInfo& i : *list) {
    t.add_row({i.name, i.source_file, i.source_format, std::to_string(i.num_terms), std::to_string(i.num_obsolete),
               std::to_string(i.num_edges), i.content_hash.substr(0, 16), iso_time(i.imported_at)});
  }
  return print(ctx, t);
}

int run_show(const CliContext& ctx, const std::string& raw) {
  Result<OntologyRelease> release = load_release(ctx, ctx.release);
  if (!release.is_ok()) return report_error(release.status());
  std::string id = normalize_term_id(raw);
  const Term* term = find_release_term(*release, id);
  if (!term) return report_error(Status::not_found("unknown term '" + raw + "' in release " + release->info.name));
  std::vector<std::string> parents = term_parent_edges(*release, id), synonyms;
  for (const Synonym& s : term->synonyms) synonyms.push_back(s.scope.empty() ? s.text : s.text + " (" + s.scope + ")");
  Table t{{"term_id", "name", "release", "obsolete", "replaced_by", "consider", "parents", "synonyms", "definition"}, {}};
  t.add_row({term->id, term->name, release->info.name, term->obsolete ? "true" : "false", join(term->replaced_by, "; "),
             join(term->consider, "; "), join(parents, "; "), join(synonyms, "; "), term->definition});
  return print(ctx, t);
}

int run_search(const CliContext& ctx, const std::string& text, bool include_obsolete) {
  Result<OntologyRelease> release = load_release(ctx, ctx.release);
  if (!release.is_ok()) return report_error(release.status());
  Table t{{"term_id", "name", "matched", "obsolete"}, {}};
  for (const TermMatch& h : search_terms(*release, text, include_obsolete))
    t.add_row({h.term->id, h.term->name, h.matched, h.term->obsolete ? "true" : "false"});
  return print(ctx, t);
}

}  // namespace

void add_ontology_commands(CLI::App& app, CliContext& ctx) {
  CLI::App* group = app.add_subcommand("ontology", "ontology releases: import, browse, query, diff, migrate");
  group->require_subcommand(1);

  auto* import = group->add_subcommand("import", "import an OBO or cellxgene JSON(.gz) release (name: --release)");
  auto file = std::make_shared<std::string>();
  auto replace = std::make_shared<bool>(false);
  import->add_option("FILE", *file, "cl-basic.obo, CL-ontology-vDATE.json.gz, ...")->required();
  import->add_flag("--replace", *replace, "overwrite a release of that name holding different content");
  import->callback([&ctx, file, replace] { ctx.action = [&ctx, file, replace] { return run_import(ctx, *file, *replace); }; });

  auto* list = group->add_subcommand("list", "list imported releases, oldest first");
  list->callback([&ctx] { ctx.action = [&ctx] { return run_list(ctx); }; });

  auto* show = group->add_subcommand("show", "show one term of a release (--release, default newest)");
  auto term = std::make_shared<std::string>();
  show->add_option("TERM", *term, "term id, e.g. CL:0000236")->required();
  show->callback([&ctx, term] { ctx.action = [&ctx, term] { return run_show(ctx, *term); }; });

  auto* search = group->add_subcommand("search", "find terms by name or synonym (case-insensitive substring)");
  auto text = std::make_shared<std::string>();
  auto obsolete = std::make_shared<bool>(false);
  search->add_option("TEXT", *text, "text to look for")->required();
  search->add_flag("--obsolete", *obsolete, "include obsolete terms");
  search->callback([&ctx, text, obsolete] { ctx.action = [&ctx, text, obsolete] { return run_search(ctx, *text, *obsolete); }; });

  add_ontology_query_commands(group, ctx);
}

}  // namespace sccello
