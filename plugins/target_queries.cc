#include "plugins/target_queries.h"

#include <sys/mman.h>

#include <algorithm>
#include <numeric>

#include "plugins/row_provider.h"
#include "store/formats/npy.h"

namespace sccello {

std::string provider_term_name(const TargetProvider& p, LabelIndex l) {
  const auto* rows = dynamic_cast<const RowTargetProvider*>(&p);
  if (!rows || rows->label_terms()[l] < 0) return "";
  return rows->isa_graph().term(static_cast<TermIndex>(rows->label_terms()[l])).name;
}

Result<PairTarget> pair_target(const TargetProvider& p) {
  SCCELLO_ASSIGN_OR_RETURN(std::vector<double> raw, p.raw_row_f64(0));
  SCCELLO_ASSIGN_OR_RETURN(std::vector<int32_t> levels, p.levels({0, 1}));
  SCCELLO_ASSIGN_OR_RETURN(std::vector<uint8_t> ancestors, p.ancestor_mask({0, 1}));
  return PairTarget{raw.at(1), levels.at(1), ancestors.at(1) != 0};
}

Result<std::vector<SimilarTerm>> most_similar_terms(const TargetProvider& p, const TermId& term, int top) {
  const LabelIndex l = p.label_of(term);
  if (l < 0)
    return Status::not_found(term + " is not a node of the " + p.describe() +
                             " graph (absent, obsolete, or without edges): see `sccello ontology show " + term + "`");
  SCCELLO_ASSIGN_OR_RETURN(std::vector<double> raw, p.raw_row_f64(l));
  std::vector<LabelIndex> order(raw.size());
  std::iota(order.begin(), order.end(), 0);
  const size_t k = std::min<size_t>(static_cast<size_t>(std::max(top, 0)), order.size());
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](LabelIndex x, LabelIndex y) { return raw[x] > raw[y] || (raw[x] == raw[y] && x < y); });
  order.resize(k);
  std::vector<LabelIndex> pair_labels = order;
  pair_labels.insert(pair_labels.begin(), l);
  SCCELLO_ASSIGN_OR_RETURN(std::vector<int32_t> levels, p.levels(pair_labels));
  SCCELLO_ASSIGN_OR_RETURN(std::vector<uint8_t> ancestors, p.ancestor_mask(pair_labels));
  std::vector<SimilarTerm> out;
  for (size_t i = 0; i < k; ++i)
    out.push_back({p.label_space()[order[i]], provider_term_name(p, order[i]), raw[order[i]], levels[i + 1],
                   ancestors[i + 1] != 0});
  return out;
}

namespace {

// Zeroed doubles in an anonymous mapping of their own, with transparent huge pages asked for.
class MappedDoubles {
 public:
  explicit MappedDoubles(size_t count) : bytes_(std::max<size_t>(1, count * sizeof(double))) {
    void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    ::madvise(p, bytes_, MADV_HUGEPAGE);  // advice only: ignored where THP is off
    data_ = static_cast<double*>(p);
  }
  ~MappedDoubles() {
    if (data_) ::munmap(data_, bytes_);
  }
  MappedDoubles(const MappedDoubles&) = delete;
  MappedDoubles& operator=(const MappedDoubles&) = delete;
  double* data() const { return data_; }

 private:
  size_t bytes_;
  double* data_ = nullptr;
};

}  // namespace

Status write_raw_matrix_npy(const TargetProvider& p, const std::string& path) {
  const size_t n = p.label_space().size();
  MappedDoubles values(n * n);
  if (!values.data())
    return Status::io_error("cannot map " + std::to_string(n * n * sizeof(double) >> 20) +
                                      " MB for the " + std::to_string(n) + " x " + std::to_string(n) + " matrix");
  SCCELLO_RETURN_IF_ERROR(p.raw_matrix(values.data()));
  return write_npy(path, values.data(), static_cast<int64_t>(n), static_cast<int64_t>(n));
}

Result<std::vector<double>> target_matrix(const TargetProvider& p, bool raw) {
  const size_t n = p.label_space().size();
  std::vector<double> values(n * n);
  if (raw) {
    SCCELLO_RETURN_IF_ERROR(p.raw_matrix(values.data()));
    return values;
  }
  std::vector<LabelIndex> all(n);
  std::iota(all.begin(), all.end(), 0);
  SCCELLO_ASSIGN_OR_RETURN(std::vector<int32_t> levels, p.levels(all));
  std::copy(levels.begin(), levels.end(), values.begin());
  return values;
}

}  // namespace sccello
