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
#include <string_view>
#include <unordered_map>
#include <vector>

#include "graph/ontology.h"
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

// The index's cells, kept as the stored lines (one blob per dataset: cell_id, term, label,
// donor, tissue, TAB-separated) with a line offset and a term code per row, so opening an index
// of 100k cells is one scan instead of 600k strings; a row's fields are cut out on demand.
class IndexCells {
 public:
  // Appends the rows of one dataset from its stored lines.
  void add_dataset(const std::string& name, std::string lines);
  int64_t size() const { return static_cast<int64_t>(line_start_.size()); }
  IndexCell operator[](int64_t row) const;  // REQUIRES: 0 <= row < size()
  const std::string& dataset(int64_t row) const { return part(row).name; }
  std::string_view cell_id(int64_t row) const { return field(row, 0); }
  std::string_view donor(int64_t row) const { return field(row, 3); }
  std::string_view tissue(int64_t row) const { return field(row, 4); }
  const TermId& term(int64_t row) const { return terms_[term_code_[static_cast<size_t>(row)]]; }
  // Distinct stored terms, and each row's index into them.
  const std::vector<TermId>& terms() const { return terms_; }
  uint32_t term_code(int64_t row) const { return term_code_[static_cast<size_t>(row)]; }

  class Iterator {
   public:
    Iterator(const IndexCells* cells, int64_t row) : cells_(cells), row_(row) {}
    IndexCell operator*() const { return (*cells_)[row_]; }
    Iterator& operator++() { ++row_; return *this; }
    bool operator!=(const Iterator& o) const { return row_ != o.row_; }
   private:
    const IndexCells* cells_;
    int64_t row_;
  };
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, size()); }

 private:
  struct Part {
    std::string name;
    std::unique_ptr<std::string> lines;  // stable address: rows point into it
    int64_t first_row = 0;
  };
  const Part& part(int64_t row) const;
  uint32_t code_of(std::string_view term);  // adds a new distinct term
  std::string_view field(int64_t row, int index) const;  // 0 cell_id .. 4 tissue

  std::vector<Part> parts_;
  std::vector<uint64_t> line_start_;  // per row: offset of its line in its part's lines
  std::vector<uint32_t> term_code_;   // per row: index into terms_
  std::vector<TermId> terms_;
  std::unordered_map<std::string, uint32_t> term_codes_;
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
  const IndexCells& cells() const { return cells_; }
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
  IndexCells cells_;
  mutable std::vector<float> matrix_;
  mutable bool matrix_loaded_ = false;
};

}  // namespace sccello
