// RowTargetProvider: row table, cache use and the pairwise views (see row_provider.h).
#include "plugins/row_provider.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "store/store.h"

namespace sccello {

namespace {

// Whether one prefix scan over the slot's level rows (about one row per node) beats a point read
// per missing row. Measured on CL 2022-12-15 (bench/targets_bench.cc, 600 of 2,635 rows): a
// RocksDB point read costs ~3 scanned rows with a warm block cache and ~5 or more (wall) right
// after the store was opened; an SQLite one (a statement each) ~10.
bool scan_pays(size_t missing, size_t nodes, Backend backend) {
  return missing * (backend == Backend::kSqlite ? 10 : 5) >= nodes;
}

}  // namespace

RowTargetProvider::RowTargetProvider(std::string describe, std::shared_ptr<const OntologyGraph> isa,
                                     std::unique_ptr<RowKernel> kernel, const TargetBinding& binding)
    : describe_(std::move(describe)), isa_(std::move(isa)), kernel_(std::move(kernel)),
      release_(binding.release), labels_(binding.label_space), threads_(binding.threads) {
  const size_t n = isa_->num_terms();
  if (labels_.empty()) {  // default label space: the graph's nodes
    for (TermIndex t = 0; t < n; ++t) {
      if (kernel_->is_node(t)) labels_.push_back(isa_->id_of(t));
    }
  }
  for (const TermId& id : labels_) {
    auto t = isa_->index_of(id);
    label_term_.push_back(t ? static_cast<int64_t>(*t) : -1);
  }
  if (binding.use_cache && binding.store && kernel_->cacheable() && !release_->info.content_hash.empty()) {
    store_ = binding.store;
  }
  cache_key_ = {release_->info.content_hash, describe_, n};
  auto empty = std::make_shared<TargetRow>();  // before is_node_ exists: filled by hand
  empty->raw.assign(n, 0.0);
  empty->level.assign(n, 1);
  empty_row_ = std::move(empty);
  rows_.resize(n);
  level_rows_.resize(n);
  is_node_.resize(n);
  for (TermIndex t = 0; t < n; ++t) is_node_[t] = kernel_->is_node(t) ? 1 : 0;
}

TargetProviderStats RowTargetProvider::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

Status RowTargetProvider::check_labels(const std::vector<LabelIndex>& labels) const {
  for (LabelIndex l : labels) {
    if (l < 0 || static_cast<size_t>(l) >= labels_.size()) {
      return Status::invalid("label index " + std::to_string(l) + " outside the label space of " +
                             std::to_string(labels_.size()) + " terms");
    }
  }
  return Status::ok();
}

std::shared_ptr<const TargetRow> RowTargetProvider::make_row(std::vector<double> raw) const {
  const size_t n = isa_->num_terms();
  auto row = std::make_shared<TargetRow>();
  row->raw = std::move(raw);
  row->level.resize(n);
  kernel_->levels(row->raw.data(), n, row->level.data());
  for (TermIndex t = 0; t < n; ++t) {
    if (!is_node_[t]) row->level[t] = 1;
  }
  return row;
}

void RowTargetProvider::set_row(TermIndex t, std::shared_ptr<const TargetRow> row) const {
  if (!level_rows_[t]) level_rows_[t] = std::shared_ptr<const std::vector<uint8_t>>(row, &row->level);
  rows_[t] = std::move(row);
}

Status RowTargetProvider::load_from_cache(std::vector<TermIndex>* missing,
                                          std::vector<TermIndex>* loaded) const {
  TargetCache cache(*store_);
  std::vector<TermIndex> still;
  std::vector<double> raw;
  for (TermIndex t : *missing) {
    SCCELLO_ASSIGN_OR_RETURN(CacheLookup found, cache.get(cache_key_, isa_->id_of(t), &raw));
    if (found == CacheLookup::kHit) {
      set_row(t, make_row(std::move(raw)));
      raw = std::vector<double>();
      ++stats_.rows_loaded;
      if (loaded) loaded->push_back(t);
      continue;
    }
    if (found == CacheLookup::kStale) ++stats_.stale_entries;
    still.push_back(t);
  }
  missing->swap(still);
  return Status::ok();
}

Status RowTargetProvider::load_levels_from_cache(std::vector<TermIndex>* missing) const {
  TargetCache cache(*store_);
  std::vector<TermIndex> still;
  auto take = [&](TermIndex t, CacheLookup found, std::vector<uint8_t>* row) {
    if (found == CacheLookup::kHit) {
      level_rows_[t] = std::make_shared<const std::vector<uint8_t>>(std::move(*row));
      *row = std::vector<uint8_t>();
      ++stats_.level_rows_loaded;
    } else if (found == CacheLookup::kStale) {
      ++stats_.stale_entries;
    }
  };
  const size_t nodes = static_cast<size_t>(std::count(is_node_.begin(), is_node_.end(), 1));
  if (scan_pays(missing->size(), nodes, store_->kv().backend())) {
    std::vector<uint8_t> wanted(is_node_.size());
    for (TermIndex t : *missing) wanted[t] = 1;
    auto term_of = [&](std::string_view term) -> int64_t {
      auto t = isa_->index_of(term);
      return t && wanted[*t] ? static_cast<int64_t>(*t) : -1;
    };
    SCCELLO_RETURN_IF_ERROR(cache.scan_levels(
        cache_key_, [&](std::string_view term) { return term_of(term) >= 0; },
        [&](std::string_view term, CacheLookup found, std::vector<uint8_t>* row) {
          take(static_cast<TermIndex>(term_of(term)), found, row);
        }));
  } else {
    std::vector<uint8_t> row;
    for (TermIndex t : *missing) {
      SCCELLO_ASSIGN_OR_RETURN(CacheLookup found, cache.get_levels(cache_key_, isa_->id_of(t), &row));
      take(t, found, &row);
    }
  }
  for (TermIndex t : *missing) {
    if (!level_rows_[t]) still.push_back(t);
  }
  missing->swap(still);
  return Status::ok();
}

namespace {

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

// Runs fn(i) for i in [0, n) on up to `threads` threads (strided).
template <class Fn>
void parallel_for(size_t n, int threads, Fn fn) {
  const size_t t = std::max<size_t>(1, std::min<size_t>(n / 64 + 1, threads > 0 ? threads : std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (size_t w = 1; w < t; ++w) pool.emplace_back([&, w] { for (size_t i = w; i < n; i += t) fn(i); });
  for (size_t i = 0; i < n; i += t) fn(i);
  for (auto& th : pool) th.join();
}

}  // namespace

Status RowTargetProvider::compute_rows(const std::vector<TermIndex>& missing) const {
  auto start = std::chrono::steady_clock::now();
  SCCELLO_ASSIGN_OR_RETURN(std::vector<double> raw, kernel_->compute(missing, threads_));
  stats_.kernel_ms += ms_since(start);
  start = std::chrono::steady_clock::now();
  const size_t n = isa_->num_terms();
  std::vector<std::shared_ptr<const TargetRow>> made(missing.size());
  parallel_for(missing.size(), threads_, [&](size_t i) {
    made[i] = make_row(std::vector<double>(raw.begin() + i * n, raw.begin() + (i + 1) * n));
  });
  std::vector<TermId> ids;
  std::vector<uint8_t> levels(store_ ? missing.size() * n : 0);
  for (size_t i = 0; i < missing.size(); ++i) {
    ids.push_back(isa_->id_of(missing[i]));
    if (store_) std::copy(made[i]->level.begin(), made[i]->level.end(), levels.begin() + i * n);
    set_row(missing[i], std::move(made[i]));
  }
  stats_.rows_ms += ms_since(start);
  stats_.rows_computed += static_cast<int64_t>(missing.size());
  if (store_ && !store_->read_only()) {
    SCCELLO_RETURN_IF_ERROR(TargetCache(*store_).put(cache_key_, ids, raw.data(), levels.data()));
  }
  return Status::ok();
}

template <class Have>
std::vector<TermIndex> RowTargetProvider::absent(const std::vector<int64_t>& terms, Have have) const {
  std::vector<TermIndex> out;
  std::vector<uint8_t> seen(terms.size() > 64 ? rows_.size() : 0);
  for (int64_t t : terms) {
    if (t < 0 || !is_node_[t] || have(static_cast<TermIndex>(t))) continue;
    const bool dup = seen.empty() ? std::find(out.begin(), out.end(), t) != out.end() : seen[t] != 0;
    if (dup) continue;
    if (!seen.empty()) seen[t] = 1;
    out.push_back(static_cast<TermIndex>(t));
  }
  return out;
}

Status RowTargetProvider::ensure_rows_locked(const std::vector<TermIndex>& terms,
                                             std::vector<TermIndex>* loaded) const {
  std::vector<TermIndex> missing;
  for (TermIndex t : terms) {
    if (!rows_[t]) missing.push_back(t);
  }
  if (missing.empty()) return Status::ok();
  if (store_) SCCELLO_RETURN_IF_ERROR(load_from_cache(&missing, loaded));
  if (missing.empty()) return Status::ok();
  return compute_rows(missing);
}

Status RowTargetProvider::ensure_rows(const std::vector<int64_t>& terms) const {
  std::lock_guard<std::mutex> lock(mu_);
  return ensure_rows_locked(absent(terms, [&](TermIndex t) { return rows_[t] != nullptr; }), nullptr);
}

Status RowTargetProvider::ensure_levels(const std::vector<int64_t>& terms) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<TermIndex> missing = absent(terms, [&](TermIndex t) { return level_rows_[t] != nullptr; });
  if (missing.empty()) return Status::ok();
  if (store_) SCCELLO_RETURN_IF_ERROR(load_levels_from_cache(&missing));
  if (missing.empty()) return Status::ok();
  // No level row cached: full rows (raw from the cache, or computed, which caches both). Rows
  // read from an older cache that had no level rows get theirs written now.
  std::vector<TermIndex> loaded;
  SCCELLO_RETURN_IF_ERROR(ensure_rows_locked(missing, &loaded));
  if (loaded.empty() || store_->read_only()) return Status::ok();
  const size_t n = isa_->num_terms();
  std::vector<TermId> ids;
  std::vector<uint8_t> levels(loaded.size() * n);
  for (size_t i = 0; i < loaded.size(); ++i) {
    ids.push_back(isa_->id_of(loaded[i]));
    std::copy(rows_[loaded[i]]->level.begin(), rows_[loaded[i]]->level.end(), levels.begin() + i * n);
  }
  return TargetCache(*store_).put_levels(cache_key_, ids, levels.data());
}

const uint8_t* RowTargetProvider::level_row_of_term(int64_t t) const {
  if (t < 0 || !is_node_[t]) return empty_row_->level.data();
  return level_rows_[t]->data();
}

Result<std::shared_ptr<const TargetRow>> RowTargetProvider::row(LabelIndex label) const {
  SCCELLO_RETURN_IF_ERROR(check_labels({label}));
  const int64_t t = label_term_[label];
  SCCELLO_RETURN_IF_ERROR(ensure_rows({t}));
  if (t < 0 || !kernel_->is_node(static_cast<TermIndex>(t))) return empty_row_;
  std::lock_guard<std::mutex> lock(mu_);
  return rows_[t];
}

Status RowTargetProvider::batch_targets(const std::vector<LabelIndex>& labels, int32_t* levels_out,
                                        uint8_t* mask_out) const {
  SCCELLO_RETURN_IF_ERROR(check_labels(labels));
  const size_t n = labels.size();
  std::vector<int64_t> terms(n);
  for (size_t i = 0; i < n; ++i) terms[i] = label_term_[labels[i]];
  if (levels_out) {
    SCCELLO_RETURN_IF_ERROR(ensure_levels(terms));
    // No lock: a filled level row is never replaced, and ensure_levels published ours.
    for (size_t i = 0; i < n; ++i) {
      const uint8_t* r = level_row_of_term(terms[i]);
      int32_t* out = levels_out + i * n;
      for (size_t j = 0; j < n; ++j) out[j] = terms[j] < 0 ? 1 : r[terms[j]];
    }
  }
  if (mask_out) {
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < n; ++j) {
        const bool self = labels[i] == labels[j];
        const bool anc = terms[i] >= 0 && terms[j] >= 0 &&
                         isa_->is_ancestor(static_cast<TermIndex>(terms[j]), static_cast<TermIndex>(terms[i]));
        mask_out[i * n + j] = (self || anc) ? 1 : 0;
      }
    }
  }
  return Status::ok();
}

