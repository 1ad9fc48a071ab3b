// Corpus: tokenized cells in the store, grouped in datasets. Each CellRecord is also the
// cell-to-term mapping of the store (dataset, cell id -> CL term id, donor, tissue, ...): one
// source of truth. Datasets appear atomically (a manifest record written last); an interrupted
// import leaves no visible dataset. Reads are thread-safe; one writer at a time (the Store lock).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "graph/status.h"

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
};

struct DatasetInfo {
  std::string name;
  std::string source_file;
  int64_t num_cells = 0;
  int64_t num_genes_in_file = 0;
  int64_t num_genes_mapped = 0;
  int64_t num_unmapped_cells = 0;  // cells without a CL term
  int64_t num_tokens = 0;
  int64_t max_len = 0;
  int64_t imported_at = 0;
  std::string options_json;  // how it was tokenized
};

class Corpus {
 public:
  explicit Corpus(Store& store) : store_(&store) {}

  Result<std::vector<DatasetInfo>> datasets() const;
  Result<DatasetInfo> dataset(const std::string& name) const;  // NotFound lists the datasets there are
  // Random access by position 0..num_cells-1.
  Result<CellRecord> cell(const std::string& dataset, int64_t index) const;
  // Sequential streaming from `start`; fn returns false to stop.
  Status for_each(const std::string& dataset, const std::function<bool(int64_t, const CellRecord&)>& fn,
                  int64_t start = 0) const;
  // Token count of every cell in order (for length-grouped batching), without reading tokens.
  Result<std::vector<int32_t>> lengths(const std::string& dataset) const;
  // CL term id of every cell in order (cheap; for label spaces).
  Result<std::vector<std::string>> term_ids(const std::string& dataset) const;
  Status delete_dataset(const std::string& name);

 private:
  Store* store_;
};

}  // namespace sccello
