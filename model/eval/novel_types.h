// scCello's zero-shot novel cell type protocol. Known ("seen") types get a centroid: the mean of
// their reference cells' L2-normalised embeddings. A query cell's cosine to every seen centroid
// is compared, by Spearman correlation, with each candidate unseen type's raw ontology similarity
// (PPR) to the seen types; the best-correlated candidate is the prediction. The scoring core
// (`novel_type_scores`) is shared with annotation. Stateless; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/status.h"
#include "plugins/target_provider.h"

namespace sccello::eval {

// Mean of the L2-normalised rows of each type (types x dims); a type without cells is all zero;
// rows whose type is outside 0..types-1 (e.g. -1) are skipped.
std::vector<float> type_centroids(const std::vector<float>& values, int64_t dims, const std::vector<int32_t>& type,
                                  int32_t types);

// Cosine of each cell (rows of `values`) to each centroid: cells x centroids, row-major.
std::vector<float> centroid_cosines(const std::vector<float>& values, int64_t dims, const std::vector<float>& centroids);

// Spearman correlation (average ranks for ties) of each cell's row of `cosines` (cells x seen)
// with each candidate's row of `similarity` (candidates x seen, e.g. raw PPR of the candidate to
// every seen type): cells x candidates, row-major. A constant row correlates 0 with everything.
std::vector<float> novel_type_scores(const std::vector<float>& cosines, int64_t cells,
                                     const std::vector<double>& similarity, int64_t candidates, int64_t seen);

// Raw similarity rows of `candidates` restricted to `seen` (candidates x seen) from a provider
// whose label space holds both. Errors name a term the provider does not know.
Result<std::vector<double>> similarity_rows(const TargetProvider& provider, const std::vector<TermId>& candidates,
                                            const std::vector<TermId>& seen);

struct NovelRequest {
  std::string reference, reference_key, reference_obs;  // embeddings (+ key, annotations; "" = same file)
  std::string query, query_key, query_obs;
  std::string label_column;                 // CL term ids of the cells
  std::vector<TermId> held_out;             // the unseen types (candidates)
  std::vector<double> fractions{0.1, 0.25, 0.5, 0.75, 1.0};  // of the unseen types per candidate set
  int32_t draws = 20;                       // random candidate sets per fraction
  uint64_t seed = 0;
  std::string target = "ppr";               // provider spec of the raw similarity
  TargetContext target_context;             // store + release (or release_data), threads, cache
};

struct NovelFractionScore {
  double fraction = 0;
  int32_t candidates = 0;     // size of each candidate set
  double accuracy = 0, accuracy_sd = 0, macro_f1 = 0, macro_f1_sd = 0;  // over draws
};

struct NovelReport {
  int64_t reference_cells = 0, query_cells = 0, query_cells_ignored = 0;  // ignored: label not held out
  std::vector<TermId> seen, unseen;
  std::vector<NovelFractionScore> scores;
  std::string target;         // the provider's describe()
};

Result<NovelReport> evaluate_novel_types(const NovelRequest& request);

// Accuracy and sklearn's macro-F1 (over the classes in truth or prediction).
double accuracy(const std::vector<int32_t>& truth, const std::vector<int32_t>& predicted);
double macro_f1(const std::vector<int32_t>& truth, const std::vector<int32_t>& predicted);

}  // namespace sccello::eval
