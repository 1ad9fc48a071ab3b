#include "model/eval/novel_types.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "model/eval/eval_inputs.h"
#include "model/eval/linalg.h"
#include "plugins/target_registry.h"

namespace sccello::eval {
namespace {

std::vector<float> normalised(const float* row, int64_t dims) {
  double s = 0;
  for (int64_t d = 0; d < dims; ++d) s += static_cast<double>(row[d]) * row[d];
  const double inv = s > 0 ? 1.0 / std::sqrt(s) : 0.0;
  std::vector<float> out(dims);
  for (int64_t d = 0; d < dims; ++d) out[d] = static_cast<float>(row[d] * inv);
  return out;
}

// Average ranks of `x`, centred and scaled to unit norm (a zero row when `x` is constant).
template <class T>
std::vector<double> standard_ranks(const T* x, int64_t n) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return x[a] < x[b]; });
  std::vector<double> rank(n);
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j + 1 < n && x[order[j + 1]] == x[order[i]]) ++j;
    for (int64_t t = i; t <= j; ++t) rank[order[t]] = 0.5 * (i + j) + 1;
    i = j + 1;
  }
  const double mean = 0.5 * (n + 1);
  double norm = 0;
  for (double& r : rank) norm += (r - mean) * (r - mean), r -= mean;
  for (double& r : rank) r = norm > 0 ? r / std::sqrt(norm) : 0.0;
  return rank;
}

struct Cells {
  Embeddings emb;
  std::vector<std::string> labels;
};

Result<Cells> read_cells(const std::string& path, const std::string& key, const std::string& obs,
                         const std::string& column) {
  Cells c;
  SCCELLO_ASSIGN_OR_RETURN(c.emb, read_embeddings(path, key));
  SCCELLO_ASSIGN_OR_RETURN(c.labels, read_obs_column(obs.empty() ? path : obs, column, c.emb.cell_ids));
  return c;
}

// Index of each candidate set member: the true type plus `size - 1` others drawn without replacement.
std::vector<int32_t> draw_candidates(int32_t truth, int32_t unseen, int32_t size, std::mt19937_64* rng) {
  std::vector<int32_t> others;
  for (int32_t u = 0; u < unseen; ++u)
    if (u != truth) others.push_back(u);
  for (int32_t i = 0; i + 1 < size; ++i) {  // partial Fisher-Yates
    const int32_t j = i + static_cast<int32_t>((*rng)() % (others.size() - i));
    std::swap(others[i], others[j]);
  }
  others.resize(size - 1);
  others.push_back(truth);
  std::sort(others.begin(), others.end());
  return others;
}

// Predictions of one draw: each cell picks the best-scoring member of its type's candidate set.
std::vector<int32_t> predict_draw(const std::vector<float>& scores, const std::vector<int32_t>& truth, int32_t unseen,
                                  int32_t size, std::mt19937_64* rng) {
  std::vector<std::vector<int32_t>> sets(unseen);
  for (int32_t t = 0; t < unseen; ++t) sets[t] = draw_candidates(t, unseen, size, rng);
  std::vector<int32_t> out(truth.size());
  for (size_t i = 0; i < truth.size(); ++i) {
    int32_t best = -1;
    for (int32_t c : sets[truth[i]])
      if (best < 0 || scores[i * unseen + c] > scores[i * unseen + best]) best = c;
    out[i] = best;
  }
  return out;
}

std::pair<double, double> mean_sd(const std::vector<double>& v) {
  double m = 0, s = 0;
  for (double x : v) m += x;
  m /= v.size();
  for (double x : v) s += (x - m) * (x - m);
  return {m, v.size() > 1 ? std::sqrt(s / (v.size() - 1)) : 0.0};
}

NovelFractionScore score_fraction(const std::vector<float>& scores, const std::vector<int32_t>& truth, int32_t unseen,
                                  double fraction, const NovelRequest& request) {
  NovelFractionScore f;
  f.fraction = fraction;
  f.candidates = std::clamp(static_cast<int32_t>(std::lround(fraction * unseen)), 1, unseen);
  std::vector<double> acc, f1;
  for (int32_t d = 0; d < request.draws; ++d) {
    std::mt19937_64 rng(request.seed * 1000003ULL + static_cast<uint64_t>(d) * 7919ULL + static_cast<uint64_t>(fraction * 1000));
    const std::vector<int32_t> predicted = predict_draw(scores, truth, unseen, f.candidates, &rng);
    acc.push_back(accuracy(truth, predicted));
    f1.push_back(macro_f1(truth, predicted));
  }
  std::tie(f.accuracy, f.accuracy_sd) = mean_sd(acc);
  std::tie(f.macro_f1, f.macro_f1_sd) = mean_sd(f1);
  return f;
}

}  // namespace

