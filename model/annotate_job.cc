#include "model/annotate_job.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "model/cell_embedder.h"
#include "model/h5ad_writer.h"
#include "model/search/embedding_store.h"
#include "store/cells/tokenized_file.h"
#include "store/corpus.h"
#include "store/formats/anndata_extend.h"
#include "store/kv_store.h"
#include "store/store.h"
#include "store/text_lines.h"

namespace sccello {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct QueryCells {
  std::vector<std::vector<int32_t>> tokens;
  std::vector<std::string> ids;
  std::vector<int64_t> exclude_rows;  // index rows of the same cells (leave-one-out), or empty
};

Result<QueryCells> corpus_cells(Store& store, const CellIndex& index, const std::string& dataset) {
  QueryCells q;
  Corpus corpus(store);
  SCCELLO_RETURN_IF_ERROR(corpus.dataset(dataset).status());
  SCCELLO_RETURN_IF_ERROR(corpus.for_each(dataset, [&](int64_t, const CellRecord& c) {
    q.tokens.push_back(c.tokens);
    q.ids.push_back(c.cell_id);
    return true;
  }));
  for (const auto& d : index.info().datasets) {
    if (d.name != dataset) continue;
    for (int64_t i = 0; i < static_cast<int64_t>(q.ids.size()); ++i) q.exclude_rows.push_back(d.first_row + i);
  }
  return q;
}

// A corpus dataset the model has embedded already (an index over it was built): its cell ids
// and stored embeddings (at the index's precision), or nullopt when there are none to reuse.
using StoredCells = std::optional<std::pair<QueryCells, std::vector<float>>>;
Result<StoredCells> stored_corpus_cells(
    Store& store, const CellIndex& index, const std::string& model_id, const std::string& dataset) {
  Corpus corpus(store);
  SCCELLO_ASSIGN_OR_RETURN(std::string generation, corpus.generation(dataset));
  const EmbeddingKey key{model_id, dataset, generation};
  EmbeddingStore embeddings(store);
  SCCELLO_ASSIGN_OR_RETURN(bool stored, embeddings.contains(key));
  if (!stored) return StoredCells{};
  int64_t dims = 0;
  SCCELLO_ASSIGN_OR_RETURN(std::vector<float> values, embeddings.get(key, &dims));
  QueryCells q;
  SCCELLO_ASSIGN_OR_RETURN(std::vector<CellSummary> rows, corpus.summaries(dataset));
  for (const CellSummary& c : rows) q.ids.push_back(c.cell_id);
  if (dims != index.info().model.dims || values.size() != q.ids.size() * static_cast<size_t>(dims)) return StoredCells{};
  for (const auto& d : index.info().datasets) {
    if (d.name != dataset) continue;
    for (int64_t i = 0; i < static_cast<int64_t>(q.ids.size()); ++i) q.exclude_rows.push_back(d.first_row + i);
  }
  return StoredCells{std::make_pair(std::move(q), std::move(values))};
}

}  // namespace

std::vector<ObsColumn> annotation_obs_columns(const std::vector<CellAnnotation>& calls,
                                              const std::vector<TermId>& predicted, bool smooth) {
  using K = ObsColumn::Kind;
  std::vector<ObsColumn> cols = {{"sccello_term_id", K::kCategorical}, {"sccello_term_name", K::kCategorical},
                                 {"sccello_score", K::kFloat},          {"sccello_fine_term_id", K::kCategorical},
                                 {"sccello_fine_term_name", K::kCategorical}, {"sccello_margin", K::kFloat},
                                 {"sccello_hits", K::kString},          {"sccello_prototype_term_id", K::kCategorical},
                                 {"sccello_novel_term_id", K::kCategorical}, {"sccello_novel_term_name", K::kCategorical},
                                 {"sccello_novel_score", K::kFloat},    {"sccello_is_novel", K::kBool}};
  if (smooth) {
    cols.push_back({"sccello_cluster", K::kCategorical});
    cols.push_back({"sccello_smoothed_term_id", K::kCategorical});
    cols.push_back({"sccello_smoothed_term_name", K::kCategorical});
  }
  for (size_t i = 0; i < calls.size(); ++i) {
    const CellAnnotation& a = calls[i];
    cols[0].text.push_back(a.term_id);
    cols[1].text.push_back(a.term_name);
    cols[2].numbers.push_back(a.score);
    cols[3].text.push_back(a.fine_term_id);
    cols[4].text.push_back(a.fine_term_name);
    cols[5].numbers.push_back(a.margin);
    cols[6].text.push_back(a.hits_json);
    cols[7].text.push_back(i < predicted.size() ? predicted[i] : "");
    cols[8].text.push_back(a.novel_term_id);
    cols[9].text.push_back(a.novel_term_name);
    cols[10].numbers.push_back(a.novel_score);
    cols[11].flags.push_back(a.is_novel ? 1 : 0);
    if (smooth) {
      cols[12].text.push_back(std::to_string(a.cluster));
      cols[13].text.push_back(a.smoothed_term_id);
      cols[14].text.push_back(a.smoothed_term_name);
    }
  }
  return cols;
}

