// Marker genes by in-silico deletion (scCello's marker-gene task): for one cell, each gene the
// model sees (the first max_len - 1 of its rank-ordered tokens) is deleted in turn — its token
// removed from the sequence, later genes moving up one place, as Geneformer/scCello delete — and
// the gene scores 1 - cosine(original embedding, embedding without it). All deletions of a cell
// run as one batch (chunked above `max_batch` sequences). Per cell, the AUROC of the scores
// against the markers of the cell's type (model/eval/marker_genes.h) is averaged per type.
// `evaluate_markers` is the one call per user task. One model per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "graph/status.h"
#include "model/encoder.h"
#include "model/eval/marker_genes.h"

namespace sccello {

class Store;

struct DeletionOptions {
  int64_t max_len = 0;      // tokens per sequence, <cls> included (0 = the model's max_positions;
                            // evaluate_markers passes the checkpoint's train.max_len)
  int64_t max_batch = 256;  // sequences per forward pass
  bool bf16 = false;
};

struct DeletionScores {
  std::vector<int32_t> tokens;  // the deleted genes' tokens, in rank order
  std::vector<double> score;    // 1 - cosine(original, without that gene)
};

// Deletes each in-view gene of `cell` (<cls> first) in turn. A cell with no gene is an error.
Result<DeletionScores> deletion_scores(ScCelloModel& model, const std::vector<int32_t>& cell,
                                       const DeletionOptions& options);

struct MarkerRequest {
  std::string checkpoint;   // file or training directory
  std::string dataset;      // corpus dataset holding the cells
  std::string cell;         // one cell (its id or position) instead of a sample
  std::string type;         // only cells of this CL id
  int64_t max_cells = 100;  // sample size: cells spread evenly over the dataset (after `type`)
  std::string markers = "accordion";  // accordion | panglao | a table path
  eval::MarkerTableOptions table;
  int64_t top = 0;          // > 0: the genes whose deletion moves the cell(s) most
  DeletionOptions deletion;
  int threads = 1;
  std::function<void(int64_t done, int64_t total)> progress;
};

struct CellMarkerResult {
  std::string cell_id, term_id;
  int64_t genes = 0, markers = 0;  // in-view genes; those among the type's markers
  double auroc = 0;                // NaN: no marker (or only markers) among the genes
};

struct TypeMarkerResult {
  std::string term_id, name;
  int64_t cells = 0, scored_cells = 0;  // scored: cells with a defined AUROC
  double mean_auroc = 0;                // over scored cells; NaN when none
  bool has_markers = false;
};

struct GeneScore {
  std::string gene_id, symbol;
  double score = 0;    // mean deletion score over the scored cells (0 where a cell lacks the gene)
  int64_t cells = 0;   // cells whose view holds the gene
  bool marker = false; // among the markers of the (single) type
};

struct MarkerReport {
  std::vector<CellMarkerResult> cells;
  std::vector<TypeMarkerResult> types;  // by cell count, descending
  std::vector<GeneScore> top;           // with request.top > 0, best first
  std::string marker_source;
  int64_t max_len = 0;
  double seconds = 0;                   // deletion forward passes only
  int64_t forward_sequences = 0;
};

Result<MarkerReport> evaluate_markers(Store& store, const MarkerRequest& request);

}  // namespace sccello
