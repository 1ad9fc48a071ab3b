// The embed job: gather cells, embed them, write the table.
#include "model/embed.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <ATen/Parallel.h>

#include "graph/release_diff.h"
#include "model/checkpoint.h"
#include "model/h5ad_writer.h"
#include "model/training_data.h"
#include "store/kv_store.h"  // WriteBatch, needed complete by corpus.h
#include "store/cells/cell_import.h"
#include "store/cells/tokenized_file.h"
#include "store/formats/npy.h"
#include "store/corpus.h"
#include "store/cells/gene_vocab.h"
#include "store/release_store.h"
#include "store/store.h"
#include "store/text_lines.h"

namespace sccello {

namespace fs = std::filesystem;

namespace {

struct CellsToEmbed {
  std::vector<std::vector<int32_t>> tokens;
  std::vector<std::string> ids, labels, terms, datasets;
};

// Keeps the cells of one side of the training split (seed and fraction from the checkpoint).
Status keep_split(const std::string& split, const std::string& dataset, const TrainConfig& train, CellsToEmbed* cells) {
  if (split == "all") return Status::ok();
  if (split != "train" && split != "val") return Status::invalid("--split must be all, train or val, not '" + split + "'");
  CellsToEmbed kept;
  for (size_t i = 0; i < cells->ids.size(); ++i) {
    bool val = is_validation_cell(train.seed, dataset, static_cast<int64_t>(i), train.val_fraction);
    if (val != (split == "val")) continue;
    kept.tokens.push_back(std::move(cells->tokens[i]));
    kept.ids.push_back(cells->ids[i]);
    kept.labels.push_back(cells->labels[i]);
    kept.terms.push_back(cells->terms[i]);
    kept.datasets.push_back(cells->datasets[i]);
  }
  *cells = std::move(kept);
  return Status::ok();
}

Result<CellsToEmbed> read_dataset_cells(const Store& store, const std::string& dataset) {
  Corpus corpus(const_cast<Store&>(store));
  SCCELLO_RETURN_IF_ERROR(corpus.dataset(dataset).status());
  CellsToEmbed out;
  SCCELLO_RETURN_IF_ERROR(corpus.for_each(dataset, [&](int64_t, const CellRecord& c) {
    out.tokens.push_back(c.tokens);
    out.ids.push_back(c.cell_id);
    out.labels.push_back(c.label);
    out.terms.push_back(c.term_id);
    out.datasets.push_back(c.dataset);
    return true;
  }));
  return out;
}

// Tokenizes a cell file (h5ad, 10x) with the importer's readers and gene mapping.
Result<CellsToEmbed> read_file_cells(const EmbedRequest& request) {
  TokenizeFileOptions options;
  options.import = request.import;
  options.import.threads = request.threads;
  options.min_gene_share = request.min_gene_share;
  SCCELLO_ASSIGN_OR_RETURN(TokenizedFile file, tokenize_cell_file(request.h5ad, options));
  if (request.log) request.log(request.h5ad + ": " + describe_gene_mapping(file.report.genes));
  CellsToEmbed out;
  out.tokens = std::move(file.tokens);
  out.ids = std::move(file.ids);
  out.labels = std::move(file.labels);
  out.terms = std::move(file.terms);
  out.datasets.assign(out.ids.size(), std::filesystem::path(request.h5ad).stem().string());
  return out;
}

// The row order of an .npy output: cell id, dataset, label, term id per row.
Status write_cell_list(const std::string& path, const CellsToEmbed& cells) {
  std::ofstream out(path);
  if (!out) return Status::io_error("cannot write " + path);
  auto clean = [](std::string s) {
    for (char& c : s) if (c == '\t' || c == '\n' || c == '\r') c = ' ';
    return s;
  };
  out << "row\tcell_id\tdataset\tlabel\tterm_id\n";
  for (size_t i = 0; i < cells.ids.size(); ++i)
    out << i << '\t' << clean(cells.ids[i]) << '\t' << clean(cells.datasets[i]) << '\t' << clean(cells.labels[i]) << '\t'
        << clean(cells.terms[i]) << '\n';
  return out.flush() ? Status::ok() : Status::io_error("cannot write " + path + " (disk full?)");
}

// Views the cells' terms (and the model's label space) through `release` when it is not the model's.
Status view_through_release(Store* store, const LoadedModel& loaded, const std::string& release_name,
                            CellsToEmbed* cells, EmbedSummary* summary) {
  if (!store) return Status::ok();
  ReleaseStore releases(*store);
  auto list = releases.list();
  if (!list.is_ok() || list->empty()) return Status::ok();
  std::string wanted = release_name.empty() ? loaded.meta.release_name : release_name;
  SCCELLO_ASSIGN_OR_RETURN(std::string name, releases.resolve(wanted));
  summary->release = name;
  SCCELLO_ASSIGN_OR_RETURN(OntologyRelease release, releases.load(name));
  if (release.info.content_hash != loaded.meta.release_hash)
    SCCELLO_RETURN_IF_ERROR(migrate_label_space(loaded.meta.label_space, release, &summary->migrated_labels).status());
  TermMigrator migrator(release);
  for (auto& term : cells->terms)
    if (!term.empty()) term = migrator.migrate(term).to;
  return Status::ok();
}

}  // namespace

namespace {

// Numeric options a user typed, checked before LibTorch sees them.
Status check_numbers(const EmbedRequest& request) {
  if (request.options.batch_size < 1)
    return Status::invalid("--batch-size must be at least 1 (cells per batch), not " +
                           std::to_string(request.options.batch_size));
  if (request.options.max_len < 0)
    return Status::invalid("max_len must be >= 0 (0 = the checkpoint's), not " + std::to_string(request.options.max_len));
  if (!(request.min_gene_share >= 0 && request.min_gene_share <= 1))
    return Status::invalid("--min-gene-share must lie in [0, 1], not " + std::to_string(request.min_gene_share));
  return Status::ok();
}

Result<EmbedSummary> run_embed(Store* store, const EmbedRequest& request) {
  SCCELLO_RETURN_IF_ERROR(check_numbers(request));
  if (request.dataset.empty() == request.h5ad.empty()) return Status::invalid("give one of --dataset NAME or --h5ad FILE");
  const bool tsv = ends_with(request.out, ".tsv"), h5ad = ends_with(request.out, ".h5ad"),
             npy = ends_with(request.out, ".npy");
  if (!tsv && !h5ad && !npy) return Status::invalid("--out must end in .h5ad, .tsv or .npy: " + request.out);
  if (!request.dataset.empty() && !store) return Status::invalid("--dataset needs a store (--store PATH)");
  at::set_num_threads(std::max(1, request.threads));
  configure_cpu_allocator();
  SCCELLO_ASSIGN_OR_RETURN(LoadedModel loaded, load_model(request.checkpoint));
  CellsToEmbed cells;
  if (!request.dataset.empty()) {
    SCCELLO_ASSIGN_OR_RETURN(cells, read_dataset_cells(*store, request.dataset));
    SCCELLO_RETURN_IF_ERROR(keep_split(request.split, request.dataset, loaded.meta.config.train, &cells));
  } else {
    SCCELLO_ASSIGN_OR_RETURN(cells, read_file_cells(request));
  }
  EmbedSummary summary;
  SCCELLO_RETURN_IF_ERROR(view_through_release(store, loaded, request.release, &cells, &summary));
  EmbedOptions options = request.options;
  if (options.max_len <= 0) options.max_len = loaded.meta.config.train.max_len;
  auto start = std::chrono::steady_clock::now();
  SCCELLO_ASSIGN_OR_RETURN(std::vector<float> values, embed_cells(loaded.model, cells.tokens, options));
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EmbeddingTable table;
  table.cell_ids = cells.ids;
  table.obs_columns = {{"label", cells.labels}, {"term_id", cells.terms}, {"dataset", cells.datasets}};
  table.values = std::move(values);
  table.dims = loaded.meta.config.model.hidden;
  summary.cells = static_cast<int64_t>(cells.ids.size());
  summary.dims = table.dims;
  if (npy) {
    SCCELLO_RETURN_IF_ERROR(write_npy(request.out, table.values, summary.cells, table.dims));
    SCCELLO_RETURN_IF_ERROR(write_cell_list(request.out.substr(0, request.out.size() - 4) + ".cells.tsv", cells));
  } else {
    SCCELLO_RETURN_IF_ERROR(tsv ? write_embedding_tsv(request.out, table, "term_id") : write_embedding_h5ad(request.out, table));
  }
  return summary;
}

}  // namespace

Result<EmbedSummary> embed_to_file(Store* store, const EmbedRequest& request) {
  try {
    return run_embed(store, request);
  } catch (const std::exception& e) {
    return Status::internal("embedding failed: " + torch_error_text(e));
  }
}

}  // namespace sccello
