// RowTargetProvider: a TargetProvider built on a RowKernel (the part that differs between
// providers: raw similarity rows over the terms of one OntologyGraph and the raw -> level map).
// Levels, ancestor masks, negatives and caching are shared here: rows are computed on first use
// in one batch, kept in memory and in the store's TargetCache (raw rows and compact level rows;
// levels and negatives need only the level rows, so a fresh provider never decodes raw values
// for them). Thread-safe (one mutex).
#pragma once

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "graph/ontology_graph.h"
#include "plugins/target_registry.h"
#include "store/target_cache.h"

namespace sccello {

class RowKernel {
 public:
  virtual ~RowKernel() = default;
  // Raw rows of `sources` (nodes) over every term of the graph, row-major sources.size() x num_terms.
  virtual Result<std::vector<double>> compute(const std::vector<TermIndex>& sources, int threads) const = 0;
  // The same rows written into a caller's matrix: row r at out + r * row_length (zeroed by the
  // caller), term t's value at column column_of_term[t], or nowhere when that is -1. The default
  // scatters compute()'s rows; a kernel that can write in place overrides it.
  virtual Status compute_into(const std::vector<TermIndex>& sources, int threads, double* out, size_t row_length,
                              const std::vector<int64_t>& column_of_term) const;
  // Integer level (>= 1) of a raw value.
  virtual int32_t level(double raw) const = 0;
  // Levels of a whole row, clamped to [1, 255] (override to avoid a virtual call per value).
  virtual void levels(const double* raw, size_t n, uint8_t* out) const {
    for (size_t t = 0; t < n; ++t) out[t] = static_cast<uint8_t>(std::clamp(level(raw[t]), 1, 255));
  }
  // Whether a term takes part in the provider's graph; others get level 1 with everyone.
  virtual bool is_node(TermIndex t) const = 0;
  // Whether rows are worth keeping in the store.
  virtual bool cacheable() const { return true; }
};

// One source term's row, by TermIndex of the provider's graph.
struct TargetRow {
  std::vector<double> raw;
  std::vector<uint8_t> level;  // kernel level, 1 for terms that are not nodes, clamped to 255
};

struct TargetProviderStats {
  int64_t rows_computed = 0;  // by the kernel
  int64_t rows_loaded = 0;    // from the store's cache
  int64_t level_rows_loaded = 0;  // level-only rows from the store's cache (levels, negatives)
  int64_t stale_entries = 0;  // cache entries of another describe() (recomputed, overwritten)
  double kernel_ms = 0;       // wall time inside RowKernel::compute
  double rows_ms = 0;         // wall time turning raw rows into TargetRows (levels)
};

class RowTargetProvider : public TargetProvider {
 public:
  // `isa` is the directed is_a graph of the release (ancestor masks); the kernel's graph must
  // index terms identically (same prefix and node filter).
  RowTargetProvider(std::string describe, std::shared_ptr<const OntologyGraph> isa,
                    std::unique_ptr<RowKernel> kernel, const TargetBinding& binding);

  std::string describe() const override { return describe_; }
  const std::vector<TermId>& label_space() const override { return labels_; }
  Result<std::vector<int32_t>> levels(const std::vector<LabelIndex>& labels) const override;
  Result<std::vector<uint8_t>> ancestor_mask(const std::vector<LabelIndex>& labels) const override;
  Result<std::vector<float>> raw_row(LabelIndex label) const override;
  Result<std::vector<double>> raw_row_f64(LabelIndex label) const override;
  Result<std::vector<LabelIndex>> negatives(LabelIndex anchor, int32_t level) const override;
  Status batch_targets(const std::vector<LabelIndex>& labels, int32_t* levels_out,
                       uint8_t* mask_out) const override;
  Status precompute() const override;
  // Without a cache and with every label a graph node (e.g. `targets matrix --all`), one kernel
  // batch written straight into `out`: no rows kept, no levels. Otherwise the rows as usual.
  Status raw_matrix(double* out) const override;

  // The row of a label (loaded or computed on first use). Never null: non-nodes share a row of
  // zeros and level 1.
  Result<std::shared_ptr<const TargetRow>> row(LabelIndex label) const;
  TargetProviderStats stats() const;
  const OntologyGraph& isa_graph() const { return *isa_; }
  // TermIndex of each label (-1 when the term is not in the graph at all).
  const std::vector<int64_t>& label_terms() const { return label_term_; }

 private:
  Status check_labels(const std::vector<LabelIndex>& labels) const;
  // Fills rows_ for the given terms: memory, then cache, then one kernel batch.
  Status ensure_rows(const std::vector<int64_t>& terms) const;
  // Same, lock held; `loaded` (may be null) receives the terms read from the cache.
  Status ensure_rows_locked(const std::vector<TermIndex>& terms, std::vector<TermIndex>* loaded) const;
  // Fills level_rows_ for the given terms: memory, then the cache's level rows, then full rows.
  Status ensure_levels(const std::vector<int64_t>& terms) const;
  Status load_from_cache(std::vector<TermIndex>* missing, std::vector<TermIndex>* loaded) const;
  Status load_levels_from_cache(std::vector<TermIndex>* missing) const;
  Status compute_rows(const std::vector<TermIndex>& missing) const;
  std::shared_ptr<const TargetRow> make_row(std::vector<double> raw) const;
  void set_row(TermIndex t, std::shared_ptr<const TargetRow> row) const;  // lock held
  // Node terms of `terms` (deduplicated) for which `have(t)` is false.
  template <class Have>
  std::vector<TermIndex> absent(const std::vector<int64_t>& terms, Have have) const;
  // REQUIRES: ensure_levels done for t, lock held or the row already filled (rows are immutable).
  const uint8_t* level_row_of_term(int64_t t) const;

  std::string describe_;
  std::shared_ptr<const OntologyGraph> isa_;
  std::unique_ptr<RowKernel> kernel_;
  std::shared_ptr<const OntologyRelease> release_;
  std::vector<TermId> labels_;
  std::vector<int64_t> label_term_;
  Store* store_ = nullptr;
  int threads_ = 1;
  TargetCacheKey cache_key_;
  std::shared_ptr<const TargetRow> empty_row_;
  std::vector<uint8_t> is_node_;  // kernel_->is_node by TermIndex

  mutable std::mutex mu_;
  mutable std::vector<std::shared_ptr<const TargetRow>> rows_;  // by TermIndex
  // Levels by TermIndex: aliases rows_[t]->level, or a level row read alone from the cache.
  mutable std::vector<std::shared_ptr<const std::vector<uint8_t>>> level_rows_;
  mutable TargetProviderStats stats_;
};

}  // namespace sccello
