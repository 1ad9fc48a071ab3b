// Internals of QueryService (query_service.h): the loaded view of the store and the request
// helpers the endpoint files share. Not part of the API.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "graph/ontology_graph.h"
#include "model/search/cell_index.h"
#include "model/search/cell_search.h"
#include "model/serve/query_service.h"
#include "plugins/target_provider.h"
#include "store/release_store.h"
#include "store/store.h"

namespace sccello {

struct ReleaseView {
  std::shared_ptr<OntologyRelease> release;
  std::unique_ptr<OntologyGraph> graph;  // is_a over CL terms
};

struct ServedIndex {
  std::unique_ptr<CellIndex> index;
  std::unique_ptr<CellSearch> search;
};

struct ServiceState {
  const ServiceOptions* options = nullptr;
  std::unique_ptr<Store> store;
  std::vector<ReleaseInfo> releases;          // oldest first
  std::map<std::string, ReleaseView> views;   // by release name
  std::string newest;
  std::map<std::string, ServedIndex> indexes;
  int64_t datasets = 0;
  // Target providers, built on first use per (release, spec) and kept.
  mutable std::mutex providers_mu;
  mutable std::map<std::string, std::unique_ptr<TargetProvider>> providers;
  // annotate_cells is not thread-safe on one search: one annotation at a time per view.
  mutable std::mutex annotate_mu;
};

// An HTTP status with a message, as a Status carries it; thrown nowhere.
struct ApiError {
  int status;
  std::string message;
};

using Json = nlohmann::json;
// A handler's outcome: a JSON body (200) or an error.
struct ApiResult {
  Json body;
  std::optional<ApiError> error;
  ApiResult(Json j) : body(std::move(j)) {}                 // NOLINT: implicit on purpose
  ApiResult(ApiError e) : error(std::move(e)) {}            // NOLINT
  ApiResult(const Status& s);                               // NOLINT: maps the code to 4xx/5xx
};

// ---- request helpers (service_request.cc) ----
std::optional<std::string> param(const ServiceRequest& r, const std::string& key);
// An integer query parameter in [lo, hi], `fallback` when absent; an error names the parameter.
Result<int64_t> int_param(const ServiceRequest& r, const std::string& key, int64_t fallback, int64_t lo, int64_t hi);
Result<bool> bool_param(const ServiceRequest& r, const std::string& key, bool fallback);
// A comma-separated parameter (or repeated parameter) as its items.
std::vector<std::string> list_param(const ServiceRequest& r, const std::string& key);
// A CL-style term id ("CL:0000236", "CL_0000236"), normalised; an error when it is not one.
Result<std::string> valid_term_id(const std::string& raw, const std::string& what);
// Text fit for a lookup key: 1..256 bytes, no control characters.
Status valid_name(const std::string& raw, const std::string& what);
// The release view named by ?release= (default newest).
Result<const ReleaseView*> release_view(const ServiceState& s, const ServiceRequest& r);

// ---- endpoint groups ----
ApiResult handle_ontology(const ServiceState& s, const ServiceRequest& r, const std::vector<std::string>& path);
ApiResult handle_targets(const ServiceState& s, const ServiceRequest& r, const std::vector<std::string>& path);
ApiResult handle_cells(const ServiceState& s, const ServiceRequest& r, const std::vector<std::string>& path);
ApiResult handle_search(const ServiceState& s, const ServiceRequest& r);
ApiResult handle_annotate(const ServiceState& s, const ServiceRequest& r);
ApiResult list_indexes_json(const ServiceState& s);

}  // namespace sccello
