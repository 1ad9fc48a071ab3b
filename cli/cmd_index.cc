// `sccello index list|drop|build|add` and `sccello query`: thin over model/search/. Building and
// querying by new cells need the model; they run in sccello-model (model_dispatch.h), which fills
// ctx.run_index_build and ctx.embed_new_cells.
#include <cstdio>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/cli_context.h"
#include "cli/table.h"
#include "model/search/cell_index.h"
#include "model/search/cell_search.h"
#include "model/search/query_json.h"

namespace sccello {
namespace {

int run_list(CliContext& ctx) {
  auto store = ctx.open_store(false);
  if (!store) return report_error(store.status());
  auto infos = list_indexes(**store);
  if (!infos) return report_error(infos.status());
  Table t{{"name", "cells", "dims", "datasets", "model", "checkpoint", "release", "metric", "vectors", "hnsw",
           "file_bytes", "bytes_per_cell"}, {}};
  for (const auto& i : *infos) {
    std::string datasets;
    for (const auto& d : i.datasets) datasets += (datasets.empty() ? "" : ",") + d.name;
    t.add_row({i.name, std::to_string(i.rows), std::to_string(i.model.dims), datasets, i.model.id, i.model.checkpoint,
               i.model.release, i.metric, vector_type_name(i.vector_type),
               "M=" + std::to_string(i.hnsw.m) + ",efc=" + std::to_string(i.hnsw.ef_construction) +
                   ",ef=" + std::to_string(i.hnsw.ef_search),
               std::to_string(i.file_bytes), i.rows ? format_number(double(i.file_bytes) / double(i.rows), "%.0f") : "0"});
  }
  print_table(t, ctx.format(), std::cout);
  return 0;
}

int run_drop(CliContext& ctx, const std::string& name) {
  auto store = ctx.open_store(true);
  if (!store) return report_error(store.status());
  Status st = drop_index(**store, name);
  if (!st.is_ok()) return report_error(st);
  std::printf("dropped index %s\n", name.c_str());
  return 0;
}

void add_build(CLI::App& index, CliContext& ctx, bool add) {
  auto a = std::make_shared<IndexBuildArgs>();
  a->add = add;
  CLI::App* cmd = add ? index.add_subcommand("add", "append corpus datasets to an index without rebuilding it")
                      : index.add_subcommand("build", "embed corpus datasets with a checkpoint and index them");
  if (add) {
    cmd->add_option("name", a->name, "index name")->required();
    cmd->add_option("--checkpoint", a->checkpoint, "the index's checkpoint (default: the one it was built with)");
    cmd->add_option("--datasets", a->datasets, "corpus datasets to add, comma-separated")->required();
  } else {
    cmd->add_option("--checkpoint", a->checkpoint, "checkpoint file or training directory")->required();
    cmd->add_option("--name", a->name, "index name")->capture_default_str();
    cmd->add_option("--datasets", a->datasets, "corpus datasets, comma-separated (default: all)");
    cmd->add_option("--vectors", a->vector_type, "stored embedding precision: float32 | float16")->capture_default_str();
    cmd->add_option("--m", a->m, "HNSW graph degree")->capture_default_str();
    cmd->add_option("--ef-construction", a->ef_construction, "HNSW build beam")->capture_default_str();
    cmd->add_option("--ef-search", a->ef_search, "HNSW query beam (recall vs speed)")->capture_default_str();
    cmd->add_flag("--replace", a->replace, "rebuild an existing index of that name");
  }
  cmd->add_option("--batch-size", a->batch_size, "cells per embedding batch")->capture_default_str();
  cmd->add_flag("--bf16", a->bf16, "bf16 autocast while embedding");
  cmd->callback([&ctx, a] {
    ctx.action = [&ctx, a] {
      if (!ctx.run_index_build)
        return report_error(Status::unsupported("index build needs sccello-model (a build with LibTorch)"));
      return ctx.run_index_build(*a);
    };
  });
}

// ---- query ----

struct QueryArgs {
  std::string index, cell, cells, h5ad, term, under, not_under, dataset, donor, tissue, target = "ppr", checkpoint;
  int64_t k = 20, ef = 0;
  bool exact = false, descendants = false, exclude_self = false, bf16 = false;
  double min_gene_share = 0.2;
  CellImportOptions import;
};

QueryOptions query_options(const QueryArgs& a) {
  QueryOptions o;
  o.k = a.k;
  o.exact = a.exact;
  o.ef = a.ef;
  o.exclude_self = a.exclude_self;
  o.filters.under = split_list(a.under);
  o.filters.not_under = split_list(a.not_under);
  o.filters.datasets = split_list(a.dataset);
  o.filters.donors = split_list(a.donor);
  o.filters.tissues = split_list(a.tissue);
  return o;
}

std::string relation_text(const QueryHit& h) {
  if (h.relation != "related") return h.relation;
  return "related via " + h.lca_id + " at distance " + std::to_string(h.distance);
}

void print_results(const std::vector<QueryResult>& results, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& r : results) all.push_back(query_result_json(r));
    std::cout << (results.size() == 1 ? all[0] : all).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
    return;
  }
  const bool many = results.size() > 1;
  Table t;
  if (many) t.columns.push_back("query");
  for (const char* c : {"rank", "dataset", "cell_id", "similarity", "term_id", "name", "donor", "tissue", "relation", "level"})
    t.columns.push_back(c);
  for (const auto& r : results)
    for (const auto& h : r.hits) {
      std::vector<std::string> row;
      if (many) row.push_back(r.query);
      for (std::string v : {std::to_string(h.rank), h.cell.dataset, h.cell.cell_id, format_number(h.similarity), h.term_id,
                            h.term_name, h.cell.donor, h.cell.tissue, relation_text(h),
                            h.level > 0 ? std::to_string(h.level) : std::string()})
        row.push_back(v);
      t.add_row(row);
    }
  if (format == OutputFormat::kTsv) return print_table(t, format, std::cout);
  for (const auto& r : results) {
    std::printf("query %s: term %s %s%s\n", r.query.c_str(), r.query_term.empty() ? "-" : r.query_term.c_str(),
                r.query_term_name.c_str(), r.used_exact ? " (filtered: exact search)" : "");
  }
  print_table(t, format, std::cout);
  for (const auto& r : results) {
    std::string line;
    int shown = 0;
    for (const auto& c : r.summary) {
      if (c.direct == 0 && c.rolled == static_cast<int64_t>(r.hits.size())) continue;  // ancestors of all hits
      if (shown++ == 6) break;
      line += (line.empty() ? "" : ", ") + c.name + " " + std::to_string(c.rolled);
    }
    std::printf("summary%s: %s; LCA of hits: %s %s\n", many ? (" " + r.query).c_str() : "", line.c_str(),
                r.hits_lca.c_str(), r.hits_lca_name.c_str());
  }
}