Result<std::vector<int32_t>> RowTargetProvider::levels(const std::vector<LabelIndex>& labels) const {
  std::vector<int32_t> out(labels.size() * labels.size());
  SCCELLO_RETURN_IF_ERROR(batch_targets(labels, out.data(), nullptr));
  return out;
}

Result<std::vector<uint8_t>> RowTargetProvider::ancestor_mask(const std::vector<LabelIndex>& labels) const {
  std::vector<uint8_t> out(labels.size() * labels.size());
  SCCELLO_RETURN_IF_ERROR(batch_targets(labels, nullptr, out.data()));
  return out;
}

Result<std::vector<double>> RowTargetProvider::raw_row_f64(LabelIndex label) const {
  SCCELLO_ASSIGN_OR_RETURN(std::shared_ptr<const TargetRow> r, row(label));
  std::vector<double> out(labels_.size(), 0.0);
  for (size_t j = 0; j < labels_.size(); ++j) {
    if (label_term_[j] >= 0) out[j] = r->raw[label_term_[j]];
  }
  return out;
}

Result<std::vector<float>> RowTargetProvider::raw_row(LabelIndex label) const {
  SCCELLO_ASSIGN_OR_RETURN(std::vector<double> r, raw_row_f64(label));
  return std::vector<float>(r.begin(), r.end());
}

