// `sccello serve`: the HTTP/JSON query service (model/serve/, docs/serve.md). Runs in
// sccello-model, which embeds uploaded .h5ad files with an index's checkpoint, or in
// sccello-tools where there is no model executable (uploads then answer 501).
#include <csignal>
#include <cstdio>
#include <memory>

#include "cli/cli_context.h"
#include "model/serve/http_server.h"
#include "model/serve/query_service.h"

namespace sccello {
namespace {

struct ServeArgs {
  std::vector<std::string> indexes;
  HttpOptions http;
  int64_t max_body_mb = 64, max_k = 1000, max_cells = 5000;
};

HttpServer* g_server = nullptr;
void on_signal(int) {
  if (g_server) g_server->stop();
}

int run_serve(CliContext& ctx, const ServeArgs& a) {
  ServiceOptions o;
  o.store_path = ctx.store_path;
  o.backend = ctx.backend;
  o.indexes = a.indexes;
  o.threads = ctx.threads > 0 ? ctx.threads : 1;
  o.max_k = a.max_k;
  o.max_cells = a.max_cells;
  o.embed_new_cells = ctx.embed_new_cells;
  auto service = QueryService::open(o);
  if (!service) return report_error(service.status());
  HttpOptions http = a.http;
  http.max_body_bytes = a.max_body_mb << 20;
  HttpServer server(**service, http);
  if (Status st = server.bind(); !st) return report_error(st);
  std::fprintf(stderr, "sccello serve: %s\nsccello serve: listening on http://%s:%d/ (Ctrl-C stops)\n",
               (*service)->describe().c_str(), http.host.c_str(), server.bound_port());
  g_server = &server;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  Status st = server.listen();
  g_server = nullptr;
  if (!st) return report_error(st);
  std::fprintf(stderr, "sccello serve: stopped\n");
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "HTTP/JSON service and web page over the store (docs/serve.md)");
  cmd->add_option("--index", a->indexes, "indexes to serve (repeatable; default: all of the store)");
  cmd->add_option("--host", a->http.host, "address to bind (other than loopback: reachable from the network)")
      ->capture_default_str();
  cmd->add_option("--port", a->http.port, "port (0: any free port)")->capture_default_str()->check(CLI::Range(0, 65535));
  cmd->add_option("--connections", a->http.threads, "requests answered at once")->capture_default_str()->check(CLI::Range(1, 256));
  cmd->add_option("--max-body-mb", a->max_body_mb, "largest request body (uploads); larger get 413")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  cmd->add_option("--max-k", a->max_k, "largest k a request may ask")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--max-cells", a->max_cells, "most query cells per search/annotate request")
      ->capture_default_str()->check(CLI::Range(1, 1000000));
  cmd->add_option("--read-timeout", a->http.read_timeout_s, "seconds a client may take to send its request")
      ->capture_default_str()->check(CLI::Range(1, 3600));
  cmd->add_flag("--log", a->http.log_requests, "one line per request on stderr");
  cmd->callback([&ctx, a] { ctx.action = [&ctx, a] { return run_serve(ctx, *a); }; });
}

}  // namespace sccello