Result<std::vector<QueryResult>> run_new_cells(CliContext& ctx, const QueryArgs& a, const CellIndex& index,
                                               const CellSearch& search, const QueryOptions& o) {
  if (!ctx.embed_new_cells) return Status::unsupported("query --h5ad needs sccello-model (a build with LibTorch)");
  NewCellsRequest request;
  request.checkpoint = a.checkpoint.empty() ? index.info().model.checkpoint : a.checkpoint;
  request.file = a.h5ad;
  request.import = a.import;
  request.min_gene_share = a.min_gene_share;
  request.bf16 = a.bf16;
  SCCELLO_ASSIGN_OR_RETURN(EmbeddedCells cells, ctx.embed_new_cells(request, ctx.threads));
  if (cells.model_id != index.info().model.id)
    return Status::invalid("checkpoint " + request.checkpoint + " is model " + cells.model_id + ", but index '" +
                           index.info().name + "' was built with model " + index.info().model.id +
                           ": pass --checkpoint with the index's checkpoint");
  std::fprintf(stderr, "%s: %s\n", a.h5ad.c_str(), cells.gene_mapping.c_str());
  std::vector<std::string> wanted = split_list(a.cells);
  std::vector<float> rows;
  std::vector<std::string> names, terms;
  const size_t dims = static_cast<size_t>(index.info().model.dims);
  for (size_t i = 0; i < cells.ids.size(); ++i) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), cells.ids[i]) == wanted.end()) continue;
    rows.insert(rows.end(), cells.embeddings.begin() + i * dims, cells.embeddings.begin() + (i + 1) * dims);
    names.push_back(cells.ids[i]);
    terms.push_back(cells.predicted[i]);
  }
  for (const auto& w : wanted)
    if (std::find(names.begin(), names.end(), w) == names.end())
      return Status::not_found("no cell '" + w + "' in " + a.h5ad);
  return search.by_vectors(rows, terms, names, o);
}

