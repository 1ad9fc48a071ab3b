// TrainingData: the cells of the chosen corpus datasets in memory (tokens truncated to max_len),
// their label indices in the label space, and the train/validation split. The label space is the
// sorted set of the cells' CL terms viewed through the chosen release (obsolete terms migrated via
// replaced_by; unmapped cells keep label -1: MGP only). Plain values; built once, then read-only.
#pragma once

#include <string>
#include <vector>

#include "graph/ontology.h"
#include "graph/status.h"
#include "model/batching.h"
#include "model/model_config.h"

namespace sccello {

class Corpus;

struct TrainingData {
  std::vector<CellExample> cells;
  std::vector<int32_t> lengths;
  std::vector<std::string> cell_ids;    // "dataset/cell id"
  std::vector<TermId> terms;            // migrated term per cell ("" = unmapped)
  std::vector<std::string> cell_labels; // original label text
  std::vector<int64_t> train, val;      // indices into cells
  std::vector<TermId> label_space;
  int64_t unmapped_cells = 0;   // no term, or obsolete without replacement in the release
  int64_t migrated_cells = 0;   // obsolete term replaced through replaced_by
};

// Reads every cell of `datasets` (a missing dataset is an error listing those there are). When
// `fixed_label_space` is given (resume, evaluation) it is used as is; otherwise it is derived.
Result<TrainingData> load_training_data(const Corpus& corpus, const std::vector<std::string>& datasets,
                                        const OntologyRelease& release, const TrainConfig& train,
                                        const std::vector<TermId>* fixed_label_space = nullptr);

// Views a checkpoint's label space through another release: each term is kept if live, replaced
// through replaced_by if obsolete; a term with no live successor is an error naming it (and its
// `consider` hints). Row order (prototypes) is unchanged.
Result<std::vector<TermId>> migrate_label_space(const std::vector<TermId>& label_space, const OntologyRelease& to,
                                                std::vector<std::string>* notes);

}  // namespace sccello