Result<std::vector<LabelIndex>> RowTargetProvider::negatives(LabelIndex anchor, int32_t level) const {
  SCCELLO_RETURN_IF_ERROR(check_labels({anchor}));
  const int64_t ta = label_term_[anchor];
  SCCELLO_RETURN_IF_ERROR(ensure_levels({ta}));
  std::shared_ptr<const std::vector<uint8_t>> own;  // keeps the row alive outside the lock
  const uint8_t* r = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ta >= 0 && is_node_[ta]) own = level_rows_[ta];
    r = own ? own->data() : empty_row_->level.data();
  }
  std::vector<LabelIndex> out;
  for (size_t j = 0; j < labels_.size(); ++j) {
    const int64_t tb = label_term_[j];
    const int32_t lv = tb < 0 ? 1 : r[tb];
    const bool anc = static_cast<LabelIndex>(j) == anchor ||
                     (ta >= 0 && tb >= 0 && isa_->is_ancestor(static_cast<TermIndex>(tb), static_cast<TermIndex>(ta)));
    if (lv < level && !anc) out.push_back(static_cast<LabelIndex>(j));
  }
  return out;
}

Status RowTargetProvider::precompute() const {
  return ensure_rows(label_term_);
}

Status RowTargetProvider::raw_matrix(double* out) const {
  const size_t n = labels_.size();
  std::vector<int64_t> column(isa_->num_terms(), -1);
  std::vector<TermIndex> sources;
  bool direct = store_ == nullptr;  // with a cache, rows are read from and written to it as usual
  for (size_t j = 0; j < n && direct; ++j) {
    const int64_t t = label_term_[j];
    direct = t >= 0 && is_node_[t] && column[t] < 0;  // every label a node, none twice
    if (direct) column[t] = static_cast<int64_t>(j), sources.push_back(static_cast<TermIndex>(t));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t j = 0; j < n && direct; ++j) direct = rows_[label_term_[j]] == nullptr;  // none computed yet
  }
  if (!direct) return TargetProvider::raw_matrix(out);
  auto start = std::chrono::steady_clock::now();
  SCCELLO_RETURN_IF_ERROR(kernel_->compute_into(sources, threads_, out, n, column));
  std::lock_guard<std::mutex> lock(mu_);
  stats_.kernel_ms += ms_since(start);
  stats_.rows_computed += static_cast<int64_t>(n);
  return Status::ok();
}