int run_query(CliContext& ctx, const QueryArgs& a) {
  const int modes = !a.cell.empty() + !a.h5ad.empty() + !a.term.empty();
  if (modes != 1) return report_error(Status::invalid("give one of --cell DATASET/CELL_ID, --h5ad FILE or --term CL:X"));
  auto store = ctx.open_store(false);
  if (!store) return report_error(store.status());
  auto index = CellIndex::open(**store, a.index);
  if (!index) return report_error(index.status());
  SearchOptions so;
  so.release = ctx.release;
  so.target = a.target;
  so.threads = ctx.threads;
  auto search = CellSearch::open(**store, **index, so);
  if (!search) return report_error(search.status());
  const QueryOptions o = query_options(a);
  std::vector<QueryResult> results;
  if (!a.cell.empty()) {
    const auto slash = a.cell.find('/');
    if (slash == std::string::npos) return report_error(Status::invalid("--cell must be DATASET/CELL_ID, not '" + a.cell + "'"));
    auto r = (*search)->by_cell(a.cell.substr(0, slash), a.cell.substr(slash + 1), o);
    if (!r) return report_error(r.status());
    results.push_back(std::move(*r));
  } else if (!a.term.empty()) {
    auto r = (*search)->by_term(a.term, a.descendants, o);
    if (!r) return report_error(r.status());
    results.push_back(std::move(*r));
  } else {
    auto r = run_new_cells(ctx, a, **index, **search, o);
    if (!r) return report_error(r.status());
    results = std::move(*r);
  }
  print_results(results, ctx.format());
  return 0;
}

void add_query(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<QueryArgs>();
  CLI::App* cmd = app.add_subcommand("query", "nearest reference cells of an index, explained through the ontology");
  cmd->add_option("index", a->index, "index name (sccello index list)")->required();
  cmd->add_option("--cell", a->cell, "a corpus cell: DATASET/CELL_ID");
  cmd->add_option("--h5ad", a->h5ad, "new cells: .h5ad, 10x MTX folder or 10x .h5 (embedded with the index's model)");
  cmd->add_option("--cells", a->cells, "with --h5ad: only these cell ids, comma-separated");
  cmd->add_option("--term", a->term, "the cells most typical of a CL term (nearest its centroid)");
  cmd->add_flag("--descendants", a->descendants, "with --term: include cells of descendant terms");
  cmd->add_option("--k", a->k, "hits per query")->capture_default_str();
  cmd->add_flag("--exact", a->exact, "exact search (BLAS over all vectors) instead of HNSW");
  cmd->add_option("--ef", a->ef, "HNSW beam width (default: the index's ef_search)");
  cmd->add_option("--under", a->under, "only hits whose term is this CL term or a descendant (comma: any of)");
  cmd->add_option("--not-under", a->not_under, "no hits under these CL terms");
  cmd->add_option("--dataset", a->dataset, "only hits from these datasets");
  cmd->add_option("--donor", a->donor, "only hits from these donors");
  cmd->add_option("--tissue", a->tissue, "only hits from these tissues");
  cmd->add_flag("--exclude-self", a->exclude_self, "with --cell: leave the cell itself out");
  cmd->add_option("--target", a->target, "provider of hit levels (ppr, shortest_path, ic, none)")->capture_default_str();
  cmd->add_option("--checkpoint", a->checkpoint, "with --h5ad: the index's checkpoint, if moved");
  cmd->add_option("--layer", a->import.h5ad.layer, "with --h5ad: counts layer");
  cmd->add_option("--var-column", a->import.h5ad.var_column, "with --h5ad: var column of gene ids");
  cmd->add_flag("--assume-normalized", a->import.assume_normalized, "with --h5ad: X is log1p(CP10k)");
  cmd->add_option("--min-gene-share", a->min_gene_share, "refuse files whose genes map below this share")
      ->capture_default_str();
  cmd->add_flag("--bf16", a->bf16, "bf16 autocast while embedding");
  cmd->callback([&ctx, a] { ctx.action = [&ctx, a] { return run_query(ctx, *a); }; });
}

}  // namespace

void add_index_commands(CLI::App& app, CliContext& ctx) {
  CLI::App* index = app.add_subcommand("index", "cell similarity indexes over the corpus (docs/search.md)");
  index->require_subcommand(1);
  index->add_subcommand("list", "indexes of the store")->callback([&ctx] { ctx.action = [&ctx] { return run_list(ctx); }; });
  auto drop_name = std::make_shared<std::string>();
  CLI::App* drop = index->add_subcommand("drop", "delete an index (and its embeddings when no other index uses them)");
  drop->add_option("name", *drop_name, "index name")->required();
  drop->callback([&ctx, drop_name] { ctx.action = [&ctx, drop_name] { return run_drop(ctx, *drop_name); }; });
  add_build(*index, ctx, false);
  add_build(*index, ctx, true);
  add_query(app, ctx);
}

}  // namespace sccello
