// Training on real pbmc3k cells: overfitting a tiny model, exact resume, ablations, releases,
// NaN handling, bad inputs, embeddings (h5ad/tsv), and the CLI's error exits.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "graph/release_diff.h"
#include "model/checkpoint.h"
#include "model/embed.h"
#include "model/trainer.h"
#include "model/training_data.h"
#include "store/kv_store.h"
#include "store/cells/cell_import.h"
#include "store/corpus.h"
#include "store/cells/gene_vocab.h"
#include "store/release_store.h"
#include "store/store.h"

namespace sccello {
namespace {

namespace fs = std::filesystem;

std::string data(const std::string& rel) { return std::string(SCCELLO_DATA_DIR) + "/" + rel; }

// One store per process, built on first use (ctest runs each test in its own process, and only
// the tests that train need it): releases 2021-12-16 and 2022-12-15, pbmc3k (labelled), tenx
// (unlabelled). Removed at exit.
class ModelStore {
 public:
  static Store& store() { return *instance().store_; }
  static const std::string& dir() { return instance().dir_; }
  ~ModelStore() {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

 private:
  static ModelStore& instance() {
    static ModelStore s;
    return s;
  }
  ModelStore() {
    dir_ = (fs::temp_directory_path() / ("sccello-model-train-" + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    StoreOptions so;
    so.path = dir_ + "/store";
    store_ = check(Store::open(so));
    ReleaseStore releases(*store_);
    for (const char* f : {"ontology/cl-basic-2021-12-16.obo", "ontology/cl-basic-2022-12-15.obo"})
      check(releases.put(check(read_ontology_file(data(f), ImportOptions{})), ImportOptions{}));
    GeneVocab vocab = check(GeneVocab::load(check(GeneVocab::locate(""))));
    CellImportOptions o;
    o.dataset = "pbmc3k";
    check(import_cells(*store_, vocab, data("cells/pbmc3k_seurat/pbmc3k_seurat.h5ad"), o));
    o.dataset = "tenx";
    check(import_cells(*store_, vocab, data("cells/tenx_v3_subset/filtered_feature_bc_matrix.h5"), o));
  }
  template <typename T>
  static T check(Result<T> r) {
    if (!r.is_ok()) {
      std::fprintf(stderr, "test store setup failed: %s\n", r.status().message().c_str());
      std::abort();
    }
    return std::move(r).value();
  }
  std::unique_ptr<Store> store_;
  std::string dir_;
};

RunConfig tiny_run() {
  RunConfig c;
  c.model.layers = 2, c.model.hidden = 64, c.model.heads = 2, c.model.ffn = 128, c.model.max_positions = 64;
  c.train.max_len = 64, c.train.batch_size = 16, c.train.grad_accum = 1, c.train.lr = 3e-3, c.train.warmup_steps = 5;
  c.train.val_fraction = 0.0, c.train.log_every = 5, c.train.checkpoint_every = 1000, c.train.keep_last = 3;
  c.train.datasets = {"pbmc3k"}, c.train.max_cells = 48, c.train.release = "2022-12-15";
  return c;
}

TrainRequest request_for(const RunConfig& c, const std::string& name) {
  TrainRequest r;
  r.config = c;
  r.out_dir = ModelStore::dir() + "/" + name;
  r.threads = 1;  // OpenMP spinning on a loaded 2-core machine makes 2 threads far slower
  return r;
}

TEST(Training, TinyModelOverfitsRealCells) {
  RunConfig c = tiny_run();
  c.model.dropout = c.model.attention_dropout = 0.0;
  c.train.steps = 150;
  c.train.lr = 3e-3;
  auto s = train_model(ModelStore::store(), request_for(c, "overfit"));
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  EXPECT_EQ(s->train_cells, 48);
  EXPECT_EQ(s->label_space, 7);  // the CL terms of pbmc3k's first 48 cells
  const TrainMetrics &first = s->curve.front(), &last = s->curve.back();
  std::printf("overfit: mgp %.3f -> %.3f, intra %.3f -> %.3f, inter %.3f -> %.3f, coherence acc %.3f -> %.3f, mgp acc %.3f\n",
              first.mgp, last.mgp, first.intra, last.intra, first.inter, last.inter, first.coherence_acc,
              last.coherence_acc, last.mgp_acc);
  EXPECT_LT(last.mgp, first.mgp * 0.8);
  double best = 0;
  for (const auto& m : s->curve) {
    best = std::max(best, m.coherence_acc);
    std::printf(" %lld:%.3f/%.3f", (long long)m.step, m.coherence_acc, m.intra);
  }
  std::printf("\n");
  EXPECT_DOUBLE_EQ(best, 1.0);               // every cell of a logged window classified right
  EXPECT_GE(last.coherence_acc, 0.95);
  EXPECT_LT(last.intra, first.intra);
}

NamedTensors final_tensors(const std::string& out_dir) {
  auto ckpt = read_checkpoint(*resolve_checkpoint_path(out_dir));
  EXPECT_TRUE(ckpt.is_ok());
  return ckpt->tensors;
}

TEST(Training, SaveInitWritesTheUntrainedModelFirst) {
  RunConfig c = tiny_run();
  c.train.steps = 3;
  TrainRequest trained = request_for(c, "init_then_train");
  trained.save_init = true;
  auto s = train_model(ModelStore::store(), trained);
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  ASSERT_EQ(s->init_checkpoint, trained.out_dir + "/init.ckpt");
  TrainRequest only = request_for(c, "init_only");
  only.save_init = only.init_only = true;
  auto o = train_model(ModelStore::store(), only);
  ASSERT_TRUE(o.is_ok()) << o.status().message();
  EXPECT_EQ(o->steps_done, 0);
  EXPECT_TRUE(o->last_checkpoint.empty());
  auto a = read_checkpoint(s->init_checkpoint), b = read_checkpoint(o->init_checkpoint);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  EXPECT_EQ(a->meta.step, 0);
  // Same seed: the same initial parameters; training moved them.
  NamedTensors last = final_tensors(trained.out_dir);
  ASSERT_EQ(a->tensors.size(), b->tensors.size());
  double moved = 0;
  for (size_t i = 0; i < a->tensors.size(); ++i) {
    ASSERT_EQ(a->tensors[i].first, b->tensors[i].first);
    EXPECT_TRUE(a->tensors[i].second.equal(b->tensors[i].second)) << a->tensors[i].first;
    for (const auto& [name, t] : last)
      if (name == a->tensors[i].first) moved = std::max(moved, (t - a->tensors[i].second).abs().max().item<double>());
  }
  EXPECT_GT(moved, 1e-4);
}

TEST(Training, ResumeEqualsUninterruptedTraining) {
  RunConfig c = tiny_run();
  c.train.steps = 6, c.train.grad_accum = 2, c.train.max_cells = 64;
  auto full = train_model(ModelStore::store(), request_for(c, "full"));
  ASSERT_TRUE(full.is_ok()) << full.status().message();
  TrainRequest first = request_for(c, "split");
  first.stop_after_step = 3;
  ASSERT_TRUE(train_model(ModelStore::store(), first).is_ok());
  TrainRequest second = request_for(RunConfig{}, "split");  // the config comes from the checkpoint
  second.resume = second.out_dir;
  // As a run killed after step 3's checkpoint leaves it: metrics past the checkpoint, a temporary.
  std::ofstream(second.out_dir + "/metrics.jsonl", std::ios::app) << "{\"type\":\"train\",\"step\":5}\nnot json\n";
  const std::string stale = second.out_dir + "/checkpoints/step-00000005.ckpt.tmp-999999999";
  std::ofstream(stale) << "partial";
  auto resumed = train_model(ModelStore::store(), second);
  ASSERT_TRUE(resumed.is_ok()) << resumed.status().message();
  EXPECT_EQ(resumed->steps_done, 6);
  EXPECT_FALSE(std::filesystem::exists(stale));
  std::ifstream metrics(second.out_dir + "/metrics.jsonl");
  std::vector<int64_t> steps;
  for (std::string line; std::getline(metrics, line);) {
    auto j = nlohmann::json::parse(line);  // every line is JSON again
    if (j["type"] == "train") steps.push_back(j["step"].get<int64_t>());
  }
  EXPECT_TRUE(std::is_sorted(steps.begin(), steps.end()) &&
              std::adjacent_find(steps.begin(), steps.end()) == steps.end())
      << "metrics.jsonl repeats or reorders steps after resume";
  NamedTensors a = final_tensors(full->last_checkpoint), b = final_tensors(resumed->last_checkpoint);
  ASSERT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].first, b[i].first);
    worst = std::max(worst, (a[i].second - b[i].second).abs().max().item<double>());
  }
  EXPECT_LE(worst, 1e-6);
  EXPECT_GT(worst + 1, 0);  // printed for the record
  std::printf("resume: max |difference| over %zu tensors = %.3g\n", a.size(), worst);
}

TEST(Training, AblationMgpOnlyAndAnotherTarget) {
  RunConfig c = tiny_run();
  c.train.steps = 3;
  ASSERT_TRUE(c.train.losses.set_enabled("mgp").is_ok());
  auto mgp = train_model(ModelStore::store(), request_for(c, "mgp-only"));
  ASSERT_TRUE(mgp.is_ok()) << mgp.status().message();
  EXPECT_EQ(mgp->curve.back().intra, 0.0);
  EXPECT_EQ(mgp->curve.back().inter, 0.0);
  EXPECT_GT(mgp->curve.back().mgp, 0.0);
  EXPECT_EQ(read_checkpoint(mgp->last_checkpoint)->meta.losses, "mgp");
  RunConfig t = tiny_run();
  t.train.steps = 2;
  t.train.target = "shortest_path";
  auto sp = train_model(ModelStore::store(), request_for(t, "shortest-path"));
  ASSERT_TRUE(sp.is_ok()) << sp.status().message();
  EXPECT_EQ(sp->target.rfind("shortest_path", 0), 0u) << sp->target;
  EXPECT_EQ(read_checkpoint(sp->last_checkpoint)->meta.target_describe, sp->target);
}

TEST(Training, Bf16AutocastTrains) {
  RunConfig c = tiny_run();
  c.train.steps = 10;
  c.train.bf16 = true;
  auto s = train_model(ModelStore::store(), request_for(c, "bf16"));
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  EXPECT_TRUE(std::isfinite(s->curve.back().loss));
  EXPECT_LT(s->curve.back().mgp, s->curve.front().mgp);
  auto meta = read_checkpoint(s->last_checkpoint)->meta;
  EXPECT_TRUE(meta.config.train.bf16);
}

TEST(Training, AnotherReleaseTrainsAndCheckpointsRecordIt) {
  RunConfig c = tiny_run();
  c.train.steps = 2;
  c.train.release = "2021-12-16";
  auto s = train_model(ModelStore::store(), request_for(c, "release2021"));
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  auto meta = read_checkpoint(s->last_checkpoint)->meta;
  EXPECT_EQ(meta.release_name, "2021-12-16");
  EXPECT_EQ(meta.release_hash, (*ReleaseStore(ModelStore::store()).info("2021-12-16")).content_hash);
  // Resuming it under another release is refused clearly.
  TrainRequest resume = request_for(RunConfig{}, "release2021");
  resume.resume = resume.out_dir;
  resume.resume_release = "2022-12-15";
  auto other = train_model(ModelStore::store(), resume);
  ASSERT_FALSE(other.is_ok());
  EXPECT_NE(other.status().message().find("resume under the same release"), std::string::npos)
      << other.status().message();
}

TEST(Training, CheckpointLoadsAgainstAnotherReleaseWithMigratedLabels) {
  ReleaseStore releases(ModelStore::store());
  OntologyRelease r2021 = *releases.load("2021-12-16"), r2022 = *releases.load("2022-12-15");
  ReleaseDiff diff = diff_releases(r2021, r2022);
  TermId replaced, dropped, replacement;
  for (const auto& o : diff.newly_obsolete) {
    if (!o.replaced_by.empty() && replaced.empty()) replaced = o.id, replacement = o.replaced_by[0];
    if (o.replaced_by.empty() && dropped.empty()) dropped = o.id;
  }
  ASSERT_FALSE(replaced.empty());
  ASSERT_FALSE(dropped.empty());
  std::vector<std::string> notes;
  auto migrated = migrate_label_space({"CL:0000236", replaced}, r2022, &notes);
  ASSERT_TRUE(migrated.is_ok()) << migrated.status().message();
  EXPECT_EQ((*migrated)[0], "CL:0000236");
  EXPECT_EQ((*migrated)[1], migrate_term(r2022, replaced).to);
  EXPECT_EQ(notes.size(), 1u);
  auto fails = migrate_label_space({"CL:0000236", dropped}, r2022, nullptr);
  ASSERT_FALSE(fails.is_ok());
  EXPECT_NE(fails.status().message().find(dropped), std::string::npos);
  // A model trained on 2022-12-15 embeds through 2021-12-16 (its pbmc3k labels live in both).
  RunConfig c = tiny_run();
  c.train.steps = 1;
  auto s = train_model(ModelStore::store(), request_for(c, "cross"));
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  EmbedRequest e;
  e.checkpoint = ModelStore::dir() + "/cross";
  e.dataset = "pbmc3k";
  e.release = "2021-12-16";
  e.out = ModelStore::dir() + "/cross.tsv";
  auto out = embed_to_file(&ModelStore::store(), e);
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_EQ(out->release, "2021-12-16");
  EXPECT_EQ(out->cells, 2638);
}

TEST(Training, NanLossStopsAndNamesTheStep) {
  RunConfig c = tiny_run();
  c.train.steps = 6, c.train.checkpoint_every = 2;
  TrainRequest r = request_for(c, "nan");
  r.nan_at_step = 3;
  auto s = train_model(ModelStore::store(), r);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find("step 3"), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find("step-00000002.ckpt"), std::string::npos) << s.status().message();
  EXPECT_TRUE(read_checkpoint(checkpoint_path(r.out_dir, 2)).is_ok());
  EXPECT_FALSE(fs::exists(checkpoint_path(r.out_dir, 3)));
}

TEST(Training, BadInputsAreClearErrors) {
  RunConfig c = tiny_run();
  c.train.steps = 1;
  c.train.datasets = {"no-such-dataset"};
  auto missing = train_model(ModelStore::store(), request_for(c, "bad1"));
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("no-such-dataset"), std::string::npos);
  c.train.datasets = {"tenx"};  // no labels at all
  auto empty = train_model(ModelStore::store(), request_for(c, "bad2"));
  ASSERT_FALSE(empty.is_ok());
  EXPECT_NE(empty.status().message().find("empty label space"), std::string::npos);
  ASSERT_TRUE(c.train.losses.set_enabled("mgp").is_ok());
  EXPECT_TRUE(train_model(ModelStore::store(), request_for(c, "bad3")).is_ok());
  TrainRequest cuda = request_for(tiny_run(), "bad4");
  cuda.device = "cuda";
  auto no_cuda = train_model(ModelStore::store(), cuda);
  if (!at::globalContext().hasCUDA()) {
    ASSERT_FALSE(no_cuda.is_ok());
    EXPECT_NE(no_cuda.status().message().find("without CUDA"), std::string::npos);
  }
}