Status RowKernel::compute_into(const std::vector<TermIndex>& sources, int threads, double* out, size_t row_length,
                               const std::vector<int64_t>& column_of_term) const {
  SCCELLO_ASSIGN_OR_RETURN(std::vector<double> raw, compute(sources, threads));
  const size_t terms = column_of_term.size();
  for (size_t r = 0; r < sources.size(); ++r) {
    for (size_t t = 0; t < terms; ++t) {
      if (column_of_term[t] >= 0) out[r * row_length + column_of_term[t]] = raw[r * terms + t];
    }
  }
  return Status::ok();
}

// ---------------------------------------------------------------------------------------------
// TargetProvider defaults (declared in target_provider.h).

Status TargetProvider::raw_matrix(double* out) const {
  SCCELLO_RETURN_IF_ERROR(precompute());
  const size_t n = label_space().size();
  for (size_t i = 0; i < n; ++i) {
    SCCELLO_ASSIGN_OR_RETURN(std::vector<double> row, raw_row_f64(static_cast<LabelIndex>(i)));
    std::copy(row.begin(), row.end(), out + i * n);
  }
  return Status::ok();
}

Result<std::vector<double>> TargetProvider::raw_row_f64(LabelIndex label) const {
  SCCELLO_ASSIGN_OR_RETURN(std::vector<float> r, raw_row(label));
  return std::vector<double>(r.begin(), r.end());
}

Status TargetProvider::batch_targets(const std::vector<LabelIndex>& labels, int32_t* levels_out,
                                     uint8_t* mask_out) const {
  const size_t n = labels.size();
  if (levels_out) {
    SCCELLO_ASSIGN_OR_RETURN(std::vector<int32_t> lv, levels(labels));
    std::copy(lv.begin(), lv.end(), levels_out);
  }
  if (mask_out) {
    SCCELLO_ASSIGN_OR_RETURN(std::vector<uint8_t> m, ancestor_mask(labels));
    std::copy(m.begin(), m.begin() + n * n, mask_out);
  }
  return Status::ok();
}

LabelIndex TargetProvider::label_of(const TermId& id) const {
  const auto& space = label_space();
  auto it = std::find(space.begin(), space.end(), id);
  return it == space.end() ? -1 : static_cast<LabelIndex>(it - space.begin());
}

}  // namespace sccello
