// The model's side of search and annotation: a checkpoint's identity (content hash of the file)
// and a CellEmbedder over its encoder, plus the model's prototype scores for new cells.
// Borrowed by the search library (model/search/), which does not link LibTorch. One per thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "graph/status.h"
#include "model/inference.h"
#include "model/search/cell_index.h"

namespace sccello {

class CheckpointEmbedder {
 public:
  // Loads the checkpoint (file or training directory); `threads` for LibTorch.
  static Result<std::unique_ptr<CheckpointEmbedder>> open(const std::string& checkpoint, int threads,
                                                          const EmbedOptions& options);

  const ModelIdentity& identity() const { return identity_; }
  const LoadedModel& model() const { return loaded_; }
  // The embedder the index builder calls (normalised cell embeddings, rows x dims).
  CellEmbedder embedder();
  // Prototype scores: for each row of `embeddings` (rows x dims), the cosine to every label of the
  // model's label space, row-major rows x labels.
  Result<std::vector<float>> prototype_scores(const std::vector<float>& embeddings) const;
  // The label of highest prototype score per row.
  Result<std::vector<TermId>> predicted_terms(const std::vector<float>& embeddings) const;

 private:
  CheckpointEmbedder() = default;
  LoadedModel loaded_;
  ModelIdentity identity_;
  EmbedOptions options_;
};

// Checks that an index was built with this model (same identity), naming both checkpoints.
Status check_same_model(const IndexInfo& index, const ModelIdentity& model);

}  // namespace sccello