// Rows of an embedding TSV: "cell_id\tterm_id" -> values.
std::vector<std::pair<std::string, std::vector<double>>> read_tsv(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line.substr(0, 20), "cell_id\tterm_id\tdim0");
  std::vector<std::pair<std::string, std::vector<double>>> rows;
  while (std::getline(in, line)) {
    auto second_tab = line.find('\t', line.find('\t') + 1);
    std::stringstream ss(line.substr(second_tab + 1));
    std::vector<double> values;
    for (double v; ss >> v;) values.push_back(v);
    rows.emplace_back(line.substr(0, second_tab), values);
  }
  return rows;
}

double max_difference(const std::vector<std::pair<std::string, std::vector<double>>>& a,
                      const std::vector<std::pair<std::string, std::vector<double>>>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    for (size_t d = 0; d < a[i].second.size(); ++d) worst = std::max(worst, std::abs(a[i].second[d] - b[i].second[d]));
  }
  return worst;
}

TEST(Embedding, H5adAndTsvAreDeterministicAndNormalised) {
  RunConfig c = tiny_run();
  c.train.steps = 2;
  auto s = train_model(ModelStore::store(), request_for(c, "embed"));
  ASSERT_TRUE(s.is_ok());
  EmbedRequest e;
  e.checkpoint = s->last_checkpoint;
  e.dataset = "pbmc3k";
  e.out = ModelStore::dir() + "/e1.tsv";
  ASSERT_TRUE(embed_to_file(&ModelStore::store(), e).is_ok());
  e.out = ModelStore::dir() + "/e2.tsv";
  e.options.batch_size = 7;  // other batching: same numbers
  ASSERT_TRUE(embed_to_file(&ModelStore::store(), e).is_ok());
  auto t1 = read_tsv(ModelStore::dir() + "/e1.tsv"), t2 = read_tsv(ModelStore::dir() + "/e2.tsv");
  ASSERT_EQ(t1.size(), 2638u);
  EXPECT_LT(max_difference(t1, t2), 1e-5);
  double norm = 0;
  for (double v : t1[0].second) norm += v * v;
  EXPECT_NEAR(norm, 1.0, 1e-4);
  e.out = ModelStore::dir() + "/e.h5ad";
  ASSERT_TRUE(embed_to_file(&ModelStore::store(), e).is_ok());
  e.out = ModelStore::dir() + "/e.csv";
  EXPECT_FALSE(embed_to_file(&ModelStore::store(), e).is_ok());
  // An .h5ad input is tokenized on the fly: same cells, same embedding as from the corpus.
  EmbedRequest h = e;
  h.dataset.clear();
  h.h5ad = data("cells/pbmc3k_seurat/pbmc3k_seurat.h5ad");
  h.out = ModelStore::dir() + "/e3.tsv";
  ASSERT_TRUE(embed_to_file(nullptr, h).is_ok());
  EXPECT_LT(max_difference(t1, read_tsv(ModelStore::dir() + "/e3.tsv")), 1e-5);
}

