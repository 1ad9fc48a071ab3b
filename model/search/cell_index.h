// CellIndex: a named similarity index over corpus cells embedded by one model: the index record
// and per-cell metadata in the store (idx/<name>, idx/<name>/cells/<dataset>), the embeddings in
// the EmbeddingStore, and the HNSW file beside the store (<rocksdb dir>/indexes/ or
// <sqlite file>.indexes/). A build writes the new HNSW file first, then commits the record in
// one batch: an interrupted build leaves the previous index as it was. Opened indexes are
// immutable and safe to query from several threads. No LibTorch: embedding is a callback.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "graph/status.h"
#include "model/search/embedding_store.h"
#include "model/search/vector_index.h"

namespace sccello {

class Store;

// The model an index is built with (filled by the model library from a checkpoint).
struct ModelIdentity {
  std::string id;            // content hash of the checkpoint file (16 hex)
  std::string checkpoint;    // path as given
  std::string release;       // the checkpoint's ontology release name
  std::string release_hash;  // its content hash
  std::string vocab_hash;
  int64_t dims = 0;
};

// Embeds tokenized cells (<cls> first) into rows x dims floats (not necessarily normalised).
using CellEmbedder = std::function<Result<std::vector<float>>(const std::vector<std::vector<int32_t>>& cells)>;

struct IndexedDataset {
  std::string name, generation;
  int64_t cells = 0;
  int64_t first_row = 0;
};

struct IndexInfo {
  std::string name;
  ModelIdentity model;
  std::vector<IndexedDataset> datasets;  // rows are the datasets' cells, concatenated in this order
  std::string metric = "cosine";
  VectorType vector_type = VectorType::kFloat32;
  HnswParams hnsw;
  int64_t rows = 0;
  std::string file;        // HNSW file name inside the index directory
  int64_t file_bytes = 0;
  int64_t created_at = 0;  // unix seconds
};

// One indexed cell (what hits print and filters test).
struct IndexCell {
  std::string dataset, cell_id, term_id, label, donor, tissue;
};

struct IndexBuildOptions {
  std::string name = "default";
  std::vector<std::string> datasets;  // empty = every dataset of the corpus
  VectorType vector_type = VectorType::kFloat32;
  HnswParams hnsw;
  int threads = 1;
  bool replace = false;                // rebuild an existing index of that name
  int64_t embed_batch = 1024;          // cells handed to the embedder at a time
  std::function<void(const std::string& stage, int64_t done, int64_t total)> progress;
  std::function<void(const std::string&)> log;
};

// Builds (or with options.replace rebuilds) an index; reuses stored embeddings of this model.
Result<IndexInfo> build_index(Store& store, const ModelIdentity& model, const CellEmbedder& embed,
                              const IndexBuildOptions& options);
// Appends datasets to an existing index without re-embedding or re-inserting the others. The
// model must be the index's (same identity).
Result<IndexInfo> add_to_index(Store& store, const std::string& name, const ModelIdentity& model,
                               const CellEmbedder& embed, const IndexBuildOptions& options);
Status drop_index(Store& store, const std::string& name);
Result<std::vector<IndexInfo>> list_indexes(const Store& store);
Result<IndexInfo> index_info(const Store& store, const std::string& name);
// Directory holding the store's HNSW files.
std::string index_directory(const Store& store);

class CellIndex {
 public:
  static Result<std::unique_ptr<CellIndex>> open(const Store& store, const std::string& name);

  const IndexInfo& info() const { return info_; }
  const std::vector<IndexCell>& cells() const { return cells_; }
  const VectorIndex& vectors() const { return vectors_; }
  // Row of a corpus cell, or NotFound naming it.
  Result<int64_t> row_of(const std::string& dataset, const std::string& cell_id) const;
  // All rows as one normalised matrix (read from the EmbeddingStore on first use).
  Result<const std::vector<float>*> matrix() const;

 private:
  CellIndex(const Store& store, IndexInfo info, VectorIndex vectors)
      : store_(&store), info_(std::move(info)), vectors_(std::move(vectors)) {}
  Status load_cells();

  const Store* store_;
  IndexInfo info_;
  VectorIndex vectors_;
  std::vector<IndexCell> cells_;
  mutable std::vector<float> matrix_;
  mutable bool matrix_loaded_ = false;
};

}  // namespace sccello