namespace {

AnnDataAdditions additions(const std::vector<CellAnnotation>& calls, const std::vector<TermId>& predicted,
                           const std::vector<float>& embeddings, int64_t dims, bool smooth) {
  std::vector<ObsColumn> cols = annotation_obs_columns(calls, predicted, smooth);
  AnnDataAdditions add;
  add.obs = std::move(cols);
  add.obsm_key = "X_sccello";
  add.obsm = embeddings;
  add.obsm_dims = dims;
  return add;
}

Status write_tsv(const std::string& path, bool force, const std::vector<std::string>& ids, const AnnDataAdditions& add) {
  std::error_code ec;
  if (fs::exists(path, ec) && !force) return Status::invalid(path + " exists: pass --force to overwrite it");
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    if (!out) return Status::io_error("cannot write " + tmp + ": check the directory");
    out << "cell_id";
    for (const auto& c : add.obs) out << '\t' << c.name;
    out << '\n';
    auto clean = [](std::string s) {
      for (char& ch : s) if (ch == '\t' || ch == '\n' || ch == '\r') ch = ' ';
      return s;
    };
    for (size_t i = 0; i < ids.size(); ++i) {
      out << clean(ids[i]);
      for (const auto& c : add.obs) {
        out << '\t';
        if (c.kind == ObsColumn::Kind::kFloat) out << c.numbers[i];
        else if (c.kind == ObsColumn::Kind::kBool) out << (c.flags[i] ? "true" : "false");
        else out << clean(c.text[i]);
      }
      out << '\n';
    }
    if (!out.flush()) return fs::remove(tmp, ec), Status::io_error("cannot write " + tmp + " (disk full?)");
  }
  fs::rename(tmp, path, ec);
  return ec ? Status::io_error("cannot rename " + tmp + " to " + path) : Status::ok();
}

// A fresh AnnData for inputs that are not .h5ad (10x files, corpus datasets): obs index + columns.
Status write_fresh(const std::string& out, bool force, const std::vector<std::string>& ids, const AnnDataAdditions& add,
                   int64_t dims) {
  std::error_code ec;
  if (fs::exists(out, ec) && !force) return Status::invalid(out + " exists: pass --force to overwrite it");
  const std::string tmp = out + ".tmp-fresh";
  EmbeddingTable table;
  table.cell_ids = ids;
  table.values = add.obsm;
  table.dims = dims;
  Status st = write_embedding_h5ad(tmp, table);
  if (st.is_ok()) st = extend_h5ad(tmp, add);
  if (st.is_ok()) {
    fs::rename(tmp, out, ec);
    if (ec) st = Status::io_error("cannot rename " + tmp + " to " + out);
  }
  if (!st.is_ok()) fs::remove(tmp, ec);
  return st;
}

std::vector<std::pair<std::string, int64_t>> call_counts(const std::vector<CellAnnotation>& calls) {
  std::map<std::string, int64_t> counts;
  for (const auto& a : calls) counts[a.term_id + " " + a.term_name]++;
  std::vector<std::pair<std::string, int64_t>> out(counts.begin(), counts.end());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

nlohmann::json parameters(const AnnotateRequest& r) {
  const AnnotateOptions& o = r.options;
  return {{"k", o.k}, {"min_support", o.min_support}, {"exact", o.exact}, {"novel", o.novel},
          {"novel_threshold", o.novel_threshold}, {"novel_under", o.novel_under},
          {"novel_candidates", o.novel_candidates}, {"target", o.target}, {"smooth", o.smooth},
          {"smooth_resolution", o.smooth_resolution}};
}

Status check_request(const AnnotateRequest& r) {
  if (r.input.empty() == r.dataset.empty()) return Status::invalid("give one of --h5ad FILE or --dataset NAME");
  if (!ends_with(r.out, ".h5ad")) return Status::invalid("--out must end in .h5ad: " + r.out);
  std::error_code ec;
  if (fs::exists(r.out, ec) && !r.force) return Status::invalid(r.out + " exists: pass --force to overwrite it");
  if (!r.tsv.empty() && fs::exists(r.tsv, ec) && !r.force) return Status::invalid(r.tsv + " exists: pass --force to overwrite it");
  const fs::path dir = fs::absolute(r.out).parent_path();
  if (!fs::is_directory(dir, ec)) return Status::invalid("the directory of --out does not exist: " + dir.string());
  return Status::ok();
}

}  // namespace

