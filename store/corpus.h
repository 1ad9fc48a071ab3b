// Corpus: tokenized cells in the store, grouped in datasets. Each CellRecord is also the
// cell-to-term mapping of the store (dataset, cell id -> CL term id, donor, tissue, ...): one
// source of truth. Datasets appear atomically (a manifest record written last); an interrupted
// import leaves no visible dataset. Reads are thread-safe; one writer at a time (the Store lock).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/status.h"
#include "store/kv_store.h"  // WriteBatch: DatasetWriter holds one

namespace sccello {

class Store;

struct CellRecord {
  std::string dataset;
  std::string cell_id;
  std::string term_id;   // CL id as imported ("" when unmapped); never a label index
  std::string label;     // original label text
  std::string donor;
  std::string tissue;
  std::string assay;
  std::vector<int32_t> tokens;  // <cls> first
  std::vector<float> values;    // log1p(normalised count), 0 for <cls>
  // Optional on write, filled on read when stored: the integer count of each token (0 for <cls>)
  // and the cell's total n, with values[i] == float(log1p(counts[i] * 10000.0 / total)). Cells
  // that have them (and satisfy that identity) are stored compactly and exactly as counts; others
  // store values as 16-bit fixed point (kValueScale).
  std::vector<uint32_t> counts;
  double total = 0;
  // Set by whoever derived values from counts with that very formula (the tokenizer with
  // target_sum 10000): the writer then skips recomputing every value to prove the identity, and
  // `values` may be left empty (TokenizerOptions::values = false).
  bool values_from_counts = false;
};

// A cell record's stored bytes (format kCellRecordFormat), appended to *out. Thread-safe: the
// import pipeline encodes cells on its worker threads and hands the bytes to add_encoded.
void encode_cell_record(const CellRecord& cell, std::string* out);

struct DatasetInfo {
  std::string name;
  std::string source_file;
  int64_t num_cells = 0;
  int64_t num_genes_in_file = 0;
  int64_t num_genes_mapped = 0;
  int64_t num_unmapped_cells = 0;  // cells without a CL term
  int64_t num_tokens = 0;
  int64_t max_len = 0;        // the tokenizer's limit (tokens per cell including <cls>)
  int64_t imported_at = 0;    // unix seconds
  std::string options_json;   // how it was tokenized
  int64_t longest_cell = 0;   // most tokens of one cell
  std::string report_json;    // import report: gene mapping counts, label mapping, source matrix
};

// One row of a dataset's index: what stats, by-term and label spaces need.
struct CellSummary {
  std::string cell_id;
  std::string term_id;
  std::string label;
  int32_t length = 0;
};

class Corpus {
 public:
  explicit Corpus(Store& store) : store_(&store) {}

  Result<std::vector<DatasetInfo>> datasets() const;
  Result<DatasetInfo> dataset(const std::string& name) const;  // NotFound lists the datasets there are
  // Random access by position 0..num_cells-1.
  Result<CellRecord> cell(const std::string& dataset, int64_t index) const;
  // The position of a cell given by id, or by a position 0..n-1 written as a number.
  Result<int64_t> find_cell(const std::string& dataset, const std::string& cell) const;
  // Sequential streaming from `start`; fn returns false to stop.
  Status for_each(const std::string& dataset, const std::function<bool(int64_t, const CellRecord&)>& fn,
                  int64_t start = 0) const;
  // Token count of every cell in order (for length-grouped batching), without reading tokens.
  Result<std::vector<int32_t>> lengths(const std::string& dataset) const;
  // CL term id of every cell in order (cheap; for label spaces).
  Result<std::vector<std::string>> term_ids(const std::string& dataset) const;
  Status delete_dataset(const std::string& name);

  // Per-cell summaries in order (cell id, term, label, length) without reading tokens.
  Result<std::vector<CellSummary>> summaries(const std::string& dataset) const;
  // Removes records of imports that never committed (killed midway). Returns how many.
  Result<int64_t> sweep_orphans();
  // Bytes the dataset's cell records take in the key-value space (keys + values).
  Result<int64_t> stored_bytes(const std::string& dataset) const;
  // Identity of the dataset's current import (changes when it is replaced); cached.
  Result<std::string> generation(const std::string& dataset) const;

 private:
  void forget(const std::string& dataset) const;

  Store* store_;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, std::string> generation_;  // dataset -> record prefix id
};

struct DatasetWriteOptions {
  bool replace = false;  // allow replacing an existing dataset of that name (atomically)
  size_t batch_bytes = 8 << 20;  // SQLite: records go in write batches of about this size
};

// Appends one dataset: cells are written under a fresh, unreferenced prefix as they come, through
// a SortedLoader (RocksDB: a table file ingested by commit()); commit() then makes them visible
// with one small batch (the manifest). Dropping the writer without commit() leaves records that
// no reader sees, or a table file never ingested, which the next writer removes. One writer per store.
class DatasetWriter {
 public:
  // Refuses an existing name unless options.replace; sweeps orphans of earlier killed imports.
  static Result<std::unique_ptr<DatasetWriter>> begin(Store& store, const std::string& name,
                                                      const DatasetWriteOptions& options);
  ~DatasetWriter();
  Status add(const CellRecord& cell);
  // A cell already encoded by encode_cell_record; the index takes its id, term, label and length.
  Status add_encoded(std::string_view record, const std::string& cell_id, const std::string& term_id,
                     const std::string& label, int64_t num_tokens);
  // Writes the index and the manifest; `info` supplies everything but counts it can derive.
  Status commit(DatasetInfo info);
  int64_t num_cells() const { return num_cells_; }

 private:
  DatasetWriter(Store& store, std::string name, std::string generation, DatasetWriteOptions options)
      : store_(&store), name_(std::move(name)), generation_(std::move(generation)), options_(options) {}
  void add_to_index(const std::string& cell_id, const std::string& term_id, const std::string& label,
                    int64_t num_tokens);
  void close_index_chunk();

  Store* store_;
  std::string name_, generation_;
  DatasetWriteOptions options_;
  // Cell records and index chunks, each in ascending key order, straight to the store in bulk.
  std::unique_ptr<SortedLoader> cells_, index_;
  std::string index_chunk_;
  Status index_status_;  // the first failure of an index chunk write, reported by add/commit
  int64_t num_cells_ = 0, num_tokens_ = 0, max_len_ = 0, unmapped_ = 0;
};

// Cell records without counts store values as fixed point: round(value * 4096) in a uint16
// (absolute error <= 1/8192). Cells with counts store them instead (exact values, ~2.3 B/token).
constexpr float kValueScale = 4096.0f;
// The cell record format this version writes and reads (the first byte of every cell record).
constexpr uint8_t kCellRecordFormat = 2;

}  // namespace sccello
