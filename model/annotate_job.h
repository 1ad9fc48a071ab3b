// The annotate job (`sccello annotate`): cells of a file (h5ad, 10x) or a corpus dataset,
// embedded with the reference index's checkpoint, annotated through the index
// (model/annotate/annotation.h), written back as AnnData (the input copied, never modified, plus
// obsm/X_sccello, obs sccello_* columns, uns/sccello) and optionally a TSV. One job per call.
#pragma once

#include <functional>
#include <string>

#include "graph/status.h"
#include "model/annotate/annotation.h"
#include "store/cells/cell_import.h"
#include "store/formats/anndata_extend.h"

namespace sccello {

class Store;

struct AnnotateRequest {
  std::string index;            // reference index name
  std::string checkpoint;       // "" = the index's
  std::string input;            // .h5ad, 10x MTX folder or .h5, or
  std::string dataset;          // a corpus dataset
  std::string out;              // .h5ad
  std::string tsv;              // optional
  bool force = false;           // overwrite outputs
  std::string release;          // view terms through this release ("" = the model's)
  CellImportOptions import;     // layer, var column, --assume-normalized
  double min_gene_share = 0.2;
  int64_t batch_size = 32;
  bool bf16 = false;
  int threads = 1;
  AnnotateOptions options;
  std::function<void(int64_t, int64_t)> progress;  // embedding progress
};

struct AnnotateSummary {
  int64_t cells = 0, novel = 0;
  double gene_share = -1;       // -1: a corpus dataset
  bool reused_embeddings = false;  // a corpus dataset's embeddings stored by `index build`
  std::string gene_mapping, release, model_id;
  double embed_seconds = 0, annotate_seconds = 0, write_seconds = 0;
  AnnotateTiming annotate_detail;  // annotate_seconds split: search, roll-up + call, novel, smooth
  std::vector<std::pair<std::string, int64_t>> calls;  // "CL:x name" -> cells, most first
};

Result<AnnotateSummary> run_annotate(Store& store, const AnnotateRequest& request);

// The obs columns annotate writes (sccello_term_id, sccello_term_name, sccello_score, ...), one
// entry per call; `predicted`: the model's prototype term per cell (sccello_prototype_term_id).
std::vector<ObsColumn> annotation_obs_columns(const std::vector<CellAnnotation>& calls,
                                              const std::vector<TermId>& predicted, bool smooth);

}  // namespace sccello
