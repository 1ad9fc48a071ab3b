// `sccello cells ...`: import count matrices into the corpus, list and inspect datasets, find
// cells by CL term (with descendants through a release), print tokens. Thin over store/.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "cli/cli_context.h"
#include "cli/progress.h"
#include "cli/table.h"
#include "graph/ontology_graph.h"
#include "graph/release_diff.h"
#include "store/cells/vocab_image.h"
#include "store/corpus.h"
#include "store/release_store.h"
#include "store/safe_text.h"
#include "store/store.h"

namespace sccello {

Result<GeneVocab> load_vocab(const std::string& dir) {
  std::string d = dir;
  if (d.empty()) {
    SCCELLO_ASSIGN_OR_RETURN(d, GeneVocab::locate(""));
  }
  return GeneVocab::load_cached(d, user_cache_dir());
}

namespace {
int run_list(CliContext& ctx) {
  auto store = ctx.open_store(false);
  if (!store) return report_error(store.status());
  auto list = Corpus(**store).datasets();
  if (!list) return report_error(list.status());
  Table t{{"dataset", "cells", "genes_mapped", "genes_in_file", "tokens", "unmapped_cells", "source"}, {}};
  for (auto& d : *list)
    t.add_row({d.name, std::to_string(d.num_cells), std::to_string(d.num_genes_mapped),
               std::to_string(d.num_genes_in_file), std::to_string(d.num_tokens), std::to_string(d.num_unmapped_cells),
               d.source_file});
  print_table(t, ctx.format(), std::cout);
  return 0;
}

// Length distribution: quantiles of the token counts.
std::string length_summary(std::vector<int32_t> lengths) {
  if (lengths.empty()) return "(no cells)";
  std::sort(lengths.begin(), lengths.end());
  auto q = [&](double p) { return lengths[static_cast<size_t>(p * (lengths.size() - 1))]; };
  double mean = 0;
  for (int32_t l : lengths) mean += l;
  mean /= lengths.size();
  char buf[200];
  std::snprintf(buf, sizeof buf, "min %d  p10 %d  p50 %d  p90 %d  max %d  mean %.1f", q(0), q(0.1), q(0.5), q(0.9),
                q(1.0), mean);
  return buf;
}

int run_stats(CliContext& ctx, const std::string& name) {
  auto store = ctx.open_store(false);
  if (!store) return report_error(store.status());
  Corpus corpus(**store);
  auto info = corpus.dataset(name);
  if (!info) return report_error(info.status());
  auto rows = corpus.summaries(name);
  if (!rows) return report_error(rows.status());
  std::map<std::pair<std::string, std::string>, int64_t> per_term;
  std::vector<int32_t> lengths;
  for (auto& s : *rows) {
    ++per_term[{s.term_id, s.label}];
    lengths.push_back(s.length);
  }
  if (ctx.format() == OutputFormat::kText) {
    auto bytes = corpus.stored_bytes(name);
    std::cout << "dataset " << info->name << " (" << info->source_file << ")\n"
              << "cells " << info->num_cells << ", genes mapped " << info->num_genes_mapped << " of "
              << info->num_genes_in_file << ", tokens " << info->num_tokens << ", unmapped cells "
              << info->num_unmapped_cells << "\n"
              << "length " << length_summary(lengths) << "\n";
    if (bytes && info->num_tokens)
      std::printf("stored %lld bytes = %.2f bytes per token\n", static_cast<long long>(*bytes),
                  static_cast<double>(*bytes) / info->num_tokens);
    std::cout << "cells per term:\n";
  }
  Table t{{"term_id", "label", "cells"}, {}};
  for (auto& [key, n] : per_term) t.add_row({key.first.empty() ? "(unmapped)" : key.first, key.second, std::to_string(n)});
  print_table(t, ctx.format(), std::cout);
  return 0;
}

struct ByTermArgs {
  std::string term;
  bool descendants = false;
};

int run_by_term(CliContext& ctx, const ByTermArgs& a) {
  auto store = ctx.open_store(false);
  if (!store) return report_error(store.status());
  std::unordered_set<std::string> wanted = {a.term};
  std::unique_ptr<OntologyRelease> rel;
  std::unique_ptr<TermMigrator> migrator;
  if (a.descendants || !ctx.release.empty()) {
    ReleaseStore releases(**store);
    auto name = releases.resolve(ctx.release);
    if (!name) return report_error(name.status().with_context("--descendants needs a CL release in the store"));
    auto loaded = releases.load(*name);
    if (!loaded) return report_error(loaded.status());
    rel = std::make_unique<OntologyRelease>(std::move(loaded).value());
    auto graph = OntologyGraph::build(*rel);
    if (!graph) return report_error(graph.status());
    auto t = graph->index_of(a.term);
    if (!t) return report_error(Status::not_found("term " + a.term + " is not a live term of release " + *name));
    if (a.descendants)
      for (TermIndex d : graph->descendants(*t)) wanted.insert(graph->id_of(d));
    migrator = std::make_unique<TermMigrator>(*rel);
  }
  Corpus corpus(**store);
  auto list = corpus.datasets();
  if (!list) return report_error(list.status());
  Table t{{"dataset", "index", "cell_id", "term_id", "label"}, {}};
  std::map<std::string, int64_t> per_term;
  for (auto& d : *list) {
    auto rows = corpus.summaries(d.name);
    if (!rows) return report_error(rows.status());
    for (size_t i = 0; i < rows->size(); ++i) {
      const CellSummary& s = (*rows)[i];
      std::string term = migrator && !s.term_id.empty() ? migrator->migrate(s.term_id).to : s.term_id;
      if (term.empty() || !wanted.count(term)) continue;
      ++per_term[term];
      t.add_row({d.name, std::to_string(i), s.cell_id, term, s.label});
    }
  }
  if (ctx.format() == OutputFormat::kText) {
    std::cout << t.rows.size() << " cells under " << a.term << (a.descendants ? " and its descendants" : "") << "\n";
    for (auto& [term, n] : per_term) std::cout << "  " << term << "\t" << n << "\n";
    return 0;
  }
  print_table(t, ctx.format(), std::cout);
  return 0;
}

int run_show(CliContext& ctx, const std::string& dataset, const std::string& cell, int top, const std::string& vocab_dir) {
  auto store = ctx.open_store(false);
  if (!store) return report_error(store.status());
  Corpus corpus(**store);
  auto index = corpus.find_cell(dataset, cell);
  if (!index) return report_error(index.status());
  auto rec = corpus.cell(dataset, *index);
  if (!rec) return report_error(rec.status());
  auto vocab = load_vocab(vocab_dir);
  if (!vocab) return report_error(vocab.status());
  if (ctx.format() == OutputFormat::kText)
    std::cout << "cell " << rec->cell_id << " (#" << *index << " of " << dataset << ")  term " << rec->term_id
              << "  label '" << rec->label << "'  donor '" << rec->donor << "'  tissue '" << rec->tissue
              << "'  assay '" << rec->assay << "'  tokens " << rec->tokens.size() << "\n";
  Table t{{"rank", "token", "gene_id", "symbol", "value"}, {}};
  for (size_t i = 1; i < rec->tokens.size() && static_cast<int>(i) <= top; ++i) {
    char v[32];
    std::snprintf(v, sizeof v, "%.4f", rec->values[i]);
    int32_t tok = rec->tokens[i];
    t.add_row({std::to_string(i), std::to_string(tok), vocab->gene_id(tok), vocab->symbol(tok), v});
  }
  print_table(t, ctx.format(), std::cout);
  return 0;
}

int run_tokens(CliContext& ctx, const std::string& dataset) {
  auto store = ctx.open_store(false);
  if (!store) return report_error(store.status());
  std::string out = "cell_id\tterm_id\ttokens\n";
  Status st = Corpus(**store).for_each(dataset, [&](int64_t, const CellRecord& c) {
    out += tsv_escape(c.cell_id);
    out += '\t';
    out += tsv_escape(c.term_id);
    out += '\t';
    for (size_t i = 0; i < c.tokens.size(); ++i) {
      if (i) out += ' ';
      out += std::to_string(c.tokens[i]);
    }
    out += '\n';
    if (out.size() > (1 << 20)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
    return true;
  });
  if (!st.is_ok()) return report_error(st);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int run_delete(CliContext& ctx, const std::string& dataset) {
  auto store = ctx.open_store(true);
  if (!store) return report_error(store.status());
  Status st = Corpus(**store).delete_dataset(dataset);
  if (!st.is_ok()) return report_error(st);
  std::cout << "deleted dataset '" << dataset << "'\n";
  return 0;
}

void add_queries(CLI::App& group, CliContext& ctx) {
  group.add_subcommand("list", "list the datasets in the store")->callback([&ctx] {
    ctx.action = [&ctx] { return run_list(ctx); };
  });
  auto name = std::make_shared<std::string>();
  auto* stats = group.add_subcommand("stats", "cells, genes mapped, length distribution, cells per term");
  stats->add_option("dataset", *name, "dataset name")->required();
  stats->callback([&ctx, name] { ctx.action = [&ctx, name] { return run_stats(ctx, *name); }; });

  auto bt = std::make_shared<ByTermArgs>();
  auto* by_term = group.add_subcommand("by-term", "cells annotated with a CL term (or its descendants)");
  by_term->add_option("term", bt->term, "CL term id, e.g. CL:0000084")->required();
  by_term->add_flag("--descendants", bt->descendants, "include the term's descendants in the release (--release)");
  by_term->callback([&ctx, bt] { ctx.action = [&ctx, bt] { return run_by_term(ctx, *bt); }; });

  auto show_args = std::make_shared<std::tuple<std::string, std::string, int, std::string>>("", "", 20, "");
  auto* show = group.add_subcommand("show", "one cell's annotations and top genes");
  show->add_option("dataset", std::get<0>(*show_args), "dataset name")->required();
  show->add_option("cell", std::get<1>(*show_args), "cell id or position")->required();
  show->add_option("--top", std::get<2>(*show_args), "genes to show")->capture_default_str();
  show->add_option("--vocab", std::get<3>(*show_args), "gene vocabulary folder (default: data/vocab)");
  show->callback([&ctx, show_args] {
    ctx.action = [&ctx, show_args] {
      auto& [d, c, top, v] = *show_args;
      return run_show(ctx, d, c, top, v);
    };
  });

  auto tok_name = std::make_shared<std::string>();
  auto* tokens = group.add_subcommand("tokens", "every cell's tokens as TSV: cell_id, term_id, tokens");
  tokens->add_option("dataset", *tok_name, "dataset name")->required();
  tokens->callback([&ctx, tok_name] { ctx.action = [&ctx, tok_name] { return run_tokens(ctx, *tok_name); }; });

  auto del_name = std::make_shared<std::string>();
  auto* del = group.add_subcommand("delete", "delete a dataset");
  del->add_option("dataset", *del_name, "dataset name")->required();
  del->callback([&ctx, del_name] { ctx.action = [&ctx, del_name] { return run_delete(ctx, *del_name); }; });
}

}  // namespace

void add_cells_commands(CLI::App& app, CliContext& ctx) {
  CLI::App* group = app.add_subcommand("cells", "import, inspect and query tokenized cells");
  group->require_subcommand(1);
#ifdef SCCELLO_WITH_IMPORT
  add_cells_import(*group, ctx);
#else
  group->add_subcommand("import", "import an h5ad, a 10x MTX folder or a 10x .h5 as a dataset")->allow_extras();
#endif
  add_queries(*group, ctx);
}

}  // namespace sccello
