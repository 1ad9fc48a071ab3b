// New cells from a file (h5ad, 10x), embedded by a checkpoint: what `sccello query --h5ad`,
// `sccello serve` (uploads) and the annotate job ask of the model. The embedding itself needs
// LibTorch and lives in sccello-model (cli/cmd_model_*.cc); torch-free code holds it as a
// NewCellEmbedder function.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "graph/status.h"
#include "store/cells/cell_import.h"

namespace sccello {

struct EmbeddedCells {
  std::vector<std::string> ids, labels, terms;  // terms: the file's own CL ids when it has them
  std::vector<float> embeddings;                // rows x dims
  std::vector<std::string> predicted;           // the model's top prototype term per cell
  std::string model_id, gene_mapping;
  double gene_share = 0;
};

struct NewCellsRequest {
  std::string checkpoint, file;
  CellImportOptions import;
  double min_gene_share = 0.2;
  bool bf16 = false;
  int64_t batch_size = 32;
};

using NewCellEmbedder = std::function<Result<EmbeddedCells>(const NewCellsRequest&, int threads)>;

}  // namespace sccello
