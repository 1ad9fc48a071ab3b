// The HTTP side of `sccello serve`: cpp-httplib (Debian libcpp-httplib-dev; a small, well-kept
// embedded server with a thread pool, timeouts and a body limit, and no event-loop framework to
// adopt) moving requests to QueryService::handle and responses back. Nothing else lives here.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "graph/status.h"
#include "model/serve/query_service.h"

namespace sccello {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                       // 0: any free port (see bound_port)
  int threads = 8;                       // connections served at once
  int64_t max_body_bytes = 64LL << 20;   // larger uploads get 413
  int read_timeout_s = 10;               // a sender slower than this is dropped (408)
  int write_timeout_s = 30;
  bool log_requests = false;             // one line per request on stderr
};

class HttpServer {
 public:
  HttpServer(QueryService& service, HttpOptions options);
  ~HttpServer();
  // Binds; the port actually bound is in bound_port(). Then listen() blocks until stop().
  Status bind();
  int bound_port() const { return port_; }
  Status listen();
  void stop();

 private:
  struct Impl;
  Impl* impl_;
  int port_ = 0;
};

}  // namespace sccello