std::vector<float> type_centroids(const std::vector<float>& values, int64_t dims, const std::vector<int32_t>& type,
                                  int32_t types) {
  std::vector<double> sum(types * dims, 0);
  std::vector<int64_t> count(types, 0);
  for (size_t i = 0; i < type.size(); ++i) {
    if (type[i] < 0 || type[i] >= types) continue;  // a cell of no seen type
    const std::vector<float> z = normalised(values.data() + i * dims, dims);
    for (int64_t d = 0; d < dims; ++d) sum[type[i] * dims + d] += z[d];
    ++count[type[i]];
  }
  std::vector<float> out(types * dims, 0);
  for (int32_t t = 0; t < types; ++t)
    for (int64_t d = 0; d < dims && count[t]; ++d) out[t * dims + d] = static_cast<float>(sum[t * dims + d] / count[t]);
  return out;
}

std::vector<float> centroid_cosines(const std::vector<float>& values, int64_t dims, const std::vector<float>& centroids) {
  const int64_t n = static_cast<int64_t>(values.size()) / dims, m = static_cast<int64_t>(centroids.size()) / dims;
  std::vector<float> a, b;
  for (int64_t i = 0; i < n; ++i) {
    auto z = normalised(values.data() + i * dims, dims);
    a.insert(a.end(), z.begin(), z.end());
  }
  for (int64_t j = 0; j < m; ++j) {
    auto z = normalised(centroids.data() + j * dims, dims);
    b.insert(b.end(), z.begin(), z.end());
  }
  std::vector<float> out(n * m);
  if (n && m) gemm_abt(n, m, dims, 1.0f, a.data(), b.data(), 0.0f, out.data());
  return out;
}

std::vector<float> novel_type_scores(const std::vector<float>& cosines, int64_t cells,
                                     const std::vector<double>& similarity, int64_t candidates, int64_t seen) {
  std::vector<double> cell_ranks, cand_ranks;
  cell_ranks.reserve(cells * seen);
  for (int64_t i = 0; i < cells; ++i) {
    auto r = standard_ranks(cosines.data() + i * seen, seen);
    cell_ranks.insert(cell_ranks.end(), r.begin(), r.end());
  }
  for (int64_t c = 0; c < candidates; ++c) {
    auto r = standard_ranks(similarity.data() + c * seen, seen);
    cand_ranks.insert(cand_ranks.end(), r.begin(), r.end());
  }
  std::vector<double> rho(cells * candidates, 0.0);
  if (cells && candidates) gemm_abt(cells, candidates, seen, 1.0, cell_ranks.data(), cand_ranks.data(), 0.0, rho.data());
  return std::vector<float>(rho.begin(), rho.end());
}

Result<std::vector<double>> similarity_rows(const TargetProvider& provider, const std::vector<TermId>& candidates,
                                            const std::vector<TermId>& seen) {
  std::vector<LabelIndex> seen_at;
  for (const TermId& s : seen) seen_at.push_back(provider.label_of(s));
  std::vector<double> out;
  for (const TermId& c : candidates) {
    const LabelIndex l = provider.label_of(c);
    if (l < 0) return Status::not_found(c + " is not in the label space of " + provider.describe());
    SCCELLO_ASSIGN_OR_RETURN(std::vector<double> row, provider.raw_row_f64(l));
    for (LabelIndex s : seen_at) out.push_back(s >= 0 ? row[s] : 0.0);
  }
  return out;
}

double accuracy(const std::vector<int32_t>& truth, const std::vector<int32_t>& predicted) {
  int64_t hit = 0;
  for (size_t i = 0; i < truth.size(); ++i) hit += truth[i] == predicted[i];
  return truth.empty() ? 0.0 : static_cast<double>(hit) / truth.size();
}

double macro_f1(const std::vector<int32_t>& truth, const std::vector<int32_t>& predicted) {
  std::map<int32_t, std::array<int64_t, 3>> count;  // class -> tp, fp, fn
  for (size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] == predicted[i]) {
      ++count[truth[i]][0];
    } else {
      ++count[predicted[i]][1];
      ++count[truth[i]][2];
    }
  }
  double total = 0;
  for (const auto& [cls, c] : count) {
    const double denom = 2.0 * c[0] + c[1] + c[2];
    total += denom > 0 ? 2.0 * c[0] / denom : 0.0;
  }
  return count.empty() ? 0.0 : total / count.size();
}

