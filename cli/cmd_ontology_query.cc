// `sccello ontology ancestors|descendants|lca|diff|migrate`: graph queries over one release,
// and the comparison of two releases.
#include <algorithm>
#include <memory>

#include "cli/ontology_cli.h"
#include "graph/release_diff.h"

namespace sccello {
namespace {

struct GraphArgs {
  std::vector<std::string> terms;
  std::string relations = "is_a";
  std::string prefix = "CL:";
  bool include_self = false;
};

void add_graph_options(CLI::App* cmd, GraphArgs* args) {
  cmd->add_option("--relations", args->relations, "edges: is_a | is_a+part_of | is_a,develops_from,...")
      ->capture_default_str();
  cmd->add_option("--prefix", args->prefix, "only terms with this id prefix (\"\" = all)")->capture_default_str();
}

// Rows term_id, name, depth for `terms`, sorted by depth then id.
Table term_table(const OntologyGraph& g, std::vector<TermIndex> terms) {
  std::sort(terms.begin(), terms.end(), [&](TermIndex a, TermIndex b) {
    return g.depth(a) != g.depth(b) ? g.depth(a) < g.depth(b) : g.id_of(a) < g.id_of(b);
  });
  Table t{{"term_id", "name", "depth"}, {}};
  for (TermIndex x : terms) t.add_row({g.id_of(x), g.term(x).name, std::to_string(g.depth(x))});
  return t;
}

int run_closure(const CliContext& ctx, const GraphArgs& args, bool up) {
  Result<LoadedRelease> loaded = load_release_graph(ctx, ctx.release, args.relations, args.prefix);
  if (!loaded.is_ok()) return report_error(loaded.status());
  Result<TermIndex> t = find_graph_term(*loaded, args.terms.at(0));
  if (!t.is_ok()) return report_error(t.status());
  const OntologyGraph& g = *loaded->graph;
  return print(ctx, term_table(g, up ? g.ancestors(*t, args.include_self) : g.descendants(*t, args.include_self)));
}

int run_lca(const CliContext& ctx, const GraphArgs& args) {
  Result<LoadedRelease> loaded = load_release_graph(ctx, ctx.release, args.relations, args.prefix);
  if (!loaded.is_ok()) return report_error(loaded.status());
  std::vector<TermIndex> terms;
  for (const std::string& id : args.terms) {
    Result<TermIndex> t = find_graph_term(*loaded, id);
    if (!t.is_ok()) return report_error(t.status());
    terms.push_back(*t);
  }
  return print(ctx, term_table(*loaded->graph, loaded->graph->lca(terms)));
}

const std::string& name_in(const OntologyRelease& r, const TermId& id) {
  static const std::string kNone;
  const Term* t = find_release_term(r, id);
  return t ? t->name : kNone;
}

Table diff_table(const ReleaseDiff& d, const OntologyRelease& a, const OntologyRelease& b) {
  Table t{{"change", "term_id", "name", "detail"}, {}};
  for (const auto& id : d.added) t.add_row({"added", id, name_in(b, id), ""});
  for (const auto& o : d.newly_obsolete) {
    std::string detail = o.replaced_by.empty() ? "no replacement" : "replaced_by " + join(o.replaced_by, ", ");
    if (!o.consider.empty()) detail += "; consider " + join(o.consider, ", ");
    t.add_row({"obsolete", o.id, o.name, detail});
  }
  for (const auto& r : d.renamed) t.add_row({"renamed", r.id, r.new_name, "was: " + r.old_name});
  for (const auto& p : d.parents_changed) {
    std::string detail;
    if (!p.removed_parents.empty()) detail += "-" + join(p.removed_parents, " -");
    if (!p.added_parents.empty()) detail += (detail.empty() ? "+" : " +") + join(p.added_parents, " +");
    t.add_row({"parents", p.id, p.name, detail});
  }
  for (const auto& id : d.removed) t.add_row({"removed", id, name_in(a, id), ""});
  return t;
}

Table diff_summary(const ReleaseDiff& d) {
  size_t replaced = std::count_if(d.newly_obsolete.begin(), d.newly_obsolete.end(),
                                  [](const ObsoletedTerm& o) { return !o.replaced_by.empty(); });
  Table t{{"change", "count"}, {}};
  t.add_row({"added", std::to_string(d.added.size())});
  t.add_row({"obsolete", std::to_string(d.newly_obsolete.size())});
  t.add_row({"obsolete_with_replacement", std::to_string(replaced)});
  t.add_row({"renamed", std::to_string(d.renamed.size())});
  t.add_row({"parents", std::to_string(d.parents_changed.size())});
  t.add_row({"removed", std::to_string(d.removed.size())});
  return t;
}

struct DiffArgs {
  std::string a, b, prefix;
  std::string relations = "is_a";
  bool summary = false;
};

int run_diff(const CliContext& ctx, const DiffArgs& args) {
  Result<OntologyRelease> a = load_release(ctx, args.a);
  if (!a.is_ok()) return report_error(a.status());
  Result<OntologyRelease> b = load_release(ctx, args.b);
  if (!b.is_ok()) return report_error(b.status());
  DiffOptions options;
  options.prefix = args.prefix;
  options.relations = parse_relations(args.relations);
  ReleaseDiff d = diff_releases(*a, *b, options);
  return print(ctx, args.summary ? diff_summary(d) : diff_table(d, *a, *b));
}

struct MigrateArgs {
  std::vector<std::string> terms;
  std::string from, to;
};

int run_migrate(const CliContext& ctx, const MigrateArgs& args) {
  Result<OntologyRelease> from = load_release(ctx, args.from);
  if (!from.is_ok()) return report_error(from.status());
  Result<OntologyRelease> to = load_release(ctx, args.to.empty() ? ctx.release : args.to);
  if (!to.is_ok()) return report_error(to.status());
  TermMigrator source(*from), target(*to);
  Table t{{"term_id", "name", "status", "to_term_id", "to_name", "consider"}, {}};
  for (const std::string& raw : args.terms) {
    std::string id = normalize_term_id(raw);
    const Term* known = source.find(id);
    if (!known) return report_error(Status::not_found("unknown term '" + raw + "' in release " + from->info.name));
    TermMigration m = target.migrate(id, source);
    t.add_row({id, known->name, migration_kind_name(m.kind), m.to, m.to.empty() ? "" : name_in(*to, m.to),
               join(m.consider, "; ")});
  }
  return print(ctx, t);
}

}  // namespace

void add_ontology_query_commands(CLI::App* group, CliContext& ctx) {
  for (bool up : {true, false}) {
    auto args = std::make_shared<GraphArgs>();
    auto* cmd = group->add_subcommand(up ? "ancestors" : "descendants",
                                      up ? "ancestors of a term (--release)" : "descendants of a term (--release)");
    cmd->add_option("TERM", args->terms, "term id")->required()->expected(1);
    cmd->add_flag("--self", args->include_self, "include the term itself");
    add_graph_options(cmd, args.get());
    cmd->callback([&ctx, args, up] { ctx.action = [&ctx, args, up] { return run_closure(ctx, *args, up); }; });
  }
  auto lca = std::make_shared<GraphArgs>();
  auto* lca_cmd = group->add_subcommand("lca", "most specific common ancestors of terms (--release)");
  lca_cmd->add_option("TERMS", lca->terms, "two or more term ids")->required()->expected(1, 1 << 20);
  add_graph_options(lca_cmd, lca.get());
  lca_cmd->callback([&ctx, lca] { ctx.action = [&ctx, lca] { return run_lca(ctx, *lca); }; });

  auto diff = std::make_shared<DiffArgs>();
  auto* diff_cmd = group->add_subcommand("diff", "what changed from release A to release B");
  diff_cmd->add_option("A", diff->a, "older release")->required();
  diff_cmd->add_option("B", diff->b, "newer release")->required();
  diff_cmd->add_flag("--summary", diff->summary, "counts per kind of change only");
  diff_cmd->add_option("--prefix", diff->prefix, "only terms with this id prefix (default: all)");
  diff_cmd->add_option("--relations", diff->relations, "relations compared for parent changes")->capture_default_str();
  diff_cmd->callback([&ctx, diff] { ctx.action = [&ctx, diff] { return run_diff(ctx, *diff); }; });

  auto mig = std::make_shared<MigrateArgs>();
  auto* mig_cmd = group->add_subcommand("migrate", "map terms of release A onto release B");
  mig_cmd->add_option("TERMS", mig->terms, "term ids of release A")->required()->expected(1, 1 << 20);
  mig_cmd->add_option("--from", mig->from, "release A")->required();
  mig_cmd->add_option("--to", mig->to, "release B (default: --release, else newest)");
  mig_cmd->callback([&ctx, mig] { ctx.action = [&ctx, mig] { return run_migrate(ctx, *mig); }; });
}

}  // namespace sccello
