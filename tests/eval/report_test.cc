// The HTML report (model/eval/report.h) on bundled data: pbmc68k_reduced's X_pca as the embedding
// (coloured by bulk_labels and phase), its `eval clustering --json` output, its louvain column
// as the "predictions" of a confusion matrix, and a metrics.jsonl with train, validation and
// eval rows. Checked twice: the HTML text itself, and the DOM headless Chromium builds from it
// (skipped when no chromium is installed; scripts/install-bench-deps.sh --chromium).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>

#include "model/eval/report.h"
#include "tests/eval/eval_test_util.h"

namespace sccello::eval {
namespace {

namespace fs = std::filesystem;

std::string run_command(const std::string& command, int* rc) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf;
  for (size_t n; (n = fread(buf.data(), 1, buf.size(), p)) > 0;) out.append(buf.data(), n);
  const int status = ::pclose(p);
  *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

size_t count(const std::string& text, const std::string& pattern) {
  const std::regex re(pattern);
  return static_cast<size_t>(std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

// A run folder with 10 train rows, one validation row and 2 train-time eval rows, and the
// clustering JSON of pbmc68k's X_pca (model and PCA rows) written by the CLI.
struct ReportFixture {
  std::string dir, html;
  ReportRequest request;
};

const ReportFixture& fixture() {
  static ReportFixture* f = [] {
    auto* fx = new ReportFixture;
    fx->dir = (fs::temp_directory_path() / ("sccello-report-test-" + std::to_string(::getpid()))).string();
    fs::create_directories(fx->dir);
    std::ofstream m(fx->dir + "/metrics.jsonl");
    for (int s = 1; s <= 10; ++s)
      m << "{\"type\":\"train\",\"step\":" << s * 20 << ",\"loss\":" << 30.0 / s << ",\"mgp\":" << 20.0 / s
        << ",\"intra\":" << 5.0 / s << ",\"inter\":2.3,\"reg\":" << 1.0 / s << ",\"mgp_acc\":0.02,\"coherence_acc\":"
        << 0.05 * s << "}\n";
    m << "{\"type\":\"eval\",\"step\":100,\"nmi\":0.3,\"ari\":0.2,\"asw_label\":0.45,\"avg_bio\":0.32}\n";
    m << "{\"type\":\"eval\",\"step\":200,\"nmi\":0.5,\"ari\":0.3,\"asw_label\":0.5,\"avg_bio\":0.43}\n";
    m << "{\"type\":\"validation\",\"step\":200,\"loss\":4.0,\"mgp\":3.0,\"intra\":0.9,\"inter\":0.0,\"reg\":0.1}\n";
    m.close();
    int rc = -1;
    const std::string json = fx->dir + "/eval.json";
    run_command(std::string(SCCELLO_CLI) + " --json eval clustering --embeddings " + kPbmc68k +
                    " --key X_pca --label-column bulk_labels --baseline pca --counts " + kPbmc68k +
                    " --assume-normalized > " + json,
                &rc);
    EXPECT_EQ(rc, 0);
    ReportRequest& r = fx->request;
    r.run_dir = fx->dir;
    r.eval_jsons = {json};
    r.embeddings = kPbmc68k, r.key = "X_pca", r.label_column = "bulk_labels", r.batch_column = "phase";
    r.annotations = kPbmc68k, r.predicted_column = "louvain", r.truth_column = "bulk_labels";
    auto html = render_report(r);
    EXPECT_TRUE(html.is_ok()) << html.status().message();
    if (html) fx->html = *html;
    return fx;
  }();
  return *f;
}

TEST(Report, HtmlHoldsCurvesTableMapsAndConfusion) {
  const std::string& html = fixture().html;
  ASSERT_FALSE(html.empty());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(html.find("<script"), std::string::npos);  // self-contained, nothing to run or fetch
  EXPECT_EQ(count(html, "<svg xmlns=\"http://www.w3.org/2000/svg\""), count(html, "<svg"));
  EXPECT_EQ(count(html, "<svg"), 10u);  // 5 losses, accuracy, eval, 2 maps, confusion
  EXPECT_EQ(html.find("https://"), std::string::npos);
  // 5 loss terms (train line each), 2 accuracies, 4 train-time eval scores.
  EXPECT_EQ(count(html, "<path class=\"series\""), 11u);
  // Validation markers on the 5 loss charts, and 700 cells on each of the two maps.
  EXPECT_EQ(count(html, "<circle class=\"marker\""), 5u);
  EXPECT_EQ(count(html, "<circle "), 5u + 2 * 700u);
  EXPECT_EQ(count(html, "<tr class=\"model\">"), 1u);
  EXPECT_EQ(count(html, "<tr class=\"pca\">"), 1u);
  // bulk_labels has 10 values, louvain 11: one rect per pair.
  EXPECT_EQ(count(html, "<rect class=\"cell\""), 10u * 11u);
  EXPECT_NE(html.find("700 of 700 cells"), std::string::npos);
  EXPECT_NE(html.find("by batch (phase)"), std::string::npos);
}

TEST(Report, MetricsAndEvalReaders) {
  auto rows = read_metrics(fixture().dir + "/metrics.jsonl");
  ASSERT_TRUE(rows.is_ok()) << rows.status().message();
  ASSERT_EQ(rows->size(), 13u);
  EXPECT_EQ((*rows)[10].type, "eval");
  EXPECT_DOUBLE_EQ((*rows)[11].values.at("avg_bio"), 0.43);
  auto table = read_eval_json(fixture().dir + "/eval.json");
  ASSERT_TRUE(table.is_ok()) << table.status().message();
  ASSERT_EQ(table->size(), 2u);
  EXPECT_NEAR((*table)[0].values.at("asw_label"), 0.5502624535, 1e-6);  // as eval_cli_test
  EXPECT_EQ((*table)[1].embedding, "pca");
}

TEST(Report, ErrorsNameTheFile) {
  ReportRequest r;
  r.run_dir = "/nonexistent-run";
  auto html = render_report(r);
  ASSERT_FALSE(html.is_ok());
  EXPECT_NE(html.status().message().find("/nonexistent-run/metrics.jsonl"), std::string::npos) << html.status().message();
  r = ReportRequest{};
  r.embeddings = kPbmc68k, r.key = "X_pca";
  html = render_report(r);
  ASSERT_FALSE(html.is_ok());
  EXPECT_NE(html.status().message().find("--label-column"), std::string::npos);
}

TEST(Report, CliWritesThePage) {
  const std::string out = fixture().dir + "/cli.html";
  int rc = -1;
  const std::string text = run_command(std::string(SCCELLO_CLI) + " report " + fixture().dir + " --eval " +
                                           fixture().dir + "/eval.json --embeddings " + kPbmc68k +
                                           " --key X_pca --label-column bulk_labels --out " + out + " 2>&1",
                                       &rc);
  ASSERT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("report written to " + out), std::string::npos) << text;
  std::ifstream in(out);
  const std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(count(html, "<circle "), 5u + 700u);
  const std::string bad = run_command(std::string(SCCELLO_CLI) + " report --out " + out + " 2>&1", &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(bad.find("nothing to report"), std::string::npos) << bad;
}

std::string find_chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    int rc = -1;
    std::string path = run_command(std::string("command -v ") + name + " 2>/dev/null", &rc);
    if (rc == 0 && !path.empty()) return path.substr(0, path.find('\n'));
  }
  return "";
}

TEST(Report, HeadlessChromiumRendersTheSvg) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium not installed (scripts/install-bench-deps.sh --chromium)";
  const std::string page = fixture().dir + "/report.html";
  ASSERT_TRUE(write_report(fixture().request, page).is_ok());
  int rc = -1;
  const std::string dom = run_command(chromium + " --headless --no-sandbox --disable-gpu --dump-dom file://" + page +
                                          " 2>/dev/null",
                                      &rc);
  ASSERT_EQ(rc, 0) << dom.substr(0, 500);
  // The parsed DOM, serialised by the browser: the same SVG elements inside the body.
  EXPECT_EQ(count(dom, "<svg "), 5u + 1u + 1u + 2u + 1u);  // 5 losses, accuracy, eval, 2 maps, confusion
  EXPECT_EQ(count(dom, "<path class=\"series\""), 11u);
  EXPECT_EQ(count(dom, "<circle "), 5u + 2 * 700u);
  EXPECT_EQ(count(dom, "<rect class=\"cell\""), 110u);
  EXPECT_EQ(count(dom, "<tr class=\"(model|pca)\">"), 2u);
}

}  // namespace
}  // namespace sccello::eval
