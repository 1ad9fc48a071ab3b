// TargetProvider: graph-derived training targets for a label space (an ordered list of CL term
// ids), bound to one ontology release: integer similarity levels, ancestor masks, raw similarity
// rows and negative sets. Built by name from a spec string "name:key=value,..." through the
// TargetRegistry (plugins/target_registry.h). A provider is immutable once bound, except for its
// internal row cache, which is synchronised: safe to call from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "graph/ontology_graph.h"
#include "graph/status.h"

namespace sccello {

class Store;

// Index into the provider's label space.
using LabelIndex = int32_t;

class TargetProvider {
 public:
  virtual ~TargetProvider() = default;

  // name + version + parameters, e.g. "ppr/1:alpha=0.9,threshold=0.0001,mode=networkx,edges=is_a,directed=0".
  // Written into caches and checkpoints; a different string means different targets.
  virtual std::string describe() const = 0;

  // The label space the provider was bound to.
  virtual const std::vector<TermId>& label_space() const = 0;

  // Row-major n x n integer levels (>= 1) for labels[i], labels[j].
  virtual Result<std::vector<int32_t>> levels(const std::vector<LabelIndex>& labels) const = 0;
  // Row-major n x n: 1 when labels[j] is labels[i] or an ancestor of it (directed is_a closure).
  virtual Result<std::vector<uint8_t>> ancestor_mask(const std::vector<LabelIndex>& labels) const = 0;
  // Raw similarity of one label to every label of the space (PPR probability, 1/(1+dist), ...).
  virtual Result<std::vector<float>> raw_row(LabelIndex label) const = 0;
  // Labels b with level(anchor, b) < level and not an ancestor-or-self of anchor.
  virtual Result<std::vector<LabelIndex>> negatives(LabelIndex anchor, int32_t level) const = 0;
};

// Where a provider gets its graph and cache from.
struct TargetContext {
  Store* store = nullptr;          // may be null: no persistent cache
  std::string release;             // release name in the store ("" = newest)
  std::vector<TermId> label_space; // ordered; terms absent from the release get level 1, no ancestors
};

}  // namespace sccello
