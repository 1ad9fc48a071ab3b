#include "model/serve/query_service.h"

#include <filesystem>

#include "model/serve/service_state.h"
#include "store/corpus.h"

namespace sccello {
namespace {

int http_status(const Status& s) {
  switch (s.code()) {
    case Status::Code::kNotFound: return 404;
    case Status::Code::kInvalidInput: return 400;
    case Status::Code::kUnsupported: return 501;
    case Status::Code::kBusy: return 503;
    default: return 500;
  }
}

Status load_views(ServiceState* s) {
  ReleaseStore releases(*s->store);
  SCCELLO_ASSIGN_OR_RETURN(s->releases, releases.list());
  for (const ReleaseInfo& info : s->releases) {
    ReleaseView view;
    SCCELLO_ASSIGN_OR_RETURN(OntologyRelease release, releases.load(info.name));
    view.release = std::make_shared<OntologyRelease>(std::move(release));
    GraphOptions g;
    g.prefix = "CL:";
    SCCELLO_ASSIGN_OR_RETURN(OntologyGraph graph, OntologyGraph::build(*view.release, g));
    view.graph = std::make_unique<OntologyGraph>(std::move(graph));
    s->views.emplace(info.name, std::move(view));
  }
  if (!s->releases.empty()) s->newest = s->releases.back().name;
  return Status::ok();
}

Status load_indexes(ServiceState* s, const ServiceOptions& o) {
  std::vector<std::string> names = o.indexes;
  if (names.empty()) {
    SCCELLO_ASSIGN_OR_RETURN(std::vector<IndexInfo> all, list_indexes(*s->store));
    for (const IndexInfo& i : all) names.push_back(i.name);
  }
  for (const std::string& name : names) {
    ServedIndex served;
    SCCELLO_ASSIGN_OR_RETURN(served.index, CellIndex::open(*s->store, name));
    SearchOptions so;
    so.threads = o.threads;
    SCCELLO_ASSIGN_OR_RETURN(served.search, CellSearch::open(*s->store, *served.index, so));
    s->indexes.emplace(name, std::move(served));
  }
  return Status::ok();
}

Result<std::shared_ptr<ServiceState>> load_state(const ServiceOptions& o) {
  auto s = std::make_shared<ServiceState>();
  s->options = &o;
  if (!std::filesystem::exists(o.store_path))
    return Status::not_found("no store at " + o.store_path + ": import a release first (`sccello ontology import FILE`)");
  StoreOptions so;
  so.path = o.store_path;
  SCCELLO_ASSIGN_OR_RETURN(so.backend, parse_backend(o.backend));
  so.read_only = true;
  SCCELLO_ASSIGN_OR_RETURN(s->store, Store::open(so));
  SCCELLO_RETURN_IF_ERROR(load_views(s.get()));
  SCCELLO_RETURN_IF_ERROR(load_indexes(s.get(), o));
  SCCELLO_ASSIGN_OR_RETURN(std::vector<DatasetInfo> datasets, Corpus(*s->store).datasets());
  s->datasets = static_cast<int64_t>(datasets.size());
  return s;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

ServiceResponse json_response(int status, const Json& body) {
  ServiceResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  return r;
}

ServiceResponse error_response(const ApiError& e) {
  return json_response(e.status, Json{{"error", {{"status", e.status}, {"message", e.message}}}});
}

Json health_json(const ServiceState& s) {
  Json indexes = Json::array();
  for (const auto& [name, served] : s.indexes) indexes.push_back(name);
  return {{"status", "ok"}, {"releases", s.releases.size()}, {"newest_release", s.newest},
          {"datasets", s.datasets}, {"indexes", indexes}};
}

ApiResult route_v1(const ServiceState& s, const ServiceRequest& r, const std::vector<std::string>& p) {
  const std::string& what = p.size() > 1 ? p[1] : "";
  const bool get = r.method == "GET" || r.method == "HEAD";
  if (what == "health" && get) return health_json(s);
  if ((what == "releases" || what == "terms" || what == "lca" || what == "diff" || what == "migrate") && get)
    return handle_ontology(s, r, p);
  if (what == "targets" && get) return handle_targets(s, r, p);
  if ((what == "datasets" || what == "cells") && get) return handle_cells(s, r, p);
  if (what == "indexes" && get) return list_indexes_json(s);
  if (what == "search" && r.method == "POST") return handle_search(s, r);
  if (what == "annotate" && r.method == "POST") return handle_annotate(s, r);
  return ApiError{r.method == "GET" || r.method == "POST" ? 404 : 405,
                  "no endpoint " + r.method + " " + r.path + " (see GET /v1/health and docs/serve.md)"};
}

}  // namespace

ApiResult::ApiResult(const Status& s) : error(ApiError{http_status(s), s.message()}) {}

Result<std::unique_ptr<QueryService>> QueryService::open(const ServiceOptions& options) {
  std::unique_ptr<QueryService> service(new QueryService(options));
  SCCELLO_RETURN_IF_ERROR(service->reload());
  return service;
}

QueryService::~QueryService() = default;

Status QueryService::reload() {
  SCCELLO_ASSIGN_OR_RETURN(std::shared_ptr<ServiceState> fresh, load_state(options_));
  std::lock_guard<std::mutex> lock(state_mu_);
  state_ = std::move(fresh);
  return Status::ok();
}

std::shared_ptr<const ServiceState> QueryService::state() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return state_;
}

std::string QueryService::describe() const {
  auto s = state();
  std::string indexes;
  for (const auto& [name, served] : s->indexes)
    indexes += (indexes.empty() ? "" : ", ") + name + " (" + std::to_string(served.index->info().rows) + " cells)";
  return std::to_string(s->releases.size()) + " releases (newest " + s->newest + "), " + std::to_string(s->datasets) +
         " datasets, indexes: " + (indexes.empty() ? "none" : indexes);
}

ServiceResponse QueryService::handle(const ServiceRequest& r) const {
  std::shared_ptr<const ServiceState> s = state();
  const std::vector<std::string> p = split_path(r.path);
  if (p.empty() && (r.method == "GET" || r.method == "HEAD")) {
    ServiceResponse page;
    page.content_type = "text/html; charset=utf-8";
    page.body = service_web_page();
    return page;
  }
  if (p.size() == 2 && p[0] == "admin" && p[1] == "reload") {
    if (r.method != "POST") return error_response({405, "POST /admin/reload"});
    if (!r.from_loopback) return error_response({403, "/admin/reload answers local clients only"});
    Status st = const_cast<QueryService*>(this)->reload();
    if (!st.is_ok()) return error_response(ApiResult(st).error.value());
    return json_response(200, health_json(*state()));
  }
  if (p.empty() || p[0] != "v1") return error_response({404, "no page " + r.path + ": the API lives under /v1"});
  ApiResult out = route_v1(*s, r, p);
  if (out.error) return error_response(*out.error);
  return json_response(200, out.body);
}

}  // namespace sccello
