// The model's side of `index build|add` and `query --h5ad` (sccello-model only): loads the
// checkpoint, hands its embedder to model/search/, prints progress.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/cli_context.h"
#include "cli/progress.h"
#include "model/cell_embedder.h"
#include "model/search/cell_index.h"
#include "store/cells/tokenized_file.h"

namespace sccello {
namespace {

int run_index_build(CliContext& ctx, const IndexBuildArgs& a) {
  auto store = ctx.open_store(true);
  if (!store) return report_error(store.status());
  std::string checkpoint = a.checkpoint;
  if (a.add && checkpoint.empty()) {
    auto info = index_info(**store, a.name);
    if (!info) return report_error(info.status());
    checkpoint = info->model.checkpoint;
  }
  EmbedOptions eo;
  eo.batch_size = a.batch_size;
  eo.bf16 = a.bf16;
  auto model = CheckpointEmbedder::open(checkpoint, ctx.threads, eo);
  if (!model) return report_error(model.status());
  IndexBuildOptions o;
  o.name = a.name;
  o.datasets = split_list(a.datasets);
  auto type = parse_vector_type(a.vector_type);
  if (!type) return report_error(type.status());
  o.vector_type = *type;
  o.hnsw.m = a.m;
  o.hnsw.ef_construction = a.ef_construction;
  o.hnsw.ef_search = a.ef_search;
  o.threads = ctx.threads;
  o.replace = a.replace;
  o.log = [](const std::string& line) { std::cerr << line << "\n"; };
  std::string stage;
  std::function<void(int64_t, int64_t)> bar;
  o.progress = [&](const std::string& s, int64_t done, int64_t total) {
    if (s != stage) stage = s, bar = terminal_progress(s);
    if (bar) bar(done, total);
  };
  const auto start = std::chrono::steady_clock::now();
  auto info = a.add ? add_to_index(**store, a.name, (*model)->identity(), (*model)->embedder(), o)
                    : build_index(**store, (*model)->identity(), (*model)->embedder(), o);
  if (!info) return report_error(info.status());
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("index %s: %lld cells x %lld dims from %zu datasets, model %s, %lld bytes (%.0f B/cell), %.2fs\n",
              info->name.c_str(), (long long)info->rows, (long long)info->model.dims, info->datasets.size(),
              info->model.id.c_str(), (long long)info->file_bytes,
              info->rows ? double(info->file_bytes) / double(info->rows) : 0.0, s);
  return 0;
}

Result<EmbeddedCells> embed_new_cells(const NewCellsRequest& r, int threads) {
  EmbedOptions eo;
  eo.batch_size = r.batch_size;
  eo.bf16 = r.bf16;
  SCCELLO_ASSIGN_OR_RETURN(auto model, CheckpointEmbedder::open(r.checkpoint, threads, eo));
  TokenizeFileOptions to;
  to.import = r.import;
  to.import.threads = threads;
  to.min_gene_share = r.min_gene_share;
  SCCELLO_ASSIGN_OR_RETURN(TokenizedFile file, tokenize_cell_file(r.file, to));
  EmbeddedCells out;
  SCCELLO_ASSIGN_OR_RETURN(out.embeddings, model->embedder()(file.tokens));
  SCCELLO_ASSIGN_OR_RETURN(out.predicted, model->predicted_terms(out.embeddings));
  out.ids = std::move(file.ids);
  out.labels = std::move(file.labels);
  out.terms = std::move(file.terms);
  out.model_id = model->identity().id;
  out.gene_mapping = describe_gene_mapping(file.report.genes);
  out.gene_share = file.gene_share();
  return out;
}

}  // namespace

void add_model_index_hooks(CliContext& ctx) {
  ctx.run_index_build = [&ctx](const IndexBuildArgs& a) { return run_index_build(ctx, a); };
  ctx.embed_new_cells = embed_new_cells;
}

}  // namespace sccello
