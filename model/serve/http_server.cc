#include "model/serve/http_server.h"

#include <chrono>
#include <cstdio>

#include <httplib.h>

namespace sccello {

struct HttpServer::Impl {
  QueryService* service;
  HttpOptions options;
  httplib::Server server;
};

namespace {

bool is_loopback(const std::string& addr) { return addr == "127.0.0.1" || addr == "::1" || addr == "::ffff:127.0.0.1"; }

ServiceRequest to_service(const httplib::Request& req) {
  ServiceRequest r;
  r.method = req.method;
  r.path = req.path;
  for (const auto& [k, v] : req.params) r.params.emplace(k, v);
  r.body = req.body;
  r.content_type = req.get_header_value("Content-Type");
  r.from_loopback = is_loopback(req.remote_addr);
  return r;
}

void error_body(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content("{\"error\":{\"status\":" + std::to_string(status) + ",\"message\":\"" + message + "\"}}\n",
                  "application/json");
}

}  // namespace

HttpServer::HttpServer(QueryService& service, HttpOptions options) : impl_(new Impl{&service, std::move(options), {}}) {
  httplib::Server& s = impl_->server;
  const int threads = impl_->options.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.set_payload_max_length(static_cast<size_t>(impl_->options.max_body_bytes));
  s.set_read_timeout(impl_->options.read_timeout_s, 0);
  s.set_write_timeout(impl_->options.write_timeout_s, 0);
  s.set_keep_alive_max_count(100);
  s.set_tcp_nodelay(true);  // headers and body go out in two writes: no Nagle + delayed-ACK 40 ms stall
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    const auto start = std::chrono::steady_clock::now();
    ServiceResponse out = impl_->service->handle(to_service(req));
    res.status = out.status;
    res.set_content(std::move(out.body), out.content_type.c_str());
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Content-Type-Options", "nosniff");
    if (impl_->options.log_requests) {
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "%s %s %d %.1f ms\n", req.method.c_str(), req.path.c_str(), res.status, ms);
    }
  };
  s.Get(".*", handler);
  s.Post(".*", handler);
  s.Put(".*", handler);
  s.Delete(".*", handler);
  // httplib answers oversized bodies (413), bad request lines (400) and timeouts itself; give
  // those a JSON body too.
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      const char* what = res.status == 413 ? "the request body is larger than the server's limit (--max-body-mb)"
                         : res.status == 408 ? "the request was not received in time"
                         : res.status == 404 ? "not found"
                                             : "bad request";
      error_body(res, res.status, what);
    }
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    error_body(res, 500, "internal error while answering the request");
  });
}

HttpServer::~HttpServer() { delete impl_; }

Status HttpServer::bind() {
  const HttpOptions& o = impl_->options;
  if (o.port == 0) {
    port_ = impl_->server.bind_to_any_port(o.host.c_str());
    if (port_ < 0) return Status::io_error("cannot bind to " + o.host + " on any port");
  } else {
    if (!impl_->server.bind_to_port(o.host.c_str(), o.port))
      return Status::io_error("cannot bind to " + o.host + ":" + std::to_string(o.port) +
                              " (in use? give another --port)");
    port_ = o.port;
  }
  return Status::ok();
}

Status HttpServer::listen() {
  if (!impl_->server.listen_after_bind()) return Status::io_error("the server stopped listening on an error");
  return Status::ok();
}

void HttpServer::stop() { impl_->server.stop(); }

}  // namespace sccello
