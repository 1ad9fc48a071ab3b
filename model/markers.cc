#include "model/markers.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <unordered_map>

#include "model/batching.h"
#include "model/inference.h"
#include "model/torch_compat.h"
#include "store/cells/gene_vocab.h"
#include "store/cells/vocab_image.h"
#include "store/corpus.h"
#include "store/kv_store.h"
#include "store/release_store.h"
#include "store/store.h"

namespace sccello {
namespace {

// The sequences of one cell's deletions: row 0 the cell itself, row g the cell without gene g
// (1-based position in the sequence). Each truncated to max_len tokens.
std::vector<CellExample> deletion_sequences(const std::vector<int32_t>& cell, int64_t max_len, int64_t genes) {
  std::vector<CellExample> rows(genes + 1);
  const size_t keep = static_cast<size_t>(max_len);
  rows[0].tokens.assign(cell.begin(), cell.begin() + std::min(cell.size(), keep));
  for (int64_t g = 1; g <= genes; ++g) {
    std::vector<int32_t>& t = rows[g].tokens;
    t.reserve(keep);
    for (size_t p = 0; p < cell.size() && t.size() < keep; ++p)
      if (static_cast<int64_t>(p) != g) t.push_back(cell[p]);
  }
  return rows;
}

// Embeddings (rows x H, float) of `rows` in chunks of max_batch sequences.
at::Tensor embed_rows(ScCelloModel& model, const std::vector<CellExample>& rows, const DeletionOptions& o) {
  std::vector<at::Tensor> parts;
  const int64_t n = static_cast<int64_t>(rows.size());
  for (int64_t start = 0; start < n; start += o.max_batch) {
    std::vector<int64_t> members;
    for (int64_t i = start; i < std::min(n, start + o.max_batch); ++i) members.push_back(i);
    PaddedBatch batch = pad_batch(rows, members, model->config().pad_id);
    auto ids = at::from_blob(batch.ids.data(), {batch.batch, batch.length}, at::kLong).clone();
    AutocastScope autocast(o.bf16, false);
    parts.push_back(model->embed_cells(ids).to(at::kFloat));
  }
  return at::cat(parts, 0);
}

}  // namespace

Result<DeletionScores> deletion_scores(ScCelloModel& model, const std::vector<int32_t>& cell,
                                       const DeletionOptions& options) {
  const int64_t max_len = options.max_len > 0 ? options.max_len : model->config().max_positions;
  const int64_t genes = std::min<int64_t>(static_cast<int64_t>(cell.size()), max_len) - 1;
  if (genes < 1) return Status::invalid("the cell has no gene token to delete");
  DeletionOptions o = options;
  o.max_batch = std::max<int64_t>(1, options.max_batch);
  model->eval();
  at::NoGradGuard no_grad;
  at::Tensor z = embed_rows(model, deletion_sequences(cell, max_len, genes), o);
  z = z / z.norm(2, 1, true).clamp_min(1e-12);
  at::Tensor cosine = at::matmul(z.slice(0, 1), z[0]).to(at::kDouble).contiguous();
  DeletionScores out;
  out.tokens.assign(cell.begin() + 1, cell.begin() + 1 + genes);
  out.score.resize(genes);
  const double* c = cosine.data_ptr<double>();
  for (int64_t g = 0; g < genes; ++g) out.score[g] = 1.0 - c[g];
  return out;
}

namespace {

// Positions of the cells to score: one named cell, or up to max_cells spread evenly.
Result<std::vector<int64_t>> pick_cells(const std::vector<CellSummary>& rows, const MarkerRequest& r) {
  if (!r.cell.empty()) {
    for (size_t i = 0; i < rows.size(); ++i)
      if (rows[i].cell_id == r.cell) return std::vector<int64_t>{static_cast<int64_t>(i)};
    return Status::not_found("dataset '" + r.dataset + "' has no cell '" + r.cell + "' (see `sccello cells show`)");
  }
  std::vector<int64_t> pool;
  for (size_t i = 0; i < rows.size(); ++i)
    if (!rows[i].term_id.empty() && (r.type.empty() || rows[i].term_id == r.type)) pool.push_back(i);
  if (pool.empty())
    return Status::not_found("dataset '" + r.dataset + "' has no cell " +
                             (r.type.empty() ? std::string("with a CL term") : "of type " + r.type));
  const int64_t n = std::min<int64_t>(std::max<int64_t>(1, r.max_cells), pool.size());
  std::vector<int64_t> picked;
  for (int64_t k = 0; k < n; ++k) picked.push_back(pool[k * static_cast<int64_t>(pool.size()) / n]);
  return picked;
}

std::unordered_map<std::string, std::string> term_names(Store& store, const std::string& release) {
  std::unordered_map<std::string, std::string> names;
  auto loaded = ReleaseStore(store).load(release);
  if (loaded)
    for (const Term& t : loaded->terms) names[t.id] = t.name;
  return names;
}

struct GeneTally {
  double sum = 0;
  int64_t cells = 0;
};

void score_cell(const DeletionScores& d, const std::unordered_set<std::string>* markers, const GeneVocab& vocab,
                CellMarkerResult* cell) {
  std::vector<bool> positive(d.tokens.size(), false);
  for (size_t g = 0; g < d.tokens.size(); ++g) {
    if (!markers) break;
    std::string symbol = vocab.symbol(d.tokens[g]);
    for (char& ch : symbol) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    positive[g] = !symbol.empty() && markers->count(symbol) > 0;
    cell->markers += positive[g];
  }
  cell->genes = static_cast<int64_t>(d.tokens.size());
  cell->auroc = markers ? eval::auroc(d.score, positive) : std::nan("");
}

void summarise_types(const std::unordered_map<std::string, std::string>& names, MarkerReport* report,
                     const std::unordered_map<std::string, bool>& has_markers) {
  std::map<std::string, TypeMarkerResult> by_type;
  for (const CellMarkerResult& c : report->cells) {
    TypeMarkerResult& t = by_type[c.term_id];
    t.term_id = c.term_id;
    ++t.cells;
    if (std::isnan(c.auroc)) continue;
    ++t.scored_cells;
    t.mean_auroc += c.auroc;
  }
  for (auto& [term, t] : by_type) {
    t.mean_auroc = t.scored_cells ? t.mean_auroc / t.scored_cells : std::nan("");
    auto it = names.find(term);
    t.name = it == names.end() ? "" : it->second;
    t.has_markers = has_markers.at(term);
    report->types.push_back(t);
  }
  std::stable_sort(report->types.begin(), report->types.end(),
                   [](const TypeMarkerResult& a, const TypeMarkerResult& b) { return a.cells > b.cells; });
}

// Mean score over all scored cells: a gene a cell does not show (not expressed, or past the
// window) changes nothing when deleted and counts 0 there.
void top_genes(const std::unordered_map<int32_t, GeneTally>& tally, const GeneVocab& vocab,
               const std::unordered_set<std::string>* markers, int64_t top, MarkerReport* report) {
  const double cells = static_cast<double>(std::max<size_t>(1, report->cells.size()));
  for (const auto& [token, t] : tally) {
    GeneScore g{vocab.gene_id(token), vocab.symbol(token), t.sum / cells, t.cells, false};
    std::string up = g.symbol;
    for (char& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    g.marker = markers && !up.empty() && markers->count(up) > 0;
    report->top.push_back(g);
  }
  std::sort(report->top.begin(), report->top.end(), [](const GeneScore& a, const GeneScore& b) {
    return a.score != b.score ? a.score > b.score : a.gene_id < b.gene_id;
  });
  if (static_cast<int64_t>(report->top.size()) > top) report->top.resize(top);
}

}  // namespace

Result<MarkerReport> evaluate_markers(Store& store, const MarkerRequest& request) {
  try {
    at::set_num_threads(std::max(1, request.threads));
    SCCELLO_ASSIGN_OR_RETURN(LoadedModel loaded, load_model(request.checkpoint));
    SCCELLO_ASSIGN_OR_RETURN(eval::MarkerTable table, eval::load_marker_table(request.markers, request.table));
    SCCELLO_ASSIGN_OR_RETURN(std::string vocab_dir, GeneVocab::locate(""));
    SCCELLO_ASSIGN_OR_RETURN(GeneVocab vocab, GeneVocab::load_cached(vocab_dir, user_cache_dir()));
    Corpus corpus(store);
    SCCELLO_ASSIGN_OR_RETURN(std::vector<CellSummary> rows, corpus.summaries(request.dataset));
    SCCELLO_ASSIGN_OR_RETURN(std::vector<int64_t> picked, pick_cells(rows, request));
    const auto names = term_names(store, loaded.meta.release_name);
    DeletionOptions options = request.deletion;
    if (options.max_len <= 0) options.max_len = loaded.meta.config.train.max_len;
    options.max_len = std::min<int64_t>(options.max_len, loaded.model->config().max_positions);
    MarkerReport report;
    report.marker_source = table.source;
    report.max_len = options.max_len;
    std::unordered_map<int32_t, GeneTally> tally;
    std::unordered_map<std::string, bool> has_markers;
    const std::unordered_set<std::string>* last_markers = nullptr;
    for (size_t k = 0; k < picked.size(); ++k) {
      SCCELLO_ASSIGN_OR_RETURN(CellRecord rec, corpus.cell(request.dataset, picked[k]));
      auto name = names.find(rec.term_id);
      const auto* markers = eval::markers_for(table, rec.term_id, {name == names.end() ? "" : name->second, rec.label});
      has_markers[rec.term_id] = markers != nullptr;
      last_markers = markers;
      const auto start = std::chrono::steady_clock::now();
      SCCELLO_ASSIGN_OR_RETURN(DeletionScores d, deletion_scores(loaded.model, rec.tokens, options));
      report.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      report.forward_sequences += static_cast<int64_t>(d.tokens.size()) + 1;
      CellMarkerResult cell{rec.cell_id, rec.term_id};
      score_cell(d, markers, vocab, &cell);
      report.cells.push_back(cell);
      for (size_t g = 0; g < d.tokens.size(); ++g) tally[d.tokens[g]].sum += d.score[g], ++tally[d.tokens[g]].cells;
      if (request.progress) request.progress(static_cast<int64_t>(k + 1), static_cast<int64_t>(picked.size()));
    }
    summarise_types(names, &report, has_markers);
    if (request.top > 0) top_genes(tally, vocab, report.types.size() == 1 ? last_markers : nullptr, request.top, &report);
    return report;
  } catch (const std::exception& e) {
    return Status::internal(std::string("marker evaluation failed: ") + e.what());
  }
}

}  // namespace sccello
