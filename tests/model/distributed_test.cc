// Data-parallel training on c10d/Gloo, driven through the CLI as users run it: 2 ranks × b cells
// against 1 process × 2b cells (parameters after 5 steps), --global-negatives against the
// one-process loss on the concatenated batch, a killed worker (the other names it and exits), and
// resume with another world size. Plus the pure pieces: rank shares, per-row masking, the env contract.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/batching.h"
#include "model/checkpoint.h"
#include "model/distributed.h"
#include "model/distributed_launch.h"

namespace sccello {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string data(const std::string& rel) { return std::string(SCCELLO_DATA_DIR) + "/" + rel; }

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A scratch directory with a store holding release 2022-12-15 and pbmc3k (built once per process
// through the CLI) and a tiny dropout-free config.
class Scratch {
 public:
  static Scratch& get() {
    static Scratch s;
    return s;
  }
  std::string dir, store, config;
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

 private:
  Scratch() {
    dir = (fs::temp_directory_path() / ("sccello-dist-" + std::to_string(::getpid()))).string();
    fs::remove_all(dir);
    fs::create_directories(dir);
    store = dir + "/store";
    config = dir + "/tiny.json";
    std::ofstream(config) << R"({"model": {"layers": 2, "hidden": 64, "heads": 2, "ffn": 128, "max_positions": 64,
      "dropout": 0.0, "attention_dropout": 0.0},
      "train": {"max_len": 64, "lr": 0.003, "warmup_steps": 2, "release": "2022-12-15", "val_fraction": 0.0,
      "datasets": ["pbmc3k"], "checkpoint_every": 1000, "log_every": 1}})";
    const std::string cli = std::string(SCCELLO_CLI) + " --store " + store + " ";
    if (std::system((cli + "ontology import " + data("ontology/cl-basic-2022-12-15.obo") + " >/dev/null").c_str()) != 0 ||
        std::system((cli + "cells import " + data("cells/pbmc3k_seurat/pbmc3k_seurat.h5ad") +
                     " --dataset pbmc3k >/dev/null").c_str()) != 0) {
      std::fprintf(stderr, "distributed test: store setup failed\n");
      std::abort();
    }
  }
};

// `sccello train` with the tiny config and `extra` options into <scratch>/<out>; returns the exit
// status, the output in *log (may be null).
int train(const std::string& out, const std::string& extra, std::string* log = nullptr) {
  Scratch& s = Scratch::get();
  const std::string log_file = s.dir + "/" + out + ".log";
  const bool resume = extra.find("--resume") != std::string::npos;  // the checkpoint has the config
  const std::string cmd = "timeout 300 " + std::string(SCCELLO_CLI) + " --store " + s.store + " --threads 1 train " +
                          (resume ? "" : "--config " + s.config) + " --out " + s.dir + "/" + out + " " + extra +
                          " >" + log_file + " 2>&1";
  int status = std::system(cmd.c_str());
  if (log) *log = read_text(log_file);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

NamedTensors model_tensors_of(const std::string& out) {
  auto path = resolve_checkpoint_path(Scratch::get().dir + "/" + out);
  EXPECT_TRUE(path.is_ok());
  auto ckpt = read_checkpoint(*path);
  EXPECT_TRUE(ckpt.is_ok());
  NamedTensors model;
  for (auto& [name, t] : ckpt->tensors)
    if (name.rfind("adam.", 0) != 0) model.emplace_back(name, t);
  return model;
}

// The largest |a - b| over all parameters (both runs must have the same names and shapes).
double max_difference(const NamedTensors& a, const NamedTensors& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(a[i].second.sizes() == b[i].second.sizes()) << a[i].first;
    const double d = (a[i].second.to(at::kDouble) - b[i].second.to(at::kDouble)).abs().max().item<double>();
    if (d > 1e-5) std::printf("  %s: max |difference| %.3g\n", a[i].first.c_str(), d);
    worst = std::max(worst, d);
  }
  return worst;
}

std::vector<nlohmann::json> train_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(Scratch::get().dir + "/" + out + "/metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j["type"] == "train") lines.push_back(j);
  }
  return lines;
}

TEST(DataParallel, RankSharesCoverTheBatchOnce) {
  std::vector<int> seen(11, 0);
  for (int r = 0; r < 3; ++r)
    for (int64_t i : rank_share(11, r, 3)) ++seen[i];
  for (int n : seen) EXPECT_EQ(n, 1);
  EXPECT_EQ(rank_share(11, 0, 3), (std::vector<int64_t>{0, 3, 6, 9}));
  EXPECT_EQ(rank_share(2, 2, 3), std::vector<int64_t>{});
}