int run_cli(const std::string& args, std::string* output) {
  std::string log = ModelStore::dir() + "/cli.log";
  int rc = std::system((std::string(SCCELLO_CLI) + " --store " + ModelStore::dir() + "/store " + args + " > " + log +
                        " 2>&1").c_str());
  std::ifstream in(log);
  output->assign(std::istreambuf_iterator<char>(in), {});
  return WEXITSTATUS(rc);
}

// `train --resume DIR` without --out continues in DIR (found by the kill -9 trials: it used to write
// the rest of the run into ./sccello-run).
TEST(Cli, ResumeWithoutOutContinuesInTheResumedRun) {
  const std::string run = ModelStore::dir() + "/resume-in-place", config = ModelStore::dir() + "/tiny-resume.json";
  std::ofstream(config) << R"({"model": {"layers": 1, "hidden": 16, "heads": 2, "ffn": 32, "max_positions": 32},
    "train": {"batch_size": 4, "max_len": 32, "warmup_steps": 1, "checkpoint_every": 2, "keep_last": 5}})";
  std::string out;
  ASSERT_EQ(run_cli("--threads 1 train --config " + config + " --datasets pbmc3k --steps 4 --max-cells 40 --out " + run,
                    &out), 0) << out;
  const std::string last = run + "/checkpoints/step-00000004.ckpt";
  ASSERT_TRUE(fs::exists(last)) << out;
  fs::remove(last);  // as a run killed before its last checkpoint
  ASSERT_EQ(run_cli("--threads 1 train --resume " + run, &out), 0) << out;
  EXPECT_TRUE(fs::exists(last)) << out;
  EXPECT_NE(out.find("trained 4/4 steps"), std::string::npos) << out;
  fs::remove(last);  // the same, resumed from a checkpoint file
  ASSERT_EQ(run_cli("--threads 1 train --resume " + run + "/checkpoints/step-00000002.ckpt", &out), 0) << out;
  EXPECT_TRUE(fs::exists(last)) << out;
}

