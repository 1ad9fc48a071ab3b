// Writes cell embeddings as an AnnData .h5ad through the HDF5 C API, following the AnnData on-disk
// specification (encoding-type / encoding-version attributes, variable-length UTF-8 strings):
// obs index = cell ids plus string columns, obsm/X_sccello = float32 n x d, no X, empty var.
// Readable by anndata >= 0.8. Stateless; one call writes one file.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "graph/status.h"

namespace sccello {

struct EmbeddingTable {
  std::vector<std::string> cell_ids;
  std::vector<std::pair<std::string, std::vector<std::string>>> obs_columns;  // name -> n values
  std::vector<float> values;  // n x dims row-major
  int64_t dims = 0;
  std::string obsm_key = "X_sccello";
};

Status write_embedding_h5ad(const std::string& path, const EmbeddingTable& table);
// cell_id, term_id, then the dimensions (tab-separated, with a header row).
Status write_embedding_tsv(const std::string& path, const EmbeddingTable& table, const std::string& term_column);

}  // namespace sccello
