// Reading what the evaluation scores: cell embeddings (an .h5ad's obsm matrix, as `sccello
// embed --out x.h5ad` writes it, or the TSV `sccello embed --out x.tsv` writes) and per-cell
// annotation columns (an .h5ad's obs: categorical in the new or old AnnData encoding, strings,
// numbers; or a TSV with a header row whose first column is the cell id), matched by cell id.
// Errors name the file, column or cell id and say what to do. Stateless, thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/status.h"

namespace sccello::eval {

struct Embeddings {
  std::vector<std::string> cell_ids;
  std::vector<float> values;  // cells x dims, row-major
  int64_t dims = 0;
  int64_t num_cells() const { return static_cast<int64_t>(cell_ids.size()); }
};

// `key`: the obsm entry of an .h5ad ("" = X_sccello). A .tsv (or .txt) is read as a table whose
// first column is the cell id and whose dim* columns (else every numeric column) are the values.
Result<Embeddings> read_embeddings(const std::string& path, const std::string& key);

// The values of annotation `column` of `path` (.h5ad obs or TSV) for `cell_ids`, in that order.
// A cell id absent from the file is an error naming it. Missing values come back as "".
Result<std::vector<std::string>> read_obs_column(const std::string& path, const std::string& column,
                                                 const std::vector<std::string>& cell_ids);

// Whether a label means "no label": "", "?", "nan", "NaN", "NA", "None", "unknown".
bool is_missing_label(const std::string& label);

// Integer codes of string values, in order of first appearance; `names` receives the distinct values.
std::vector<int32_t> encode_values(const std::vector<std::string>& values, std::vector<std::string>* names);

}  // namespace sccello::eval
