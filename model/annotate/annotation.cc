#include "model/annotate/annotation.h"

#include <chrono>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "model/eval/knn_graph.h"
#include "model/eval/leiden.h"
#include "model/eval/novel_types.h"
#include "plugins/target_registry.h"
#include "store/store.h"

namespace sccello {
namespace {

struct Votes {
  std::vector<TermIndex> terms;
  std::vector<double> weights;
  std::map<std::string, int64_t> counts;  // direct neighbour counts per term id
};

Votes collect_votes(const CellSearch& search, const std::vector<Neighbour>& hits) {
  Votes v;
  const OntologyGraph& g = search.graph();
  for (const auto& h : hits) {
    const TermId& term = search.viewed_term(h.row);
    auto t = term.empty() ? std::nullopt : g.index_of(term);
    if (!t) continue;
    v.terms.push_back(*t);
    v.weights.push_back(std::max(0.0f, h.similarity) + 1e-6);
    v.counts[term]++;
  }
  return v;
}

// Seen types: the reference's terms, their centroids (normalised rows' means) and index.
struct SeenTypes {
  std::vector<TermId> terms;
  std::unordered_map<TermIndex, int32_t> position;  // graph index -> seen position
  std::vector<float> centroids;                     // seen x dims
};

// Reference rows allowed by the filters are the seen types' cells (a filtered-out type is unseen).
Result<SeenTypes> seen_types(const CellSearch& search, const QueryFilters& filters) {
  const CellIndex& index = search.index();
  const OntologyGraph& g = search.graph();
  SeenTypes s;
  std::vector<int32_t> type(static_cast<size_t>(index.info().rows), -1);
  for (int64_t r = 0; r < index.info().rows; ++r) {
    const TermId& term = search.viewed_term(r);
    auto t = term.empty() ? std::nullopt : g.index_of(term);
    if (!t || !search.allowed(r, filters, -1)) continue;
    auto [it, added] = s.position.emplace(*t, static_cast<int32_t>(s.terms.size()));
    if (added) s.terms.push_back(term);
    type[static_cast<size_t>(r)] = it->second;
  }
  SCCELLO_ASSIGN_OR_RETURN(const std::vector<float>* matrix, index.matrix());
  s.centroids = eval::type_centroids(*matrix, index.info().model.dims, type, static_cast<int32_t>(s.terms.size()));
  return s;
}

// Unseen candidates for one cell: descendants (and self) of `base`, minus the seen types, the
// `limit` nearest to `anchor` in the graph.
std::vector<TermIndex> candidates_for(const OntologyGraph& g, TermIndex base, TermIndex anchor, const SeenTypes& seen,
                                      int64_t limit) {
  std::vector<std::pair<int, TermIndex>> found;
  for (TermIndex d : g.descendants(base, true))
    if (!seen.position.count(d)) found.push_back({g.path_distance(anchor, d), d});
  std::sort(found.begin(), found.end(), [&](const auto& a, const auto& b) {
    const int da = a.first < 0 ? 1 << 30 : a.first, db = b.first < 0 ? 1 << 30 : b.first;
    return da != db ? da < db : g.id_of(a.second) < g.id_of(b.second);
  });
  if (static_cast<int64_t>(found.size()) > limit) found.resize(static_cast<size_t>(limit));
  std::vector<TermIndex> out;
  for (const auto& f : found) out.push_back(f.second);
  return out;
}

std::string hits_json(const Votes& v) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [term, n] : v.counts) j[term] = n;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void call_from_votes(const OntologyGraph& g, const Votes& v, double min_support, CellAnnotation* a) {
  if (v.terms.empty()) return;
  std::vector<double> support = rolled_up_support(g, v.terms, v.weights);
  const TermIndex call = most_specific_supported(g, support, min_support);
  a->term_id = g.id_of(call);
  a->term_name = g.term(call).name;
  a->score = support[call];
  std::map<TermIndex, double> direct;
  double total = 0;
  for (size_t i = 0; i < v.terms.size(); ++i) direct[v.terms[i]] += v.weights[i], total += v.weights[i];
  std::vector<std::pair<double, TermIndex>> ranked;
  for (const auto& [t, w] : direct) ranked.push_back({w / total, t});
  std::sort(ranked.begin(), ranked.end(), [&](const auto& x, const auto& y) {
    return x.first != y.first ? x.first > y.first : g.id_of(x.second) < g.id_of(y.second);
  });
  a->fine_term_id = g.id_of(ranked[0].second);
  a->fine_term_name = g.term(ranked[0].second).name;
  a->fine_share = ranked[0].first;
  a->margin = ranked[0].first - (ranked.size() > 1 ? ranked[1].first : 0.0);
}

// Per cell: its candidates; all rows the provider must know.
struct NovelPlan {
  std::vector<std::vector<TermIndex>> candidates;  // per cell
  std::vector<TermId> space;                       // seen types first, then the candidates
  std::unordered_map<TermIndex, int32_t> row_of;   // candidate -> row of the similarity matrix
  std::vector<TermId> candidate_ids;               // rows of the similarity matrix
};

Result<std::vector<double>> similarity_to_seen(const CellSearch& search, const SeenTypes& seen,
                                               const std::vector<TermId>& rows, const std::string& target,
                                               int threads) {
  std::vector<TermId> space = seen.terms;
  for (const auto& r : rows)
    if (std::find(seen.terms.begin(), seen.terms.end(), r) == seen.terms.end()) space.push_back(r);
  TargetContext ctx;
  ctx.store = &search.store();
  ctx.release = search.release_name();
  ctx.release_data = search.release().get();
  ctx.label_space = space;
  ctx.threads = threads;
  ctx.use_cache = !search.store().read_only();
  SCCELLO_ASSIGN_OR_RETURN(auto provider, make_target_provider(target, ctx));
  return eval::similarity_rows(*provider, rows, seen.terms);
}

Status score_novel(const CellSearch& search, const std::vector<float>& normalised, int64_t dims,
                   const std::vector<std::vector<Neighbour>>& neighbours, const AnnotateOptions& o,
                   std::vector<CellAnnotation>* out) {
  const OntologyGraph& g = search.graph();
  SCCELLO_ASSIGN_OR_RETURN(SeenTypes seen, seen_types(search, o.filters));
  if (seen.terms.size() < 3) return Status::ok();  // a rank correlation needs a few seen types
  std::optional<TermIndex> under;
  if (!o.novel_under.empty()) {
    SCCELLO_RETURN_IF_ERROR(search.check_term(o.novel_under, "--novel-under"));
    under = g.index_of(o.novel_under);
  }
  // Candidates per cell and the union of rows to compute (the seen terms' own rows included).
  std::vector<std::vector<TermIndex>> per_cell(out->size());
  std::map<TermIndex, int32_t> row_of;
  std::vector<TermId> rows;
  auto add_row = [&](TermIndex t) {
    if (row_of.emplace(t, static_cast<int32_t>(rows.size())).second) rows.push_back(g.id_of(t));
  };
  // Cells share a handful of (neighbour term set, fine term) combinations: the LCA and the
  // candidate list (a walk over the LCA's descendants with a graph distance each) once per
  // combination, not per cell.
  std::map<std::vector<TermIndex>, std::vector<TermIndex>> lca_of_votes;
  std::map<std::pair<TermIndex, TermIndex>, std::vector<TermIndex>> candidates_of;
  for (size_t i = 0; i < out->size(); ++i) {
    const CellAnnotation& a = (*out)[i];
    if (a.fine_term_id.empty()) continue;
    const TermIndex fine = *g.index_of(a.fine_term_id);
    std::vector<TermIndex> voted;
    for (const auto& n : neighbours[i])
      if (auto t = g.index_of(search.viewed_term(n.row))) voted.push_back(*t);
    std::sort(voted.begin(), voted.end());
    voted.erase(std::unique(voted.begin(), voted.end()), voted.end());
    auto lca_it = lca_of_votes.find(voted);
    if (lca_it == lca_of_votes.end())
      lca_it = lca_of_votes.emplace(voted, under ? std::vector<TermIndex>{*under} : g.lca(voted)).first;
    if (lca_it->second.empty()) continue;
    const auto key = std::make_pair(lca_it->second.front(), fine);
    auto cand_it = candidates_of.find(key);
    if (cand_it == candidates_of.end())
      cand_it = candidates_of.emplace(key, candidates_for(g, key.first, fine, seen, o.novel_candidates)).first;
    per_cell[i] = cand_it->second;
    add_row(fine);
    for (TermIndex c : per_cell[i]) add_row(c);
  }
  if (rows.empty()) return Status::ok();
  SCCELLO_ASSIGN_OR_RETURN(std::vector<double> similarity, similarity_to_seen(search, seen, rows, o.target, o.threads));
  const int64_t s = static_cast<int64_t>(seen.terms.size());
  std::vector<float> cosines = eval::centroid_cosines(normalised, dims, seen.centroids);
  for (size_t i = 0; i < out->size(); ++i) {
    CellAnnotation& a = (*out)[i];
    if (a.fine_term_id.empty()) continue;
    std::vector<double> cell_rows;
    std::vector<TermIndex> order = {*g.index_of(a.fine_term_id)};
    order.insert(order.end(), per_cell[i].begin(), per_cell[i].end());
    for (TermIndex t : order) {
      const double* row = similarity.data() + static_cast<int64_t>(row_of[t]) * s;
      cell_rows.insert(cell_rows.end(), row, row + s);
    }
    std::vector<float> cell_cos(cosines.begin() + static_cast<int64_t>(i) * s, cosines.begin() + static_cast<int64_t>(i + 1) * s);
    std::vector<float> scores = eval::novel_type_scores(cell_cos, 1, cell_rows, static_cast<int64_t>(order.size()), s);
    a.seen_score = scores[0];
    for (size_t c = 1; c < order.size(); ++c)
      if (a.novel_term_id.empty() || scores[c] > a.novel_score) {
        a.novel_term_id = g.id_of(order[c]);
        a.novel_term_name = g.term(order[c]).name;
        a.novel_score = scores[c];
      }
    a.is_novel = !a.novel_term_id.empty() && a.fine_share < o.novel_threshold && a.novel_score > a.seen_score;
  }
  return Status::ok();
}

Status smooth_calls(const CellSearch& search, const std::vector<float>& normalised, int64_t dims,
                    const AnnotateOptions& o, std::vector<CellAnnotation>* out) {
  const OntologyGraph& g = search.graph();
  const int64_t n = static_cast<int64_t>(out->size());
  if (n < 3) return Status::ok();
  eval::KnnLists lists = eval::hnsw_knn(normalised, dims, static_cast<int32_t>(std::min<int64_t>(15, n - 1)), o.threads);
  eval::LeidenOptions lo;
  lo.resolution = o.smooth_resolution;
  lo.restarts = 1;
  SCCELLO_ASSIGN_OR_RETURN(eval::LeidenResult clusters, eval::leiden(eval::umap_connectivities(lists), lo));
  std::vector<std::vector<TermIndex>> members(static_cast<size_t>(clusters.clusters));
  for (int64_t i = 0; i < n; ++i) {
    (*out)[i].cluster = clusters.membership[i];
    if (auto t = g.index_of((*out)[i].fine_term_id)) members[clusters.membership[i]].push_back(*t);
  }
  for (int32_t c = 0; c < clusters.clusters; ++c) {
    if (members[c].empty()) continue;
    std::vector<double> support = rolled_up_support(g, members[c], std::vector<double>(members[c].size(), 1.0));
    const TermIndex call = most_specific_supported(g, support, o.min_support);
    for (auto& a : *out)
      if (a.cluster == c) a.smoothed_term_id = g.id_of(call), a.smoothed_term_name = g.term(call).name;
  }
  return Status::ok();
}

}  // namespace