TEST(DataParallel, RowMasksDoNotDependOnTheRowsBeside) {
  ModelConfig model;
  std::vector<CellExample> cells(6);
  for (int c = 0; c < 6; ++c)
    for (int t = 0; t < 20 + 7 * c; ++t) cells[c].tokens.push_back(t == 0 ? model.cls_id : model.mask_id + 1 + 13 * c + t);
  PaddedBatch all = pad_batch(cells, {0, 1, 2, 3, 4, 5}, model.pad_id);
  auto all_labels = mask_tokens_by_row(all, model, 0.3, 77, {0, 1, 2, 3, 4, 5});
  PaddedBatch odd = pad_batch(cells, {1, 3, 5}, model.pad_id);  // rank 1 of 2: positions 1, 3, 5
  auto odd_labels = mask_tokens_by_row(odd, model, 0.3, 77, {1, 3, 5});
  for (int r = 0; r < 3; ++r)
    for (int64_t t = 0; t < odd.lengths[r]; ++t) {
      EXPECT_EQ(odd.ids[r * odd.length + t], all.ids[(2 * r + 1) * all.length + t]);
      EXPECT_EQ(odd_labels[r * odd.length + t], all_labels[(2 * r + 1) * all.length + t]);
    }
}

TEST(DataParallel, LaunchEnvironmentFollowsTorchrun) {
  ::unsetenv("RANK"), ::unsetenv("WORLD_SIZE");
  auto single = launch_env_from_environment();
  ASSERT_TRUE(single.is_ok());
  EXPECT_FALSE(single->distributed());
  ::setenv("RANK", "1", 1), ::setenv("WORLD_SIZE", "2", 1), ::setenv("MASTER_PORT", "23456", 1);
  auto two = launch_env_from_environment();
  ASSERT_TRUE(two.is_ok()) << two.status().message();
  EXPECT_EQ(two->rank, 1);
  EXPECT_EQ(two->world_size, 2);
  EXPECT_EQ(two->master_port, 23456);
  ::setenv("RANK", "2", 1);
  EXPECT_FALSE(launch_env_from_environment().is_ok());
  ::unsetenv("RANK"), ::unsetenv("WORLD_SIZE"), ::unsetenv("MASTER_PORT");
  EXPECT_EQ(strip_option({"sccello", "train", "--nproc", "2", "--steps", "5", "--nproc=3"}, "--nproc"),
            (std::vector<std::string>{"sccello", "train", "--steps", "5"}));
}

// The plan of the equivalence tests. Float rounding differs between the runs (summation order,
// as between one process with 1 or 2 threads: 2e-6 here); Adam turns the rounding of a near-zero
// gradient into a step of up to ±lr, so the learning rate bounds the noise floor (lr 3e-3: 6e-6 for
// threads 1 vs 2, 1.3e-5 for 1 vs 2 ranks; lr 1e-3: 2e-6 and 5e-6).
const char kEquivalencePlan[] = "--max-cells 64 --batch-size 16 --grad-accum 2 --steps 5 --lr 1e-3";

// 2 ranks × 8 cells with 2 accumulated micro-batches equal 1 process × 16 cells: the losses are
// normalised over the global micro-batch, the gradients averaged in buckets.
TEST(DataParallel, TwoRanksEqualOneProcessOnTheSameCells) {
  const std::string plan = std::string("--losses mgp,intra,reg ") + kEquivalencePlan;
  std::string log1, log2;
  ASSERT_EQ(train("one", plan, &log1), 0) << log1;
  ASSERT_EQ(train("two", plan + " --nproc 2", &log2), 0) << log2;
  EXPECT_NE(log2.find("data-parallel: 2 ranks"), std::string::npos) << log2;
  const NamedTensors one = model_tensors_of("one"), two = model_tensors_of("two");
  const double diff = max_difference(one, two);
  std::printf("max |param(1 x 16) - param(2 x 8)| after 5 steps: %.3g\n", diff);
  EXPECT_LT(diff, 1e-5);
  auto a = train_lines("one"), b = train_lines("two");
  ASSERT_EQ(a.size(), 5u);
  ASSERT_EQ(b.size(), 5u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(a[i]["loss"].get<double>(), b[i]["loss"].get<double>(), 1e-4 * std::abs(a[i]["loss"].get<double>()));
    EXPECT_EQ(a[i]["mgp_acc"], b[i]["mgp_acc"]);
  }
  EXPECT_GT(a.front()["loss"].get<double>(), 0);
}