Result<AnnotateSummary> run_annotate(Store& store, const AnnotateRequest& r) {
  SCCELLO_RETURN_IF_ERROR(check_request(r));
  SCCELLO_ASSIGN_OR_RETURN(auto index, CellIndex::open(store, r.index));
  SearchOptions so;
  so.release = r.release;
  so.target = r.options.target;
  so.threads = r.threads;
  SCCELLO_ASSIGN_OR_RETURN(auto search, CellSearch::open(store, *index, so));
  EmbedOptions eo;
  eo.batch_size = r.batch_size;
  eo.bf16 = r.bf16;
  eo.progress = r.progress;
  const std::string checkpoint = r.checkpoint.empty() ? index->info().model.checkpoint : r.checkpoint;
  SCCELLO_ASSIGN_OR_RETURN(auto model, CheckpointEmbedder::open(checkpoint, r.threads, eo));
  SCCELLO_RETURN_IF_ERROR(check_same_model(index->info(), model->identity()));
  AnnotateSummary summary;
  summary.release = search->release_name();
  summary.model_id = model->identity().id;
  auto t0 = Clock::now();
  QueryCells cells;
  std::vector<float> embeddings;
  if (!r.dataset.empty()) {
    SCCELLO_ASSIGN_OR_RETURN(auto stored, stored_corpus_cells(store, *index, model->identity().id, r.dataset));
    if (stored) {
      cells = std::move(stored->first);
      embeddings = std::move(stored->second);
      summary.reused_embeddings = true;
    } else {
      SCCELLO_ASSIGN_OR_RETURN(cells, corpus_cells(store, *index, r.dataset));
    }
  } else {
    TokenizeFileOptions to;
    to.import = r.import;
    to.import.threads = r.threads;
    to.min_gene_share = r.min_gene_share;
    SCCELLO_ASSIGN_OR_RETURN(TokenizedFile file, tokenize_cell_file(r.input, to));
    summary.gene_share = file.gene_share();
    summary.gene_mapping = describe_gene_mapping(file.report.genes);
    cells.tokens = std::move(file.tokens);
    cells.ids = std::move(file.ids);
  }
  if (!summary.reused_embeddings) {
    SCCELLO_ASSIGN_OR_RETURN(embeddings, model->embedder()(cells.tokens));
  }
  SCCELLO_ASSIGN_OR_RETURN(std::vector<TermId> predicted, model->predicted_terms(embeddings));
  summary.embed_seconds = since(t0);
  t0 = Clock::now();
  SCCELLO_ASSIGN_OR_RETURN(std::vector<CellAnnotation> calls,
                           annotate_cells(*search, embeddings, cells.exclude_rows, r.options, &summary.annotate_detail));
  summary.annotate_seconds = since(t0);
  t0 = Clock::now();
  AnnDataAdditions add = additions(calls, predicted, embeddings, index->info().model.dims, r.options.smooth);
  add.uns_key = "sccello";
  add.uns = {{"checkpoint", checkpoint}, {"model_id", summary.model_id}, {"index", r.index},
             {"release", summary.release}, {"parameters", parameters(r).dump()},
             {"gene_mapping", summary.gene_mapping},
             {"gene_share", summary.gene_share < 0 ? "" : std::to_string(summary.gene_share)}};
  if (!r.input.empty() && ends_with(r.input, ".h5ad")) {
    SCCELLO_ASSIGN_OR_RETURN(int64_t n_obs, h5ad_obs_count(r.input));
    if (n_obs != static_cast<int64_t>(cells.ids.size()))
      return Status::internal(r.input + " has " + std::to_string(n_obs) + " cells but " +
                              std::to_string(cells.ids.size()) + " were tokenized");
    SCCELLO_RETURN_IF_ERROR(extended_copy(r.input, r.out, add, r.force));
  } else {
    SCCELLO_RETURN_IF_ERROR(write_fresh(r.out, r.force, cells.ids, add, index->info().model.dims));
  }
  if (!r.tsv.empty()) SCCELLO_RETURN_IF_ERROR(write_tsv(r.tsv, r.force, cells.ids, add));
  summary.write_seconds = since(t0);
  summary.cells = static_cast<int64_t>(calls.size());
  for (const auto& a : calls) summary.novel += a.is_novel;
  summary.calls = call_counts(calls);
  return summary;
}

}  // namespace sccello