namespace {

// Seen types: the reference's labelled types that are not held out (first appearance order).
NovelReport split_types(const NovelRequest& request, const Cells& ref, std::vector<int32_t>* ref_type) {
  NovelReport report;
  const std::set<TermId> held(request.held_out.begin(), request.held_out.end());
  report.unseen = request.held_out;
  std::map<TermId, int32_t> seen_at;
  ref_type->assign(ref.labels.size(), -1);
  for (size_t i = 0; i < ref.labels.size(); ++i) {
    const std::string& l = ref.labels[i];
    if (is_missing_label(l) || held.count(l)) continue;
    auto [it, fresh] = seen_at.emplace(l, static_cast<int32_t>(report.seen.size()));
    if (fresh) report.seen.push_back(l);
    (*ref_type)[i] = it->second;
    ++report.reference_cells;
  }
  return report;
}

// Cells of the query whose label is a held-out type, with their type's index in `unseen`.
std::vector<int64_t> query_rows(const Cells& query, const NovelReport& report, std::vector<int32_t>* truth,
                                int64_t* ignored) {
  std::map<TermId, int32_t> at;
  for (size_t u = 0; u < report.unseen.size(); ++u) at.emplace(report.unseen[u], static_cast<int32_t>(u));
  std::vector<int64_t> rows;
  for (size_t i = 0; i < query.labels.size(); ++i) {
    auto it = at.find(query.labels[i]);
    if (it == at.end()) {
      ++*ignored;
      continue;
    }
    rows.push_back(static_cast<int64_t>(i));
    truth->push_back(it->second);
  }
  return rows;
}

std::vector<float> rows_of(const Embeddings& e, const std::vector<int64_t>& rows) {
  std::vector<float> out;
  out.reserve(rows.size() * e.dims);
  for (int64_t r : rows) out.insert(out.end(), e.values.begin() + r * e.dims, e.values.begin() + (r + 1) * e.dims);
  return out;
}

Result<std::unique_ptr<TargetProvider>> bind_provider(const NovelRequest& request, const NovelReport& report) {
  TargetContext tc = request.target_context;
  tc.label_space = report.seen;
  tc.label_space.insert(tc.label_space.end(), report.unseen.begin(), report.unseen.end());
  return make_target_provider(request.target, tc);
}

}  // namespace

Result<NovelReport> evaluate_novel_types(const NovelRequest& request) {
  if (request.held_out.size() < 2) return Status::invalid("--held-out needs at least 2 unseen types (CL:a,CL:b,...)");
  SCCELLO_ASSIGN_OR_RETURN(Cells ref, read_cells(request.reference, request.reference_key, request.reference_obs, request.label_column));
  SCCELLO_ASSIGN_OR_RETURN(Cells query, read_cells(request.query, request.query_key, request.query_obs, request.label_column));
  if (ref.emb.dims != query.emb.dims)
    return Status::invalid("reference has " + std::to_string(ref.emb.dims) + " dimensions, query " + std::to_string(query.emb.dims));
  std::vector<int32_t> ref_type, truth;
  NovelReport report = split_types(request, ref, &ref_type);
  if (report.seen.size() < 3) return Status::invalid(request.reference + ": fewer than 3 seen types in column " + request.label_column);
  const std::vector<int64_t> rows = query_rows(query, report, &truth, &report.query_cells_ignored);
  report.query_cells = static_cast<int64_t>(rows.size());
  if (rows.empty()) return Status::invalid(request.query + ": no cell is labelled with a --held-out type");
  SCCELLO_ASSIGN_OR_RETURN(auto provider, bind_provider(request, report));
  report.target = provider->describe();
  SCCELLO_ASSIGN_OR_RETURN(std::vector<double> sim, similarity_rows(*provider, report.unseen, report.seen));
  std::vector<int64_t> ref_rows;
  std::vector<int32_t> kept_type;
  for (size_t i = 0; i < ref_type.size(); ++i)
    if (ref_type[i] >= 0) ref_rows.push_back(static_cast<int64_t>(i)), kept_type.push_back(ref_type[i]);
  const std::vector<float> ref_values = rows_of(ref.emb, ref_rows), query_values = rows_of(query.emb, rows);
  const int64_t seen = static_cast<int64_t>(report.seen.size()), unseen = static_cast<int64_t>(report.unseen.size());
  const std::vector<float> centroids = type_centroids(ref_values, ref.emb.dims, kept_type, static_cast<int32_t>(seen));
  const std::vector<float> cosines = centroid_cosines(query_values, query.emb.dims, centroids);
  const std::vector<float> scores = novel_type_scores(cosines, report.query_cells, sim, unseen, seen);
  for (double f : request.fractions)
    report.scores.push_back(score_fraction(scores, truth, static_cast<int32_t>(unseen), f, request));
  return report;
}

}  // namespace sccello::eval