// With --global-negatives the alignment loss of 2 ranks is the one-process loss on the
// concatenated batch (the oracle), and so are the parameters; without it, each rank's alignment
// loss sees only its own cells and the logged loss differs.
TEST(DataParallel, GlobalNegativesEqualTheOneProcessAlignmentLoss) {
  const std::string plan = std::string("--losses mgp,intra,inter,reg ") + kEquivalencePlan;
  std::string log;
  ASSERT_EQ(train("inter-one", plan, &log), 0) << log;
  ASSERT_EQ(train("inter-global", plan + " --nproc 2 --global-negatives", &log), 0) << log;
  ASSERT_EQ(train("inter-local", plan + " --nproc 2", &log), 0) << log;
  auto one = train_lines("inter-one"), global = train_lines("inter-global"), local = train_lines("inter-local");
  ASSERT_EQ(one.size(), 5u);
  ASSERT_EQ(global.size(), 5u);
  for (size_t i = 0; i < one.size(); ++i) {
    const double oracle = one[i]["inter"].get<double>();
    std::printf("step %zu inter: one process %.6f, 2 ranks global %.6f, 2 ranks local %.6f\n", i + 1, oracle,
                global[i]["inter"].get<double>(), local[i]["inter"].get<double>());
    EXPECT_NEAR(global[i]["inter"].get<double>(), oracle, 1e-5 * std::max(1.0, std::abs(oracle)));
  }
  EXPECT_GT(std::abs(local[0]["inter"].get<double>() - one[0]["inter"].get<double>()), 1e-3);
  const double diff = max_difference(model_tensors_of("inter-one"), model_tensors_of("inter-global"));
  std::printf("max |param(1 x 16) - param(2 x 8, global negatives)|: %.3g\n", diff);
  EXPECT_LT(diff, 1e-5);
  EXPECT_GT(max_difference(model_tensors_of("inter-one"), model_tensors_of("inter-local")), 1e-5);
}

// Worker rank 1 of a torchrun-style launch is killed: rank 0 exits non-zero within 60 s naming it.
// Resuming the run in one process (another world size) from the last checkpoint ends where an
// uninterrupted one-process run ends, within the rounding noise of 24 steps (Adam amplifies it:
// one process with 1 vs 2 threads differs by ~1e-3 after 40 steps at lr 1e-3).
TEST(DataParallel, KilledWorkerIsNamedAndTheRunResumesWithAnotherWorldSize) {
  Scratch& s = Scratch::get();
  const std::string plan = "--losses mgp,intra,reg --max-cells 48 --batch-size 16 --steps 24 --lr 1e-3 --checkpoint-every 1 --keep-last 2";
  const std::string out = s.dir + "/killed";
  const int port = free_local_port();
  ASSERT_GT(port, 0);
  pid_t pids[2];
  for (int rank = 0; rank < 2; ++rank) {
    pids[rank] = ::fork();
    if (pids[rank] == 0) {
      ::setenv("RANK", std::to_string(rank).c_str(), 1), ::setenv("WORLD_SIZE", "2", 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1), ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      const std::string cmd = std::string(SCCELLO_CLI) + " --store " + s.store + " --threads 1 train --config " +
                              s.config + " --out " + out + " " + plan + " >" + out + "-rank" + std::to_string(rank) +
                              ".log 2>&1";
      ::execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  const auto start = Clock::now();
  while (!fs::exists(out + "/checkpoints/step-00000003.ckpt") && Clock::now() - start < std::chrono::seconds(120))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(fs::exists(out + "/checkpoints/step-00000003.ckpt")) << read_text(out + "-rank0.log");
  ::kill(pids[1], SIGKILL);
  const auto killed = Clock::now();
  int status = 0;
  pid_t done = 0;
  while ((done = ::waitpid(pids[0], &status, WNOHANG)) == 0 && Clock::now() - killed < std::chrono::seconds(90))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const double seconds = std::chrono::duration<double>(Clock::now() - killed).count();
  if (done == 0) ::kill(pids[0], SIGKILL), ::waitpid(pids[0], &status, 0);
  ::waitpid(pids[1], nullptr, 0);
  const std::string log0 = read_text(out + "-rank0.log");
  std::printf("rank 0 exited %.1f s after rank 1 was killed:\n%s", seconds, log0.c_str());
  ASSERT_EQ(done, pids[0]) << "rank 0 still ran 90 s after rank 1 was killed";
  EXPECT_LT(seconds, 60.0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
  EXPECT_NE(log0.find("rank 1 stopped"), std::string::npos) << log0;
  // Resume in one process; every checkpoint left behind reads back (none half-written).
  for (const auto& e : fs::directory_iterator(out + "/checkpoints"))
    EXPECT_TRUE(read_checkpoint(e.path().string()).is_ok()) << e.path();
  std::string log;
  ASSERT_EQ(train("killed", "--resume " + out, &log), 0) << log;
  EXPECT_NE(log.find("trained 24/24 steps"), std::string::npos) << log;
  ASSERT_EQ(train("uninterrupted", plan, &log), 0) << log;
  const double diff = max_difference(model_tensors_of("killed"), model_tensors_of("uninterrupted"));
  std::printf("max |param(2 ranks, killed, resumed in 1) - param(1 process)| after 24 steps: %.3g\n", diff);
  EXPECT_LT(diff, 2e-3);
}

}  // namespace
}  // namespace sccello
