// Embedding job: cells from a corpus dataset or an .h5ad file, through a trained checkpoint, into
// an .h5ad (obsm/X_sccello, obs: cell id index, label, term_id, dataset) or a .tsv. When a release
// other than the checkpoint's is chosen, the model's label space and the cells' terms are viewed
// through it (obsolete terms migrated; a label without a successor is an error).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "graph/status.h"
#include "model/inference.h"
#include "store/cells/cell_import.h"

namespace sccello {

class Store;

struct EmbedRequest {
  std::string checkpoint;   // file or training directory
  std::string dataset;      // corpus dataset, or
  std::string h5ad;         // an .h5ad file (raw counts), tokenized on the fly
  std::string out;          // *.h5ad or *.tsv
  std::string release;      // "" = the checkpoint's release
  std::string split = "all";  // with --dataset: all | train | val (the checkpoint's split of the cells)
  int threads = 1;
  EmbedOptions options;
  CellImportOptions import;      // with --h5ad: layer, var column, --assume-normalized, --total
  double min_gene_share = 0.2;   // with --h5ad: refuse files whose genes barely map
  std::function<void(const std::string&)> log;
};

struct EmbedSummary {
  int64_t cells = 0, dims = 0;
  double seconds = 0;            // embedding only
  std::string release;           // release the terms were viewed through ("" = none stored)
  std::vector<std::string> migrated_labels;  // "old -> new" for the model's label space
};

// `store` may be null with --h5ad (no release migration then).
Result<EmbedSummary> embed_to_file(Store* store, const EmbedRequest& request);

}  // namespace sccello