std::vector<double> rolled_up_support(const OntologyGraph& graph, const std::vector<TermIndex>& voted_terms,
                                      const std::vector<double>& weights) {
  std::vector<double> support(graph.num_terms(), 0.0);
  double total = 0;
  for (size_t i = 0; i < voted_terms.size(); ++i) {
    total += weights[i];
    support[voted_terms[i]] += weights[i];
    for (TermIndex a : graph.ancestor_span(voted_terms[i])) support[a] += weights[i];
  }
  if (total > 0)
    for (double& s : support) s /= total;
  return support;
}

TermIndex most_specific_supported(const OntologyGraph& graph, const std::vector<double>& support, double min_support) {
  TermIndex best = 0;
  int best_depth = -1;
  for (TermIndex t = 0; t < static_cast<TermIndex>(support.size()); ++t) {
    if (support[t] + 1e-12 < min_support || support[t] <= 0) continue;
    const int d = graph.depth(t);
    if (d > best_depth || (d == best_depth && (support[t] > support[best] ||
                                               (support[t] == support[best] && graph.id_of(t) < graph.id_of(best))))) {
      best = t;
      best_depth = d;
    }
  }
  return best;
}

Result<std::vector<CellAnnotation>> annotate_cells(const CellSearch& search, const std::vector<float>& embeddings,
                                                   const std::vector<int64_t>& exclude_rows,
                                                   const AnnotateOptions& o, AnnotateTiming* timing) {
  const int64_t dims = search.index().info().model.dims;
  if (dims <= 0 || embeddings.size() % static_cast<size_t>(dims) != 0)
    return Status::invalid("embeddings must have " + std::to_string(dims) + " values per cell");
  if (o.k <= 0 || o.k > search.index().info().rows)
    return Status::invalid("--k must be between 1 and the index's " + std::to_string(search.index().info().rows) + " cells");
  if (!(o.min_support > 0 && o.min_support <= 1)) return Status::invalid("--min-support must be in (0, 1]");
  const int64_t n = static_cast<int64_t>(embeddings.size()) / dims;
  std::vector<float> normalised = embeddings;
  l2_normalize_rows(&normalised, dims);
  QueryOptions q;
  q.k = o.k;
  q.exact = o.exact;
  q.filters = o.filters;
  std::vector<CellAnnotation> out(static_cast<size_t>(n));
  std::vector<std::vector<Neighbour>> neighbours(static_cast<size_t>(n));
  AnnotateTiming t;
  using Clock = std::chrono::steady_clock;
  auto seconds_since = [](Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); };
  auto start = Clock::now();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t exclude = exclude_rows.empty() ? -1 : exclude_rows[static_cast<size_t>(i)];
    SCCELLO_ASSIGN_OR_RETURN(neighbours[i], search.knn(normalised.data() + i * dims, exclude, q));
  }
  t.search = seconds_since(start);
  start = Clock::now();
  for (int64_t i = 0; i < n; ++i) {
    Votes v = collect_votes(search, neighbours[i]);
    call_from_votes(search.graph(), v, o.min_support, &out[i]);
    out[i].hits_json = hits_json(v);
  }
  t.roll_up = seconds_since(start);
  start = Clock::now();
  if (o.novel) SCCELLO_RETURN_IF_ERROR(score_novel(search, normalised, dims, neighbours, o, &out));
  t.novel = seconds_since(start);
  start = Clock::now();
  if (o.smooth) SCCELLO_RETURN_IF_ERROR(smooth_calls(search, normalised, dims, o, &out));
  t.smooth = seconds_since(start);
  if (timing) *timing = t;
  return out;
}

}  // namespace sccello
