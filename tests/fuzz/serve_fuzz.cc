// libFuzzer harness: the HTTP service's request handling (model/serve/): method, path, query
// parameters and body from the fuzzer's bytes, answered by QueryService::handle over a real store
// (two CL releases, pbmc3k's first cells, an index built with the test projection embedder).
// Every answer must be a status in 200..599 with a body that parses as JSON (or the page).
// Built by CMake with -DSCCELLO_FUZZ=ON (scripts/fuzz.sh serve), not in the normal build.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "model/search/cell_index.h"
#include "model/serve/query_service.h"
#include "store/cells/cell_import.h"
#include "store/release_store.h"
#include "store/store.h"
#include "tests/projection_embedder.h"

namespace {

// Never destroyed: at exit RocksDB's own statics (its periodic task scheduler) go first, and a
// store closed after them aborts on a destroyed mutex (seen after a 604 s run, empty input).
sccello::QueryService* g_service = nullptr;

void die(const std::string& what) {
  std::fprintf(stderr, "serve_fuzz setup: %s\n", what.c_str());
  std::abort();
}

void build_store(const std::string& path, const std::string& data) {
  using namespace sccello;
  std::filesystem::remove_all(path);
  StoreOptions so;
  so.path = path;
  auto store = Store::open(so);
  if (!store) die(store.status().message());
  for (const char* f : {"cl-basic-2021-12-16.obo", "cl-basic-2022-12-15.obo"}) {
    auto r = read_ontology_file(data + "/ontology/" + f, {});
    if (!r) die(r.status().message());
    if (auto put = ReleaseStore(**store).put(std::move(*r), {}); !put) die(put.status().message());
  }
  auto vocab = GeneVocab::load(data + "/vocab");
  if (!vocab) die(vocab.status().message());
  CellImportOptions o;
  o.dataset = "pbmc3k";
  o.tokenizer.max_len = 128;
  auto imported = import_cells(**store, *vocab, data + "/cells/pbmc3k_seurat/pbmc3k_seurat.h5ad", o);
  if (!imported) die(imported.status().message());
  testing::ProjectionEmbedder embed;
  embed.dims = 16;
  ModelIdentity m{"fuzzfuzzfuzzfuzz", "projection", "2022-12-15", "", "", 16};
  IndexBuildOptions io;
  io.name = "pbmc";
  if (auto built = build_index(**store, m, embed.fn(), io); !built) die(built.status().message());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* data = std::getenv("SCCELLO_DATA_DIR");
  const std::string path = "/tmp/sccello_serve_fuzz_" + std::to_string(::getpid());
  build_store(path, data ? data : SCCELLO_DATA_DIR);
  sccello::ServiceOptions o;
  o.store_path = path;
  o.max_k = 50;
  o.max_cells = 20;
  o.max_terms = 50;
  auto s = sccello::QueryService::open(o);
  if (!s) die(s.status().message());
  g_service = s->release();
  return 0;
}

// Input: byte 0 picks the method, then "path\nk=v&k=v\nbody" (missing parts are empty).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size == 0) return 0;
  static const char* kMethods[] = {"GET", "POST", "DELETE", "PUT"};
  sccello::ServiceRequest r;
  r.method = kMethods[bytes[0] % 4];
  r.from_loopback = bytes[0] & 0x10;
  const std::string rest(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  const size_t a = rest.find('\n');
  r.path = rest.substr(0, a);
  std::string query = a == std::string::npos ? "" : rest.substr(a + 1);
  const size_t b = query.find('\n');
  if (b != std::string::npos) {
    r.body = query.substr(b + 1);
    query.resize(b);
  }
  for (size_t start = 0; start <= query.size();) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const std::string kv = query.substr(start, end - start);
    const size_t eq = kv.find('=');
    if (!kv.empty()) r.params.emplace(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
    start = end + 1;
  }
  r.content_type = (bytes[0] & 0x20) ? "application/x-hdf5" : "application/json";
  if (r.path == "/admin/reload") return 0;  // reopening the store per input would only measure RocksDB
  sccello::ServiceResponse out = g_service->handle(r);
  if (out.status < 200 || out.status > 599) std::abort();
  if (out.content_type == "application/json" && nlohmann::json::parse(out.body, nullptr, false).is_discarded())
    std::abort();
  return 0;
}
