// Targets, corpus and index endpoints: /v1/targets/show, /v1/targets/row, /v1/datasets,
// /v1/cells/{dataset}/{cell}, /v1/indexes. The same library calls as the CLI.
#include "model/serve/service_state.h"
#include "plugins/target_queries.h"
#include "plugins/target_registry.h"
#include "store/corpus.h"

namespace sccello {
namespace {

TargetContext target_context(const ServiceState& s, const ReleaseView& v, std::vector<TermId> labels) {
  TargetContext tc;
  tc.store = s.store.get();
  tc.release = v.release->info.name;
  tc.release_data = v.release.get();
  tc.label_space = std::move(labels);
  tc.threads = s.options->threads;
  return tc;
}

Result<std::string> target_spec(const ServiceRequest& r) {
  std::string spec = param(r, "target").value_or("ppr");
  SCCELLO_RETURN_IF_ERROR(valid_name(spec, "parameter 'target'"));
  return spec;
}

// The provider over every graph node for (release, spec), built once and kept.
Result<const TargetProvider*> row_provider(const ServiceState& s, const ReleaseView& v, const std::string& spec) {
  const std::string key = v.release->info.name + "|" + spec;
  std::lock_guard<std::mutex> lock(s.providers_mu);
  auto it = s.providers.find(key);
  if (it != s.providers.end()) return it->second.get();
  if (s.providers.size() >= 64) s.providers.clear();  // specs are user text: bound the cache
  SCCELLO_ASSIGN_OR_RETURN(std::unique_ptr<TargetProvider> p, make_target_provider(spec, target_context(s, v, {})));
  return s.providers.emplace(key, std::move(p)).first->second.get();
}

ApiResult show_json(const ServiceState& s, const ReleaseView& v, const ServiceRequest& r) {
  SCCELLO_ASSIGN_OR_RETURN(std::string a, valid_term_id(param(r, "a").value_or(""), "parameter 'a'"));
  SCCELLO_ASSIGN_OR_RETURN(std::string b, valid_term_id(param(r, "b").value_or(""), "parameter 'b'"));
  SCCELLO_ASSIGN_OR_RETURN(std::string spec, target_spec(r));
  SCCELLO_ASSIGN_OR_RETURN(std::unique_ptr<TargetProvider> p, make_target_provider(spec, target_context(s, v, {a, b})));
  SCCELLO_ASSIGN_OR_RETURN(PairTarget pair, pair_target(*p));
  return Json{{"term_a", a}, {"name_a", provider_term_name(*p, 0)}, {"term_b", b}, {"name_b", provider_term_name(*p, 1)},
              {"raw", pair.raw}, {"level", pair.level}, {"ancestor", pair.ancestor}, {"target", p->describe()}};
}

ApiResult row_json(const ServiceState& s, const ReleaseView& v, const ServiceRequest& r) {
  SCCELLO_ASSIGN_OR_RETURN(std::string term, valid_term_id(param(r, "term").value_or(""), "parameter 'term'"));
  SCCELLO_ASSIGN_OR_RETURN(int64_t top, int_param(r, "top", 20, 1, s.options->max_terms));
  SCCELLO_ASSIGN_OR_RETURN(std::string spec, target_spec(r));
  SCCELLO_ASSIGN_OR_RETURN(const TargetProvider* p, row_provider(s, v, spec));
  SCCELLO_ASSIGN_OR_RETURN(std::vector<SimilarTerm> similar, most_similar_terms(*p, term, static_cast<int>(top)));
  Json rows = Json::array();
  for (size_t i = 0; i < similar.size(); ++i)
    rows.push_back({{"rank", i + 1}, {"term_id", similar[i].term_id}, {"name", similar[i].name},
                    {"raw", similar[i].raw}, {"level", similar[i].level}, {"ancestor", similar[i].ancestor}});
  return Json{{"term", term}, {"target", p->describe()}, {"rows", rows}};
}

Json dataset_json(const DatasetInfo& d) {
  return {{"dataset", d.name}, {"source_file", d.source_file}, {"cells", d.num_cells},
          {"genes_in_file", d.num_genes_in_file}, {"genes_mapped", d.num_genes_mapped},
          {"unmapped_cells", d.num_unmapped_cells}, {"tokens", d.num_tokens}, {"max_len", d.max_len},
          {"imported_at", d.imported_at}};
}

ApiResult cell_json(const ServiceState& s, const std::string& dataset, const std::string& cell_id) {
  SCCELLO_RETURN_IF_ERROR(valid_name(dataset, "the dataset in the path"));
  SCCELLO_RETURN_IF_ERROR(valid_name(cell_id, "the cell id in the path"));
  Corpus corpus(*s.store);
  SCCELLO_ASSIGN_OR_RETURN(int64_t row, corpus.find_cell(dataset, cell_id));
  SCCELLO_ASSIGN_OR_RETURN(CellRecord c, corpus.cell(dataset, row));
  Json out = {{"dataset", dataset}, {"cell_id", c.cell_id}, {"position", row}, {"term_id", c.term_id},
              {"name", nullptr}, {"label", c.label}, {"donor", c.donor}, {"tissue", c.tissue},
              {"assay", c.assay}, {"tokens", c.tokens.empty() ? 0 : c.tokens.size() - 1}};
  auto view = s.views.find(s.newest);
  if (view != s.views.end() && !c.term_id.empty())
    if (auto t = view->second.graph->index_of(c.term_id)) out["name"] = view->second.graph->term(*t).name;
  return out;
}

}  // namespace

ApiResult handle_targets(const ServiceState& s, const ServiceRequest& r, const std::vector<std::string>& p) {
  SCCELLO_ASSIGN_OR_RETURN(const ReleaseView* v, release_view(s, r));
  if (p.size() == 3 && p[2] == "show") return show_json(s, *v, r);
  if (p.size() == 3 && p[2] == "row") return row_json(s, *v, r);
  return ApiError{404, "no endpoint GET " + r.path + " (targets: /v1/targets/show, /v1/targets/row)"};
}

ApiResult handle_cells(const ServiceState& s, const ServiceRequest& r, const std::vector<std::string>& p) {
  if (p[1] == "datasets" && p.size() == 2) {
    SCCELLO_ASSIGN_OR_RETURN(std::vector<DatasetInfo> list, Corpus(*s.store).datasets());
    Json out = Json::array();
    for (const DatasetInfo& d : list) out.push_back(dataset_json(d));
    return out;
  }
  if (p[1] == "cells" && p.size() == 4) return cell_json(s, p[2], p[3]);
  return ApiError{404, "no endpoint GET " + r.path + " (cells: /v1/datasets, /v1/cells/DATASET/CELL_ID)"};
}

ApiResult list_indexes_json(const ServiceState& s) {
  Json out = Json::array();
  for (const auto& [name, served] : s.indexes) {
    const IndexInfo& i = served.index->info();
    Json datasets = Json::array();
    for (const auto& d : i.datasets) datasets.push_back(d.name);
    out.push_back({{"name", name}, {"cells", i.rows}, {"dims", i.model.dims}, {"model", i.model.id},
                   {"release", served.search->release_name()}, {"metric", i.metric}, {"datasets", datasets},
                   {"uploads", s.options->embed_new_cells != nullptr}});
  }
  return out;
}

}  // namespace sccello
