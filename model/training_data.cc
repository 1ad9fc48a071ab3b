// Loading training cells from the corpus and building the label space.
#include "model/training_data.h"

#include <algorithm>
#include <map>
#include <set>

#include "graph/release_diff.h"
#include "store/kv_store.h"  // WriteBatch, needed complete by corpus.h
#include "store/corpus.h"
#include "store/store.h"

namespace sccello {

namespace {

// Migrated term of each cell of one dataset ("" when unmapped).
Status read_dataset(const Corpus& corpus, const std::string& name, const TermMigrator& migrator,
                    const TrainConfig& train, TrainingData* data) {
  const int64_t max_len = train.max_len;
  return corpus.for_each(name, [&](int64_t index, const CellRecord& cell) {
    if (train.max_cells > 0 && index >= train.max_cells) return false;
    CellExample example;
    size_t n = std::min<size_t>(cell.tokens.size(), static_cast<size_t>(max_len));
    example.tokens.assign(cell.tokens.begin(), cell.tokens.begin() + n);
    TermId term;
    if (!cell.term_id.empty()) {
      TermMigration m = migrator.migrate(cell.term_id);
      if (m.kind != TermMigration::Kind::kUnmapped) term = m.to;
      if (m.kind == TermMigration::Kind::kReplaced) ++data->migrated_cells;
    }
    if (term.empty()) ++data->unmapped_cells;
    data->lengths.push_back(static_cast<int32_t>(n));
    data->cells.push_back(std::move(example));
    data->cell_ids.push_back(name + "/" + cell.cell_id);
    data->terms.push_back(term);
    data->cell_labels.push_back(cell.label);
    return true;
  });
}

}  // namespace

Result<TrainingData> load_training_data(const Corpus& corpus, const std::vector<std::string>& datasets,
                                        const OntologyRelease& release, const TrainConfig& train,
                                        const std::vector<TermId>* fixed_label_space) {
  if (datasets.empty()) return Status::invalid("no training datasets: pass --datasets a,b or set train.datasets");
  TermMigrator migrator(release);
  TrainingData data;
  std::vector<size_t> sizes;
  for (const std::string& name : datasets) {
    SCCELLO_RETURN_IF_ERROR(corpus.dataset(name).status());
    size_t before = data.cells.size();
    SCCELLO_RETURN_IF_ERROR(read_dataset(corpus, name, migrator, train, &data));
    sizes.push_back(data.cells.size() - before);
  }
  if (fixed_label_space) {
    data.label_space = *fixed_label_space;
  } else {
    std::set<TermId> terms(data.terms.begin(), data.terms.end());
    terms.erase("");
    data.label_space.assign(terms.begin(), terms.end());
  }
  std::map<TermId, int32_t> index;
  for (size_t i = 0; i < data.label_space.size(); ++i) index[data.label_space[i]] = static_cast<int32_t>(i);
  size_t start = 0;
  for (size_t d = 0; d < datasets.size(); ++d) {
    for (size_t i = start; i < start + sizes[d]; ++i) {
      auto it = index.find(data.terms[i]);
      data.cells[i].label = it == index.end() ? -1 : it->second;
      bool val = is_validation_cell(train.seed, datasets[d], static_cast<int64_t>(i - start), train.val_fraction);
      (val ? data.val : data.train).push_back(static_cast<int64_t>(i));
    }
    start += sizes[d];
  }
  if (data.train.empty()) return Status::invalid("no training cells left after the validation split");
  return data;
}

Result<std::vector<TermId>> migrate_label_space(const std::vector<TermId>& label_space, const OntologyRelease& to,
                                                std::vector<std::string>* notes) {
  TermMigrator migrator(to);
  std::vector<TermId> out;
  for (const TermId& id : label_space) {
    TermMigration m = migrator.migrate(id);
    if (m.kind == TermMigration::Kind::kUnmapped) {
      std::string hint;
      for (const auto& c : m.consider) hint += (hint.empty() ? "" : ", ") + c;
      return Status::invalid("label " + id + " of the checkpoint has no live term in release " + to.info.name +
                             (hint.empty() ? "" : " (consider: " + hint + ")") +
                             "; use the release the model was trained with (--release)");
    }
    if (m.kind == TermMigration::Kind::kReplaced && notes) notes->push_back(id + " -> " + m.to);
    out.push_back(m.to);
  }
  return out;
}

}  // namespace sccello
