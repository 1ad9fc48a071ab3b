// QueryService: the HTTP/JSON API of `sccello serve` (docs/serve.md) as a plain function from a
// request to a response, so it is tested without sockets and the HTTP layer (http_server.h) only
// moves bytes. Holds the store open read-only with its releases, graphs, target providers and
// indexes loaded; reload() swaps in a fresh view (new releases, datasets, indexes) while requests
// in flight finish on the old one. handle() is thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "graph/status.h"
#include "model/search/new_cells.h"

namespace sccello {

struct ServiceOptions {
  std::string store_path;
  std::string backend = "auto";
  std::vector<std::string> indexes;  // indexes to serve; empty = every index of the store
  int threads = 1;                   // per request (search, targets)
  // Limits on one request's work (4xx beyond them).
  int64_t max_k = 1000;
  int64_t max_cells = 5000;          // query cells per search or annotate request
  int64_t max_terms = 1000;          // terms per lca/migrate request and search results
  // Embeds uploaded h5ad files; set by sccello-model. Empty: uploads answer 501.
  NewCellEmbedder embed_new_cells;
  std::string upload_dir;            // where uploads are written while embedded ("" = temp dir)
};

struct ServiceRequest {
  std::string method;  // GET, POST, ...
  std::string path;    // without the query string
  std::multimap<std::string, std::string> params;  // query string, decoded
  std::string body;
  std::string content_type;
  bool from_loopback = true;  // the peer is 127.0.0.1 / ::1 (admin endpoints)
};

struct ServiceResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

struct ServiceState;

class QueryService {
 public:
  static Result<std::unique_ptr<QueryService>> open(const ServiceOptions& options);
  ~QueryService();

  ServiceResponse handle(const ServiceRequest& request) const;
  // Reopens the store and reloads releases and indexes. On error the old view stays.
  Status reload();
  const ServiceOptions& options() const { return options_; }
  // One line on what is loaded: releases, datasets, indexes.
  std::string describe() const;

 private:
  explicit QueryService(ServiceOptions options) : options_(std::move(options)) {}
  std::shared_ptr<const ServiceState> state() const;

  ServiceOptions options_;
  mutable std::mutex state_mu_;
  std::shared_ptr<const ServiceState> state_;
};

// The web page served at "/" (web_page.cc).
const std::string& service_web_page();

}  // namespace sccello
