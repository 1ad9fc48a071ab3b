// `sccello serve` (model/serve/): the service's answers against the CLI's and the search
// library's on real releases and real cells (pbmc3k, a projection embedder instead of a model),
// its limits and error answers, reload while another process imports, the HTTP layer over a
// loopback socket, and the web page in headless Chromium.
#include <gtest/gtest.h>

#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "model/annotate/annotation.h"
#include "model/search/cell_index.h"
#include "model/search/cell_search.h"
#include "model/serve/http_server.h"
#include "model/serve/query_service.h"
#include "store/cells/cell_import.h"
#include "store/corpus.h"
#include "store/release_store.h"
#include "store/store.h"
#include "tests/projection_embedder.h"

namespace sccello {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
constexpr int64_t kDims = 48;

std::string data(const std::string& rel) { return std::string(SCCELLO_DATA_DIR) + "/" + rel; }

std::string run_command(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>/dev/null").c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = ::pclose(p);
  if (status) *status = st;
  return out;
}

Status import_dataset(Store& store, const std::string& file, const std::string& name) {
  SCCELLO_ASSIGN_OR_RETURN(GeneVocab vocab, GeneVocab::load(data("vocab")));
  CellImportOptions o;
  o.dataset = name;
  o.tokenizer.max_len = 256;
  return import_cells(store, vocab, data(file), o).status();
}

class ServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    path_ = (fs::temp_directory_path() / ("sccello_serve_" + std::to_string(::getpid()))).string();
    fs::remove_all(path_);
    auto store = open_store(false);
    ReleaseStore releases(*store);
    for (const char* f : {"cl-basic-2021-12-16.obo", "cl-basic-2022-12-15.obo"}) {
      auto r = read_ontology_file(data("ontology/") + f, {});
      ASSERT_TRUE(r.is_ok()) << r.status().message();
      ASSERT_TRUE(releases.put(std::move(*r), {}).is_ok());
    }
    ASSERT_TRUE(import_dataset(*store, "cells/pbmc3k_seurat/pbmc3k_seurat.h5ad", "pbmc3k").is_ok());
    testing::ProjectionEmbedder embed;
    embed.dims = kDims;
    ModelIdentity m;
    m.id = "0123456789abcdef";
    m.checkpoint = "projection";
    m.release = "2022-12-15";
    m.dims = kDims;
    IndexBuildOptions o;
    o.name = "pbmc";
    o.datasets = {"pbmc3k"};
    auto built = build_index(*store, m, embed.fn(), o);
    ASSERT_TRUE(built.is_ok()) << built.status().message();
  }
  static void TearDownTestSuite() {
    fs::remove_all(path_);
    fs::remove_all(path_ + ".indexes");
  }
  static std::unique_ptr<Store> open_store(bool read_only) {
    StoreOptions o;
    o.path = path_;
    o.read_only = read_only;
    return Store::open(o).value();
  }
  void SetUp() override {
    ServiceOptions o;
    o.store_path = path_;
    o.max_k = 200;
    o.max_cells = 100;
    auto s = QueryService::open(o);
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    service_ = std::move(*s);
  }
  ServiceResponse get(const std::string& path, std::multimap<std::string, std::string> params = {}) const {
    ServiceRequest r;
    r.method = "GET";
    r.path = path;
    r.params = std::move(params);
    return service_->handle(r);
  }
  ServiceResponse post(const std::string& path, const std::string& body,
                       const std::string& type = "application/json") const {
    ServiceRequest r;
    r.method = "POST";
    r.path = path;
    r.body = body;
    r.content_type = type;
    return service_->handle(r);
  }
  static Json ok_json(const ServiceResponse& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    return Json::parse(r.body);
  }
  std::string cli(const std::string& args) const {
    return run_command(std::string(SCCELLO_CLI) + " --store '" + path_ + "' " + args);
  }
  static std::string path_;
  std::unique_ptr<QueryService> service_;
};
std::string ServeTest::path_;

