#include "model/search/cell_search.h"

#include <algorithm>
#include <unordered_map>

#include "plugins/target_provider.h"
#include "plugins/target_registry.h"
#include "store/release_store.h"
#include "store/store.h"

namespace sccello {
namespace {

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Exact top-k over `candidates` rows using the vectors held by the HNSW index.
std::vector<Neighbour> exact_over(const VectorIndex& vectors, const float* query, const std::vector<int64_t>& candidates,
                                  int64_t k) {
  const int64_t dims = vectors.dims();
  std::vector<float> base;
  base.reserve(candidates.size() * static_cast<size_t>(dims));
  for (int64_t r : candidates) {
    std::vector<float> row = vectors.row(r);
    base.insert(base.end(), row.begin(), row.end());
  }
  auto found = exact_knn(base.data(), static_cast<int64_t>(candidates.size()), dims, query, 1, k)[0];
  for (auto& n : found) n.row = candidates[static_cast<size_t>(n.row)];
  return found;
}

}  // namespace

Result<std::unique_ptr<CellSearch>> CellSearch::open(Store& store, const CellIndex& index, const SearchOptions& options) {
  std::unique_ptr<CellSearch> s(new CellSearch());
  s->store_ = &store;
  s->index_ = &index;
  s->options_ = options;
  ReleaseStore releases(store);
  auto name = releases.resolve(options.release.empty() ? index.info().model.release : options.release);
  if (!name && options.release.empty()) name = releases.resolve("");
  if (!name) return name.status();
  s->release_name_ = *name;
  SCCELLO_ASSIGN_OR_RETURN(OntologyRelease release, releases.load(*name));
  s->release_ = std::make_shared<OntologyRelease>(std::move(release));
  SCCELLO_ASSIGN_OR_RETURN(OntologyGraph graph, OntologyGraph::build(*s->release_));
  s->graph_ = std::make_unique<OntologyGraph>(std::move(graph));
  // Each distinct stored term is migrated once; a row's view is its term code's.
  TermMigrator migrator(*s->release_);
  for (const TermId& stored : index.cells().terms()) {
    TermMigration m = stored.empty() ? TermMigration{} : migrator.migrate(stored);
    s->viewed_by_code_.push_back(m.kind == TermMigration::Kind::kUnmapped ? TermId() : m.to);
  }
  return s;
}

Status CellSearch::check_term(const TermId& term, const std::string& what) const {
  if (graph_->index_of(term)) return Status::ok();
  return Status::not_found(what + " " + term + " is not a live term of release " + release_name_ +
                           " (sccello ontology search TEXT finds ids; sccello ontology migrate maps old ones)");
}

bool CellSearch::allowed(int64_t row, const QueryFilters& f, int64_t exclude_row) const {
  if (row == exclude_row) return false;
  const IndexCells& cells = index_->cells();
  if (!f.datasets.empty() && !contains(f.datasets, cells.dataset(row))) return false;
  if (!f.donors.empty() && !contains(f.donors, std::string(cells.donor(row)))) return false;
  if (!f.tissues.empty() && !contains(f.tissues, std::string(cells.tissue(row)))) return false;
  if (f.under.empty() && f.not_under.empty()) return true;
  const TermId& term = viewed_term(row);
  auto t = term.empty() ? std::nullopt : graph_->index_of(term);
  if (!f.under.empty()) {
    bool any = false;
    for (const auto& u : f.under) any = any || (t && graph_->is_ancestor(*graph_->index_of(u), *t));
    if (!any) return false;
  }
  for (const auto& u : f.not_under)
    if (t && graph_->is_ancestor(*graph_->index_of(u), *t)) return false;
  return true;
}

Result<QueryResult> CellSearch::search_one(const float* query, const std::string& label, const TermId& query_term,
                                           int64_t exclude_row, const QueryOptions& o) const {
  const int64_t rows = index_->info().rows;
  if (o.k <= 0) return Status::invalid("--k must be at least 1");
  if (o.k > rows) return Status::invalid("--k " + std::to_string(o.k) + " is larger than the index (" + std::to_string(rows) + " cells)");
  for (const auto& u : o.filters.under) SCCELLO_RETURN_IF_ERROR(check_term(u, "--under"));
  for (const auto& u : o.filters.not_under) SCCELLO_RETURN_IF_ERROR(check_term(u, "--not-under"));
  QueryResult result;
  result.query = label;
  result.query_term = query_term;
  SCCELLO_ASSIGN_OR_RETURN(std::vector<Neighbour> found, knn(query, exclude_row, o, &result.used_exact));
  for (const auto& n : found) result.hits.push_back({0, n.row, n.similarity});
  for (size_t i = 0; i < result.hits.size(); ++i) result.hits[i].rank = static_cast<int64_t>(i) + 1;
  SCCELLO_RETURN_IF_ERROR(describe_hits(&result));
  return result;
}

Result<std::vector<Neighbour>> CellSearch::knn(const float* query, int64_t exclude_row, const QueryOptions& o,
                                               bool* used_exact) const {
  const int64_t rows = index_->info().rows;
  const bool filtered = !o.filters.empty() || exclude_row >= 0;
  auto allow = [&](int64_t r) { return allowed(r, o.filters, exclude_row); };
  const int64_t ef = o.ef > 0 ? o.ef : index_->info().hnsw.ef_search;
  if (used_exact) *used_exact = false;
  if (o.exact) {
    SCCELLO_ASSIGN_OR_RETURN(const std::vector<float>* matrix, index_->matrix());
    return exact_knn(matrix->data(), rows, index_->info().model.dims, query, 1, o.k,
                     filtered ? std::function<bool(int64_t)>(allow) : nullptr)[0];
  }
  std::vector<Neighbour> found =
      index_->vectors().search(query, o.k, ef, filtered ? std::function<bool(int64_t)>(allow) : nullptr);
  // A filter can reject most candidates: widen the beam, then search the filtered set exactly.
  const int64_t widest = 16 * std::max<int64_t>(o.k, ef);
  for (int64_t wide = 4 * std::max<int64_t>(o.k, ef); filtered && (int64_t)found.size() < o.k && wide <= widest;
       wide *= 4)
    found = index_->vectors().search(query, o.k, std::min(wide, rows), allow);
  if (filtered && static_cast<int64_t>(found.size()) < o.k) {
    std::vector<int64_t> candidates;
    for (int64_t r = 0; r < rows; ++r)
      if (allow(r)) candidates.push_back(r);
    found = exact_over(index_->vectors(), query, candidates, o.k);
    if (used_exact) *used_exact = true;
  }
  return found;
}

// A query term outside the index's label space (a new cell's predicted term the reference does
// not hold): a provider bound to the query's term and the hits' terms, for this query only.
Result<std::vector<int32_t>> CellSearch::hit_levels_own_space(const QueryResult& result) const {
  std::vector<TermId> space{result.query_term};
  for (const auto& hit : result.hits)
    if (!hit.term_id.empty() && graph_->index_of(hit.term_id) && !contains(space, hit.term_id)) space.push_back(hit.term_id);
  TargetContext ctx;
  ctx.store = store_;
  ctx.release = release_name_;
  ctx.release_data = release_.get();
  ctx.label_space = space;
  ctx.threads = options_.threads;
  ctx.use_cache = !store_->read_only();
  SCCELLO_ASSIGN_OR_RETURN(auto provider, make_target_provider(options_.target, ctx));
  std::vector<LabelIndex> labels(space.size());
  for (size_t i = 0; i < space.size(); ++i) labels[i] = static_cast<LabelIndex>(i);
  SCCELLO_ASSIGN_OR_RETURN(std::vector<int32_t> levels, provider->levels(labels));
  std::vector<int32_t> out(result.hits.size(), 0);
  for (size_t i = 0; i < result.hits.size(); ++i) {
    const auto at = std::find(space.begin(), space.end(), result.hits[i].term_id);
    if (!result.hits[i].term_id.empty() && at != space.end()) out[i] = levels[static_cast<size_t>(at - space.begin())];
  }
  return out;
}

Result<std::vector<int32_t>> CellSearch::hit_levels(const QueryResult& result) const {
  std::call_once(levels_once_, [this] {
    std::vector<TermId> space;
    for (const TermId& t : viewed_by_code_)
      if (!t.empty() && graph_->index_of(t) && !contains(space, t)) space.push_back(t);
    std::sort(space.begin(), space.end());
    TargetContext ctx;
    ctx.store = store_;
    ctx.release = release_name_;
    ctx.release_data = release_.get();
    ctx.label_space = space;
    ctx.threads = options_.threads;
    ctx.use_cache = !store_->read_only();
    auto provider = make_target_provider(options_.target, ctx);
    if (provider.is_ok()) levels_provider_ = std::move(*provider);
    else levels_status_ = provider.status();
  });
  if (!levels_provider_) return levels_status_;
  const TargetProvider& p = *levels_provider_;
  // Row 0: the query's term; then each distinct hit term. A query term outside the index's
  // label space (a new cell's predicted term) has no level.
  std::vector<int32_t> out(result.hits.size(), 0);
  const LabelIndex query = p.label_of(result.query_term);
  if (query < 0) return hit_levels_own_space(result);
  std::vector<LabelIndex> labels{query};
  std::vector<size_t> at(result.hits.size(), 0);
  for (size_t i = 0; i < result.hits.size(); ++i) {
    const LabelIndex l = result.hits[i].term_id.empty() ? -1 : p.label_of(result.hits[i].term_id);
    if (l < 0) continue;
    auto found = std::find(labels.begin(), labels.end(), l);
    at[i] = static_cast<size_t>(found - labels.begin());
    if (found == labels.end()) labels.push_back(l);
  }
  SCCELLO_ASSIGN_OR_RETURN(std::vector<int32_t> levels, p.levels(labels));
  for (size_t i = 0; i < result.hits.size(); ++i)
    if (at[i] > 0) out[i] = levels[at[i]];  // row 0, column at[i]
  return out;
}

Status CellSearch::describe_hits(QueryResult* result) const {
  const OntologyGraph& g = *graph_;
  auto q = result->query_term.empty() ? std::nullopt : g.index_of(result->query_term);
  if (q) result->query_term_name = g.term(*q).name;
  // Levels: a provider bound to the query's term and the hits' terms.
  std::vector<TermId> space;
  if (q) space.push_back(result->query_term);
  for (auto& hit : result->hits) {
    hit.cell = index_->cells()[hit.row];
    hit.term_id = viewed_term(hit.row);
    auto t = hit.term_id.empty() ? std::nullopt : g.index_of(hit.term_id);
    if (t) hit.term_name = g.term(*t).name;
    if (t && !contains(space, hit.term_id)) space.push_back(hit.term_id);
    if (!q) hit.relation = "unknown";
    else if (!t) hit.relation = "unrelated";
    else if (*t == *q) hit.relation = "same";
    else if (g.is_ancestor(*t, *q)) hit.relation = "ancestor";
    else if (g.is_ancestor(*q, *t)) hit.relation = "descendant";
    else {
      auto lca = g.lca({*q, *t});
      hit.relation = lca.empty() ? "unrelated" : "related";
      if (!lca.empty()) hit.lca_id = g.id_of(lca.front());
    }
    if (q && t) hit.distance = g.path_distance(*q, *t);
  }
  if (q && options_.target != "none" && space.size() > 1) {
    SCCELLO_ASSIGN_OR_RETURN(std::vector<int32_t> levels, hit_levels(*result));
    for (size_t i = 0; i < result->hits.size(); ++i) result->hits[i].level = levels[i];
  } else if (q) {
    for (auto& hit : result->hits)
      if (hit.relation == "same") hit.level = 0;
  }
  // Roll-up: each hit counts for its term and every ancestor.
  std::unordered_map<TermIndex, TermCount> counts;
  std::vector<TermIndex> hit_terms;
  for (const auto& hit : result->hits) {
    auto t = hit.term_id.empty() ? std::nullopt : g.index_of(hit.term_id);
    if (!t) continue;
    hit_terms.push_back(*t);
    counts[*t].direct++;
    for (TermIndex a : g.ancestors(*t, true)) counts[a].rolled++;
  }
  for (auto& [t, c] : counts) {
    c.term_id = g.id_of(t);
    c.name = g.term(t).name;
    result->summary.push_back(c);
  }
  std::sort(result->summary.begin(), result->summary.end(), [&](const TermCount& a, const TermCount& b) {
    if (a.rolled != b.rolled) return a.rolled > b.rolled;
    const int da = g.depth(*g.index_of(a.term_id)), db = g.depth(*g.index_of(b.term_id));
    return da != db ? da > db : a.term_id < b.term_id;
  });
  if (!hit_terms.empty()) {
    auto lca = g.lca(hit_terms);
    if (!lca.empty()) {
      result->hits_lca = g.id_of(lca.front());
      result->hits_lca_name = g.term(lca.front()).name;
    }
  }
  return Status::ok();
}

Result<QueryResult> CellSearch::by_cell(const std::string& dataset, const std::string& cell_id,
                                        const QueryOptions& options) const {
  SCCELLO_ASSIGN_OR_RETURN(int64_t row, index_->row_of(dataset, cell_id));
  std::vector<float> query = index_->vectors().row(row);
  return search_one(query.data(), dataset + "/" + cell_id, viewed_term(row),
                    options.exclude_self ? row : -1, options);
}

Result<std::vector<QueryResult>> CellSearch::by_vectors(const std::vector<float>& rows,
                                                        const std::vector<TermId>& query_terms,
                                                        const std::vector<std::string>& names,
                                                        const QueryOptions& options) const {
  const int64_t dims = index_->info().model.dims;
  if (dims <= 0 || rows.size() % static_cast<size_t>(dims) != 0)
    return Status::invalid("query vectors must have " + std::to_string(dims) + " values each");
  std::vector<float> normalised = rows;
  l2_normalize_rows(&normalised, dims);
  std::vector<QueryResult> out;
  for (size_t i = 0; i * dims < normalised.size(); ++i) {
    TermId term = i < query_terms.size() ? query_terms[i] : TermId();
    if (!term.empty() && !graph_->index_of(term)) term.clear();
    const std::string name = i < names.size() ? names[i] : std::to_string(i);
    SCCELLO_ASSIGN_OR_RETURN(QueryResult r, search_one(normalised.data() + i * dims, name, term, -1, options));
    out.push_back(std::move(r));
  }
  return out;
}

Result<QueryResult> CellSearch::by_term(const TermId& term, bool descendants, const QueryOptions& options) const {
  SCCELLO_RETURN_IF_ERROR(check_term(term, "--term"));
  const TermIndex t = *graph_->index_of(term);
  const int64_t dims = index_->info().model.dims;
  std::vector<double> centroid(static_cast<size_t>(dims), 0.0);
  int64_t members = 0;
  for (int64_t r = 0; r < index_->info().rows; ++r) {
    auto rt = viewed_term(r).empty() ? std::nullopt : graph_->index_of(viewed_term(r));
    if (!rt || !(*rt == t || (descendants && graph_->is_ancestor(t, *rt)))) continue;
    std::vector<float> v = index_->vectors().row(r);
    for (int64_t d = 0; d < dims; ++d) centroid[static_cast<size_t>(d)] += v[static_cast<size_t>(d)];
    ++members;
  }
  if (members == 0)
    return Status::not_found("no indexed cell is labelled " + term + (descendants ? " or a descendant" : "") +
                             (descendants ? "" : " (try --descendants)"));
  std::vector<float> query(centroid.begin(), centroid.end());
  l2_normalize_rows(&query, dims);
  QueryOptions within = options;
  within.filters.under.push_back(term);
  if (!descendants) {
    // Only cells of exactly this term: exclude each child subtree.
    for (TermIndex c : graph_->children(t)) within.filters.not_under.push_back(graph_->id_of(c));
  }
  SCCELLO_ASSIGN_OR_RETURN(QueryResult r, search_one(query.data(), term, term, -1, within));
  r.query = term + " centroid (" + std::to_string(members) + " cells)";
  return r;
}

}  // namespace sccello
