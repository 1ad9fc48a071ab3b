// `sccello targets ...`: list providers; show one pair; the most similar terms of one term; a
// level or raw matrix over a term set. Thin layer over plugins/ (make_target_provider).
#include <chrono>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>

#include <nlohmann/json.hpp>

#include "cli/cli_context.h"
#include "cli/table.h"
#include "plugins/row_provider.h"
#include "plugins/target_queries.h"
#include "plugins/target_registry.h"
#include "store/formats/npy.h"
#include "store/release_store.h"
#include "store/safe_text.h"

namespace sccello {

namespace {

struct TargetArgs {
  std::string spec = "ppr";
  std::vector<std::string> plugins;
  bool no_cache = false;
};

void add_target_args(CLI::App* cmd, TargetArgs* args) {
  cmd->add_option("--target", args->spec, "provider spec name:key=value,... (see `targets list`)")
      ->capture_default_str();
  cmd->add_option("--plugin", args->plugins, "load an external target provider library (repeatable)");
  cmd->add_flag("--no-cache", args->no_cache, "neither read nor write the store's target cache");
}

Status load_plugins(const TargetArgs& args) {
  for (const auto& path : args.plugins) {
    auto info = load_target_plugin(path);
    if (!info) return info.status();
  }
  return Status::ok();
}

// Writable when possible (to fill the cache); read-only when another process holds the lock.
Result<std::unique_ptr<Store>> open_target_store(const CliContext& ctx) {
  if (!std::filesystem::exists(ctx.store_path)) {
    return Status::not_found("no store at " + ctx.store_path +
                             ": import a release first (`sccello ontology import FILE --store PATH`)");
  }
  return ctx.open_store_for_cache();
}

struct Bound {
  std::unique_ptr<Store> store;
  std::unique_ptr<TargetProvider> provider;
};

Result<Bound> bind(const CliContext& ctx, const TargetArgs& args, std::vector<TermId> labels) {
  SCCELLO_RETURN_IF_ERROR(load_plugins(args));
  Bound b;
  SCCELLO_ASSIGN_OR_RETURN(b.store, open_target_store(ctx));
  TargetContext tc;
  tc.store = b.store.get();
  tc.release = ctx.release;
  tc.label_space = std::move(labels);
  tc.threads = ctx.threads;
  tc.use_cache = !args.no_cache;
  SCCELLO_ASSIGN_OR_RETURN(b.provider, make_target_provider(args.spec, tc));
  return b;
}

std::string fmt(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

int run_list(const CliContext& ctx, const TargetArgs& args) {
  if (Status s = load_plugins(args); !s) return report_error(s);
  Table t{{"name", "version", "params", "origin", "description"}, {}};
  for (const ProviderInfo& info : list_target_providers()) {
    std::string params;
    for (const auto& p : info.params) params += (params.empty() ? "" : ",") + p.name + "=" + p.default_value;
    t.add_row({info.name, info.version, params, info.origin, info.description});
  }
  print_table(t, ctx.format(), std::cout);
  return 0;
}

int run_show(const CliContext& ctx, const TargetArgs& args, const std::string& a, const std::string& b) {
  auto bound = bind(ctx, args, {a, b});
  if (!bound) return report_error(bound.status());
  const TargetProvider& p = *bound->provider;
  auto pair = pair_target(p);
  if (!pair) return report_error(pair.status());
  Table t{{"term_a", "name_a", "term_b", "name_b", "raw", "level", "ancestor", "target"}, {}};
  t.add_row({a, provider_term_name(p, 0), b, provider_term_name(p, 1), fmt(pair->raw), std::to_string(pair->level),
             std::to_string(pair->ancestor ? 1 : 0), p.describe()});
  print_table(t, ctx.format(), std::cout);
  return 0;
}

int run_row(const CliContext& ctx, const TargetArgs& args, const std::string& term, int top) {
  auto bound = bind(ctx, args, {});
  if (!bound) return report_error(bound.status());
  auto similar = most_similar_terms(*bound->provider, term, top);
  if (!similar) return report_error(similar.status());
  Table t{{"rank", "term_id", "name", "raw", "level", "ancestor"}, {}};
  for (size_t i = 0; i < similar->size(); ++i) {
    const SimilarTerm& s = (*similar)[i];
    t.add_row({std::to_string(i + 1), s.term_id, s.name, fmt(s.raw), std::to_string(s.level),
               std::to_string(s.ancestor ? 1 : 0)});
  }
  print_table(t, ctx.format(), std::cout);
  return 0;
}

Result<std::vector<TermId>> read_terms_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::io_error("cannot read --terms file " + path);
  std::vector<TermId> terms;
  std::string line;
  while (std::getline(in, line)) {
    const size_t end = line.find_first_of("\t ,\r");
    std::string id = line.substr(0, end);
    if (id.empty() || id[0] == '#' || id == "term_id") continue;
    terms.push_back(id);
  }
  if (terms.empty()) return Status::invalid("--terms file " + path + " holds no term ids (one per line)");
  return terms;
}

struct MatrixArgs {
  std::string terms_file;
  bool all = false;
  bool raw = false;
  bool timing = false;
  std::string out;  // FILE.npy: binary matrix + FILE.terms.tsv (the row/column order)
};

Status check_npy_path(const std::string& path) {
  if (path.size() < 4 || path.substr(path.size() - 4) != ".npy")
    return Status::invalid("--out must end in .npy: " + path);
  return Status::ok();
}

// --out FILE.npy with levels: uint8.
Status write_levels_npy(const std::string& path, const TargetProvider& p, const std::vector<double>& values) {
  const int64_t n = static_cast<int64_t>(p.label_space().size());
  std::vector<uint8_t> levels(values.size());
  for (size_t i = 0; i < values.size(); ++i) levels[i] = static_cast<uint8_t>(std::min(255.0, values[i]));
  return write_npy(path, levels, n, n);
}

// FILE.terms.tsv beside FILE.npy: the row/column order with term names.
Status write_term_order(const std::string& path, const TargetProvider& p, Store* store,
                        const std::string& release_name) {
  const int64_t n = static_cast<int64_t>(p.label_space().size());
  std::vector<std::string> names(n);
  bool all_named = true;
  for (int64_t i = 0; i < n; ++i) all_named &= !(names[i] = provider_term_name(p, static_cast<LabelIndex>(i))).empty();
  if (!all_named && store) {  // a provider without the release's graph (a plugin): names from the store
    ReleaseStore releases(*store);
    if (auto name = releases.resolve(release_name))
      if (auto release = releases.load(*name)) {
        std::map<std::string, std::string> by_id;
        for (const Term& t : release->terms) by_id[t.id] = t.name;
        for (int64_t i = 0; i < n; ++i)
          if (names[i].empty()) names[i] = by_id[p.label_space()[i]];
      }
  }
  const std::string terms = path.substr(0, path.size() - 4) + ".terms.tsv";
  std::ofstream out(terms);
  out << "index\tterm_id\tname\n";
  for (int64_t i = 0; i < n; ++i)
    out << i << '\t' << tsv_escape(p.label_space()[i]) << '\t' << tsv_escape(names[i]) << '\n';
  if (!out.flush()) return Status::io_error("cannot write " + terms);
  return Status::ok();
}

// Writes the matrix as TSV (also for text output) or JSON.
void print_matrix(const CliContext& ctx, const std::vector<TermId>& ids, const std::vector<double>& values) {
  const size_t n = ids.size();
  if (ctx.format() == OutputFormat::kJson) {
    nlohmann::json j;
    j["terms"] = ids;
    std::vector<std::vector<double>> rows(n);
    for (size_t i = 0; i < n; ++i) rows[i].assign(values.begin() + i * n, values.begin() + (i + 1) * n);
    j["matrix"] = rows;
    std::cout << json_dump(j) << '\n';
    return;
  }
  std::string out = "term_id";
  for (const auto& id : ids) out += "\t" + tsv_escape(id);
  out += '\n';
  char buf[32];
  for (size_t i = 0; i < n; ++i) {
    out += tsv_escape(ids[i]);
    for (size_t j = 0; j < n; ++j) {
      out += '\t';
      out.append(buf, std::to_chars(buf, buf + sizeof(buf), values[i * n + j]).ptr);
    }
    out += '\n';
    if (out.size() > (1u << 20)) { std::cout << out; out.clear(); }
  }
  std::cout << out;
}


void print_timing(const CliContext& ctx, const TargetProvider& p, double ms) {
  const auto* rows = dynamic_cast<const RowTargetProvider*>(&p);
  TargetProviderStats st = rows ? rows->stats() : TargetProviderStats{};
  std::cerr << "targets: " << p.label_space().size() << " rows in " << fmt(ms) << " ms (computed " << st.rows_computed
            << " in " << fmt(st.kernel_ms) << " ms kernel + " << fmt(st.rows_ms) << " ms levels, loaded "
            << st.rows_loaded << " rows + " << st.level_rows_loaded << " level rows from cache, stale "
            << st.stale_entries << ", threads " << ctx.threads << ")\n";
}

int run_matrix(const CliContext& ctx, const TargetArgs& args, const MatrixArgs& m) {
  if (m.all == !m.terms_file.empty()) return report_error(Status::invalid("targets matrix: give exactly one of --terms FILE or --all"));
  std::vector<TermId> labels;
  if (!m.all) {
    auto terms = read_terms_file(m.terms_file);
    if (!terms) return report_error(terms.status());
    labels = std::move(*terms);
  }
  // A matrix written to a file is computed, not cached: the all-pairs kernel (~150 ms for CL)
  // is faster than writing, and later reading, ~55 MB of rows through the store.
  TargetArgs effective = args;
  if (!m.out.empty()) effective.no_cache = true;
  const TargetArgs& chosen = effective;
  auto bound = bind(ctx, chosen, labels);
  if (!bound) return report_error(bound.status());
  const TargetProvider& p = *bound->provider;
  if (!m.out.empty()) {
    if (Status s = check_npy_path(m.out); !s) return report_error(s);
  }
  auto start = std::chrono::steady_clock::now();
  // --raw --out: computed straight into the file's matrix. Other raw matrices: raw_matrix (one
  // kernel batch). Levels come from levels(), which batches the missing rows itself and reads
  // only level rows from the cache.
  std::vector<double> values;
  if (m.raw && !m.out.empty()) {
    if (Status s = write_raw_matrix_npy(p, m.out); !s) return report_error(s);
  } else {
    auto computed = target_matrix(p, m.raw);
    if (!computed) return report_error(computed.status());
    values = std::move(*computed);
  }
  if (m.timing) print_timing(ctx, p, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  if (m.out.empty()) {
    print_matrix(ctx, p.label_space(), values);
    return 0;
  }
  if (!m.raw) {
    if (Status s = write_levels_npy(m.out, p, values); !s) return report_error(s);
  }
  if (Status s = write_term_order(m.out, p, bound->store.get(), ctx.release); !s) return report_error(s);
  std::fprintf(stderr, "wrote %zu x %zu %s matrix to %s (term order: .terms.tsv beside it)\n", p.label_space().size(),
               p.label_space().size(), m.raw ? "float64" : "uint8 level", m.out.c_str());
  return 0;
}

}  // namespace

void add_targets_commands(CLI::App& app, CliContext& ctx) {
  CLI::App* group = app.add_subcommand("targets", "graph-derived training targets: providers, pairs, rows, matrices");
  group->require_subcommand(1);

  auto args_list = std::make_shared<TargetArgs>();
  auto* list = group->add_subcommand("list", "list target providers with their parameters and defaults");
  list->add_option("--plugin", args_list->plugins, "load an external target provider library (repeatable)");
  list->callback([&ctx, args_list] { ctx.action = [&ctx, args_list] { return run_list(ctx, *args_list); }; });

  auto args_show = std::make_shared<TargetArgs>();
  auto pair = std::make_shared<std::vector<std::string>>();
  auto* show = group->add_subcommand("show", "raw value, level and ancestor flag of one pair (T2 seen from T1)");
  add_target_args(show, args_show.get());
  show->add_option("TERMS", *pair, "two term ids T1 T2")->required()->expected(2);
  show->callback([&ctx, args_show, pair] {
    ctx.action = [&ctx, args_show, pair] { return run_show(ctx, *args_show, (*pair)[0], (*pair)[1]); };
  });

  auto args_row = std::make_shared<TargetArgs>();
  auto term = std::make_shared<std::string>();
  auto top = std::make_shared<int>(10);
  auto* row = group->add_subcommand("row", "the terms most similar to TERM, with names");
  add_target_args(row, args_row.get());
  row->add_option("TERM", *term, "term id")->required();
  row->add_option("--top", *top, "how many")->capture_default_str();
  row->callback([&ctx, args_row, term, top] {
    ctx.action = [&ctx, args_row, term, top] { return run_row(ctx, *args_row, *term, *top); };
  });

  auto args_matrix = std::make_shared<TargetArgs>();
  auto margs = std::make_shared<MatrixArgs>();
  auto* matrix = group->add_subcommand("matrix", "level (or --raw) matrix over --terms FILE or --all graph nodes");
  add_target_args(matrix, args_matrix.get());
  matrix->add_option("--terms", margs->terms_file, "file with one term id per line");
  matrix->add_flag("--all", margs->all, "every node of the provider's graph, in release order");
  matrix->add_flag("--raw", margs->raw, "raw similarity values instead of levels");
  matrix->add_option("--out", margs->out, "write a NumPy .npy (raw: float64, levels: uint8) + .terms.tsv instead");
  matrix->add_flag("--timing", margs->timing, "report the time to compute or load the rows on stderr");
  matrix->callback([&ctx, args_matrix, margs] {
    ctx.action = [&ctx, args_matrix, margs] { return run_matrix(ctx, *args_matrix, *margs); };
  });
}

}  // namespace sccello
