// Marker gene sets of cell types from the bundled tables (data/markers) and the AUROC of a gene
// ranking against such a set: the scoring half of scCello's marker-gene task, free of LibTorch.
// Cell Marker Accordion rows carry CL ids (keyed by CL id); PanglaoDB rows carry cell type names
// (keyed by a normalised name: lower case, trailing plural 's' dropped). Plain values; the
// functions are pure and thread-safe.
#pragma once

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "graph/status.h"

namespace sccello::eval {

struct MarkerTable {
  std::string source;  // "accordion" | "panglao" | the file path
  bool by_cl_id = true;  // keys are CL ids (accordion) or normalised cell type names (panglao)
  // key -> upper-case gene symbols
  std::unordered_map<std::string, std::unordered_set<std::string>> markers;
};

struct MarkerTableOptions {
  std::string species = "Human";  // accordion: the `species` column; panglao: "Hs" within `species`
  bool positive_only = true;      // accordion: marker_type == positive
};

// `which`: "accordion", "panglao" (the bundled files, found through SCCELLO_DATA_DIR or data/
// upwards from the working directory and `exe_hint`), or a path to either table (the header
// decides which). Errors name the file and the missing column.
Result<MarkerTable> load_marker_table(const std::string& which, const MarkerTableOptions& options,
                                      const std::string& exe_hint = "");

// "B cells" -> "b cell", "Monocytes" -> "monocyte": how PanglaoDB names are matched.
std::string normalise_type_name(const std::string& name);

// The marker set for a cell type: by CL id for accordion tables, else the first of `names`
// (term name, dataset label, ...) that matches after normalisation. Null when none.
const std::unordered_set<std::string>* markers_for(const MarkerTable& table, const std::string& term_id,
                                                   const std::vector<std::string>& names);

// Area under the ROC curve of `scores` (higher = more marker-like) against `positive`: the
// Mann-Whitney U statistic / (P * N), ties counted one half (average ranks), as sklearn's
// roc_auc_score. NaN when there is no positive or no negative. REQUIRES: equal sizes.
double auroc(const std::vector<double>& scores, const std::vector<bool>& positive);

}  // namespace sccello::eval