TEST(Cli, TrainAndEmbedErrorsExitNonZero) {
  std::string bad = ModelStore::dir() + "/bad.json", out;
  std::ofstream(bad) << R"({"model": {"hidden": 64, "heads": 3}})";
  EXPECT_EQ(run_cli("train --config " + bad + " --datasets pbmc3k --steps 1", &out), 1);
  EXPECT_NE(out.find("sccello: error: model.heads (3) must divide model.hidden (64)"), std::string::npos) << out;
  std::ofstream(bad) << R"({"train": {"stepz": 1}})";
  EXPECT_EQ(run_cli("train --config " + bad, &out), 1);
  EXPECT_NE(out.find("unknown config key"), std::string::npos) << out;
  EXPECT_EQ(run_cli("train --datasets pbmc3k --losses mgp,bogus", &out), 1);
  EXPECT_NE(out.find("unknown loss 'bogus'"), std::string::npos) << out;
  EXPECT_EQ(run_cli("embed --checkpoint " + ModelStore::dir() + "/nowhere --dataset pbmc3k --out x.h5ad", &out), 1);
  EXPECT_NE(out.find("no checkpoint"), std::string::npos) << out;
  EXPECT_EQ(run_cli("embed --checkpoint " + ModelStore::dir() + "/nowhere --dataset pbmc3k --out x.h5ad --batch-size 0", &out), 1);
  EXPECT_NE(out.find("--batch-size must be at least 1"), std::string::npos) << out;
  EXPECT_EQ(out.find("Exception raised from"), std::string::npos) << out;  // no LibTorch backtrace
  EXPECT_EQ(run_cli("embed --checkpoint " + ModelStore::dir() + " --h5ad x.h5ad --out x.tsv --total some", &out), 1);
  EXPECT_NE(out.find("--total must be vocab or all"), std::string::npos) << out;
  EXPECT_EQ(run_cli("train --datasets pbmc3k --steps 0", &out), 1);
  EXPECT_NE(out.find("--steps must be at least 1"), std::string::npos) << out;
  EXPECT_EQ(run_cli("train --datasets pbmc3k,pbmc3k --steps 1", &out), 1);
  EXPECT_NE(out.find("listed twice"), std::string::npos) << out;
  EXPECT_EQ(run_cli("train --resume " + ModelStore::dir() + "/nowhere --steps 9 --batch-size 4", &out), 1);
  EXPECT_NE(out.find("--steps, --batch-size cannot change on resume"), std::string::npos) << out;
}

}  // namespace
}  // namespace sccello