std::set<std::string> ids_of(const Json& rows) {
  std::set<std::string> ids;
  for (const Json& r : rows) ids.insert(r["term_id"].get<std::string>());
  return ids;
}

TEST_F(ServeTest, OntologyAnswersEqualTheCli) {
  for (const char* term : {"CL:0000236", "CL:0000624", "CL:0000084"}) {
    for (const char* dir : {"ancestors", "descendants"}) {
      Json served = ok_json(get(std::string("/v1/terms/") + term + "/" + dir, {{"release", "2022-12-15"}}));
      Json by_cli = Json::parse(cli(std::string("--release 2022-12-15 --json ontology ") + dir + " " + term));
      EXPECT_EQ(ids_of(served), ids_of(by_cli)) << term << " " << dir;
      EXPECT_FALSE(served.empty());
    }
  }
  Json lca = ok_json(get("/v1/lca", {{"terms", "CL:0000624,CL:0000625"}, {"release", "2022-12-15"}}));
  EXPECT_EQ(ids_of(lca), ids_of(Json::parse(cli("--release 2022-12-15 --json ontology lca CL:0000624 CL:0000625"))));
  Json found = ok_json(get("/v1/terms", {{"q", "alpha-beta T cell"}, {"limit", "5"}, {"release", "2022-12-15"}}));
  Json found_cli = Json::parse(cli("--release 2022-12-15 --json ontology search 'alpha-beta T cell'"));
  ASSERT_EQ(found.size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(found[i]["term_id"], found_cli[i]["term_id"]);
  Json migrated = ok_json(get("/v1/migrate", {{"terms", "CL:0000663,CL:0000236"}, {"from", "2021-12-16"}, {"to", "2022-12-15"}}));
  Json migrated_cli = Json::parse(cli("--json ontology migrate CL:0000663 CL:0000236 --from 2021-12-16 --to 2022-12-15"));
  ASSERT_EQ(migrated.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(migrated[i]["status"], migrated_cli[i]["status"]);
    EXPECT_EQ(migrated[i]["to_term_id"], migrated_cli[i]["to_term_id"]);
  }
  Json term = ok_json(get("/v1/terms/CL_0000236"));
  EXPECT_EQ(term["term_id"], "CL:0000236");
  EXPECT_EQ(term["name"], "B cell");
  EXPECT_FALSE(term["parents"].empty());
  EXPECT_FALSE(term["children"].empty());
}

TEST_F(ServeTest, TargetsEqualTheCli) {
  Json row = ok_json(get("/v1/targets/row", {{"term", "CL:0000236"}, {"top", "5"}, {"release", "2022-12-15"}}));
  Json row_cli = Json::parse(cli("--release 2022-12-15 --json targets row CL:0000236 --top 5 --no-cache"));
  ASSERT_EQ(row["rows"].size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(row["rows"][i]["term_id"], row_cli[i]["term_id"]);
    EXPECT_NEAR(row["rows"][i]["raw"].get<double>(), std::stod(row_cli[i]["raw"].get<std::string>()), 1e-9);
  }
  Json pair = ok_json(get("/v1/targets/show", {{"a", "CL:0000624"}, {"b", "CL:0000625"}, {"release", "2022-12-15"}}));
  Json pair_cli = Json::parse(cli("--release 2022-12-15 --json targets show CL:0000624 CL:0000625 --no-cache"));
  EXPECT_EQ(std::to_string(pair["level"].get<int>()), pair_cli[0]["level"].get<std::string>());
  EXPECT_NEAR(pair["raw"].get<double>(), std::stod(pair_cli[0]["raw"].get<std::string>()), 1e-9);
}

TEST_F(ServeTest, SearchEqualsTheLibraryAndHonoursTheOntologyFilter) {
  auto store = open_store(true);
  auto index = CellIndex::open(*store, "pbmc").value();
  auto search = CellSearch::open(*store, *index, {}).value();
  const std::string cell = index->cells()[100].cell_id;
  QueryOptions o;
  o.k = 15;
  QueryResult direct = search->by_cell("pbmc3k", cell, o).value();
  Json served = ok_json(post("/v1/search", Json{{"index", "pbmc"}, {"cell", "pbmc3k/" + cell}, {"k", 15}}.dump()));
  const Json& hits = served["results"][0]["hits"];
  ASSERT_EQ(hits.size(), direct.hits.size());
  for (size_t i = 0; i < hits.size(); ++i) {
    EXPECT_EQ(hits[i]["cell_id"], direct.hits[i].cell.cell_id);
    EXPECT_NEAR(hits[i]["similarity"].get<double>(), direct.hits[i].similarity, 1e-6);
  }
  // Only hits under T cell (CL:0000084), checked on the graph.
  Json under = ok_json(post("/v1/search", Json{{"cell", "pbmc3k/" + cell}, {"k", 30}, {"under", {"CL:0000084"}}}.dump()));
  const OntologyGraph& g = search->graph();
  const TermIndex t_cell = *g.index_of("CL:0000084");
  ASSERT_FALSE(under["results"][0]["hits"].empty());
  for (const Json& h : under["results"][0]["hits"]) {
    auto node = g.index_of(h["term_id"].get<std::string>());
    ASSERT_TRUE(node.has_value());
    EXPECT_TRUE(*node == t_cell || g.is_ancestor(t_cell, *node)) << h["term_id"];
  }
  // A stored vector sent as an embedding finds its own cell first.
  const std::vector<float>& m = *index->matrix().value();
  std::vector<float> row(m.begin() + 100 * kDims, m.begin() + 101 * kDims);
  Json by_vec = ok_json(post("/v1/search", Json{{"embeddings", {row}}, {"k", 3}}.dump()));
  EXPECT_EQ(by_vec["results"][0]["hits"][0]["cell_id"], cell);
  EXPECT_NEAR(by_vec["results"][0]["hits"][0]["similarity"].get<double>(), 1.0, 1e-5);
}

TEST_F(ServeTest, AnnotateEqualsTheLibrary) {
  auto store = open_store(true);
  auto index = CellIndex::open(*store, "pbmc").value();
  auto search = CellSearch::open(*store, *index, {}).value();
  const std::vector<float>& m = *index->matrix().value();
  std::vector<float> rows(m.begin(), m.begin() + 20 * kDims);
  Json body = {{"index", "pbmc"}, {"embeddings", Json::array()}, {"k", 15}};
  for (int i = 0; i < 20; ++i) body["embeddings"].push_back(std::vector<float>(rows.begin() + i * kDims, rows.begin() + (i + 1) * kDims));
  Json served = ok_json(post("/v1/annotate", body.dump()));
  AnnotateOptions o;
  o.k = 15;
  auto direct = annotate_cells(*search, rows, {}, o).value();
  ASSERT_EQ(served["cells"].size(), 20u);
  for (size_t i = 0; i < 20; ++i) {
    EXPECT_EQ(served["cells"][i]["term_id"], direct[i].term_id);
    EXPECT_NEAR(served["cells"][i]["score"].get<double>(), direct[i].score, 1e-9);
    EXPECT_GE(direct[i].score, 0.5);
  }
}

TEST_F(ServeTest, BadRequestsGetClearFourHundreds) {
  struct Case { std::string method, path, body; std::multimap<std::string, std::string> params; int status; std::string words; };
  const std::vector<Case> cases = {
      {"GET", "/v1/terms/CL:9999999", "", {}, 404, "unknown term 'CL:9999999'"},
      {"GET", "/v1/terms/..%2F..%2Fetc%2Fpasswd", "", {}, 400, "must be a term id"},
      {"GET", "/v1/terms/CL:0000236/ancestors", "", {{"release", "1999"}}, 404, "no release '1999'"},
      {"GET", "/v1/terms", "", {{"q", ""}}, 400, "parameter 'q'"},
      {"GET", "/v1/terms", "", {{"q", "cell"}, {"limit", "99999999999999999999"}}, 400, "parameter 'limit'"},
      {"GET", "/v1/lca", "", {{"terms", "CL:0000236"}}, 400, "two or more"},
      {"GET", "/v1/targets/row", "", {{"term", "CL:0000236"}, {"target", "nope"}}, 400, "unknown target provider 'nope'"},
      {"GET", "/v1/cells/pbmc3k/no-such-cell", "", {}, 404, "has no cell 'no-such-cell'"},
      {"GET", "/v1/cells/nope/1", "", {}, 404, "nope"},
      {"GET", "/v1/nothing", "", {}, 404, "no endpoint"},
      {"DELETE", "/v1/terms", "", {}, 405, "no endpoint"},
      {"POST", "/v1/search", "{not json", {}, 400, "not valid JSON"},
      {"POST", "/v1/search", "[1,2]", {}, 400, "JSON object"},
      {"POST", "/v1/search", R"({"cell": "pbmc3k/x", "k": 0})", {}, 400, "field 'k'"},
      {"POST", "/v1/search", R"({"cell": "pbmc3k/x", "k": 1e300})", {}, 400, "field 'k'"},
      {"POST", "/v1/search", R"({"cell": "pbmc3k/x", "k": "5"})", {}, 400, "field 'k'"},
      {"POST", "/v1/search", R"({"cell": 5})", {}, 400, "field 'cell'"},
      {"POST", "/v1/search", R"({"cell": "no-slash"})", {}, 400, "DATASET/CELL_ID"},
      {"POST", "/v1/search", R"({"index": "nope", "cell": "a/b"})", {}, 404, "no index 'nope'"},
      {"POST", "/v1/search", R"({"cell": "pbmc3k/x", "under": ["CL:9999999"]})", {}, 404, "CL:9999999"},
      {"POST", "/v1/search", R"({"embeddings": [[1, 2, 3]]})", {}, 400, "48 numbers"},
      {"POST", "/v1/search", R"({"embeddings": []})", {}, 400, "non-empty"},
      {"POST", "/v1/search", R"({})", {}, 400, "give one of"},
      {"POST", "/v1/search", "\x89HDF\r\n\x1a\nrest", {}, 501, "cannot embed uploads"},
      {"POST", "/v1/annotate", R"({"embeddings": [[1]], "min_support": 2})", {}, 400, "min_support"},
      {"POST", "/admin/reload", "", {}, 403, "local clients only"},
  };
  for (const Case& c : cases) {
    ServiceRequest r;
    r.method = c.method;
    r.path = c.path;
    r.params = c.params;
    r.body = c.body;
    r.content_type = c.body.rfind("\x89HDF", 0) == 0 ? "application/x-hdf5" : "application/json";
    r.from_loopback = c.path != "/admin/reload";
    ServiceResponse out = service_->handle(r);
    EXPECT_EQ(out.status, c.status) << c.method << " " << c.path << " " << c.body << ": " << out.body;
    Json j = Json::parse(out.body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << out.body;
    EXPECT_NE(j["error"]["message"].get<std::string>().find(c.words), std::string::npos)
        << c.method << " " << c.path << ": " << out.body;
  }
  // Too many cells in one request.
  Json many = {{"embeddings", Json::array()}};
  for (int i = 0; i < 101; ++i) many["embeddings"].push_back(std::vector<float>(kDims, 1.0f));
  EXPECT_EQ(post("/v1/search", many.dump()).status, 400);
  // Invalid UTF-8 in a query: answered, and the answer is valid JSON.
  ServiceResponse odd = get("/v1/terms", {{"q", "T \xff\xfe cell"}});
  EXPECT_EQ(odd.status, 200);
  EXPECT_FALSE(Json::parse(odd.body, nullptr, false).is_discarded());
}

TEST_F(ServeTest, ReloadShowsDataImportedMeanwhile) {
  EXPECT_EQ(ok_json(get("/v1/datasets")).size(), 1u);
  {
    auto writer = open_store(false);  // the service holds the store read-only: a writer may open it
    ASSERT_TRUE(import_dataset(*writer, "cells/pbmc4k_soupx/pbmc4k_soupx.h5ad", "pbmc4k").is_ok());
    EXPECT_EQ(ok_json(get("/v1/datasets")).size(), 1u);  // the old view until reload
    EXPECT_EQ(ok_json(get("/v1/terms/CL:0000236")).at("term_id"), "CL:0000236");  // still answering
  }
  ServiceRequest reload;
  reload.method = "POST";
  reload.path = "/admin/reload";
  EXPECT_EQ(service_->handle(reload).status, 200);
  EXPECT_EQ(ok_json(get("/v1/datasets")).size(), 2u);
  auto writer = open_store(false);
  ASSERT_TRUE(Corpus(*writer).delete_dataset("pbmc4k").is_ok());
}

// The HTTP layer on a loopback port: answers, the body limit (413), concurrent clients.
class HttpTest : public ServeTest {
 protected:
  void SetUp() override {
    ServeTest::SetUp();
    HttpOptions h;
    h.port = 0;
    h.max_body_bytes = 1 << 20;
    h.threads = 4;
    server_ = std::make_unique<HttpServer>(*service_, h);
    ASSERT_TRUE(server_->bind().is_ok());
    thread_ = std::thread([this] { (void)server_->listen(); });
  }
  void TearDown() override {
    server_->stop();
    thread_.join();
  }
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_F(HttpTest, AnswersLimitsAndConcurrentClients) {
  httplib::Client client("127.0.0.1", server_->bound_port());
  auto health = client.Get("/v1/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(Json::parse(health->body)["indexes"][0], "pbmc");
  auto page = client.Get("/");
  ASSERT_TRUE(page);
  EXPECT_NE(page->body.find("<title>sccello</title>"), std::string::npos);
  auto big = client.Post("/v1/search", std::string(2 << 20, ' '), "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  auto reload = client.Post("/admin/reload", "", "text/plain");
  ASSERT_TRUE(reload);
  EXPECT_EQ(reload->status, 200);  // the test client is local
  std::atomic<int> good{0}, bad{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t)
    clients.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", server_->bound_port());
      for (int i = 0; i < 25; ++i) {
        auto r = (i + t) % 2 ? c.Get("/v1/terms/CL:0000236/ancestors")
                             : c.Post("/v1/search", R"({"cell": "pbmc3k/0", "k": 10})", "application/json");
        (r && r->status == 200 ? good : bad)++;
      }
    });
  for (auto& c : clients) c.join();
  EXPECT_EQ(good.load(), 200);
  EXPECT_EQ(bad.load(), 0);
}

std::string find_chromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (fs::exists(p)) return p;
  return "";
}

TEST_F(HttpTest, WebPageSearchesTheOntologyInHeadlessChromium) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it)";
  const std::string profile = path_ + ".chromium";
  const std::string base = "http://127.0.0.1:" + std::to_string(server_->bound_port()) + "/";
  auto dom = [&](const std::string& hash) {
    return run_command(chromium + " --headless --no-sandbox --disable-gpu --user-data-dir='" + profile +
                       "' --virtual-time-budget=8000 --dump-dom '" + base + "#" + hash + "'");
  };
  // Typing "T cell" into the search box (the hash fills it and fires its input event).
  std::string page = dom("q=T%20cell");
  EXPECT_NE(page.find("data-term=\"CL:0000084\""), std::string::npos) << page.substr(0, 4000);
  EXPECT_NE(page.find(">T cell<"), std::string::npos);
  // A term's page: its name, parents and children.
  page = dom("term=CL:0000236");
  EXPECT_NE(page.find("<h2>B cell</h2>"), std::string::npos) << page.substr(0, 4000);
  EXPECT_NE(page.find("Children ("), std::string::npos);
  // A corpus cell's nearest cells.
  page = dom("cell=pbmc3k/0");
  EXPECT_NE(page.find("query pbmc3k/"), std::string::npos) << page.substr(0, 4000);
  size_t rows = 0;
  for (size_t at = page.find("<tr><td>"); at != std::string::npos; at = page.find("<tr><td>", at + 1)) ++rows;
  EXPECT_EQ(rows, 20u);
  fs::remove_all(profile);
}

}  // namespace
}  // namespace sccello
