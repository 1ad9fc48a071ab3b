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

  // --- Added conveniences (defaults build on the calls above) ---
  // Raw row in double precision (PPR parity checks, `targets matrix --raw`).
  virtual Result<std::vector<double>> raw_row_f64(LabelIndex label) const;
  // The trainer's per-batch call: n x n levels and ancestor mask written into caller buffers
  // (n = labels.size(); either pointer may be null). One lock, no allocation per pair.
  virtual Status batch_targets(const std::vector<LabelIndex>& labels, int32_t* levels_out,
                               uint8_t* mask_out) const;
  // Computes (or loads from the cache) the rows of every label now, e.g. before training.
  virtual Status precompute() const { return Status::ok(); }
  // Row-major n x n raw values over the whole label space into `out` (n = label_space().size(),
  // zeroed by the caller). Default: precompute(), then raw_row_f64 of each label.
  virtual Status raw_matrix(double* out) const;
  // Position of a term in the label space, or -1.
  LabelIndex label_of(const TermId& id) const;
};

// Where a provider gets its graph and cache from.
struct TargetContext {
  Store* store = nullptr;          // may be null: no persistent cache
  std::string release;             // release name in the store ("" = newest)
  // Ordered. A term of the release that is not a node of the provider's graph gets level 1 with
  // everyone and no ancestors; a term absent from (or obsolete in) the release is an error that
  // names it and suggests `sccello ontology migrate`. Empty: the graph's nodes (release order).
  std::vector<TermId> label_space;
  // Added: a release given in memory (tests, benches) instead of loading `release` from `store`.
  const OntologyRelease* release_data = nullptr;
  int threads = 1;                 // worker threads for computing rows (<= 0: hardware)
  bool use_cache = true;           // false: never read or write the store's cache area
};

}  // namespace sccello
