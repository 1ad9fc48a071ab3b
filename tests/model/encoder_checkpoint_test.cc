// Encoder shapes and padding independence; checkpoint format round trip and bad files.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "model/checkpoint.h"
#include "model/encoder.h"
#include "model/inference.h"
#include "model/losses.h"
#include "model/torch_compat.h"

namespace sccello {
namespace {

namespace fs = std::filesystem;

ModelConfig tiny_model() {
  ModelConfig m;
  m.layers = 2, m.hidden = 32, m.heads = 4, m.ffn = 64, m.max_positions = 64;
  return m;
}

std::string temp_dir(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("sccello-model-test-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

TEST(Encoder, ShapesOfOutputsAndHeads) {
  ScCelloModel model(tiny_model(), 5);
  model->eval();
  auto ids = at::randint(2, 25426, {3, 10}, at::kLong);
  auto seq = model->encode(ids);
  EXPECT_EQ(seq.sizes(), (std::vector<int64_t>{3, 10, 32}));
  auto z = model->cell_embedding(seq);
  EXPECT_EQ(z.sizes(), (std::vector<int64_t>{3, 32}));
  EXPECT_TRUE(at::allclose(z.norm(2, {1}), at::ones({3})));
  EXPECT_EQ(model->vocabulary_keys().sizes(), (std::vector<int64_t>{25427, 32}));
  EXPECT_EQ(model->prototypes()->weight.sizes(), (std::vector<int64_t>{5, 32}));
  EXPECT_DOUBLE_EQ(model->scale(), 10.0);
}

TEST(Encoder, CellOutputDoesNotDependOnBatchPadding) {
  ScCelloModel model(tiny_model(), 2);
  model->eval();
  at::manual_seed(3);
  auto short_cell = at::randint(2, 25426, {1, 7}, at::kLong);
  short_cell[0][0] = 25426;
  auto alone = model->cell_embedding(model->encode(short_cell));
  auto seq_alone = model->encode(short_cell);
  // Same cell padded to 40 tokens in a batch with a longer cell.
  auto batch = at::zeros({2, 40}, at::kLong);
  batch[0] = at::randint(2, 25426, {40}, at::kLong);
  batch[0][0] = 25426;
  batch[1].slice(0, 0, 7).copy_(short_cell[0]);
  auto seq_batch = model->encode(batch);
  auto z_batch = model->cell_embedding(seq_batch);
  EXPECT_LT((z_batch[1] - alone[0]).abs().max().item<float>(), 1e-5);
  EXPECT_LT((seq_batch[1].slice(0, 0, 7) - seq_alone[0]).abs().max().item<float>(), 1e-5);
  // The inference path (last layer for <cls> only) gives the same embeddings.
  EXPECT_LT((model->embed_cells(batch) - z_batch).abs().max().item<float>(), 1e-5);
  EXPECT_LT((model->embed_cells(short_cell) - alone).abs().max().item<float>(), 1e-5);
}

// The study readouts: the mean of the gene tokens' last states (looped oracle over positions,
// <cls> and padding left out), raw or through the cell head; a padded batch gives the same.
TEST(Encoder, GeneMeanReadoutsEqualALoopedMean) {
  ScCelloModel model(tiny_model(), 2);
  model->eval();
  at::manual_seed(5);
  auto batch = at::zeros({2, 12}, at::kLong);
  batch[0] = at::randint(2, 25426, {12}, at::kLong);
  batch[1].slice(0, 0, 5).copy_(at::randint(2, 25426, {5}, at::kLong));
  batch[0][0] = 25426, batch[1][0] = 25426;
  auto seq = model->encode(batch);
  const int64_t genes[2] = {11, 4};
  for (int64_t b = 0; b < 2; ++b) {
    auto sum = at::zeros({32});
    for (int64_t i = 1; i <= genes[b]; ++i) sum += seq[b][i];
    auto mean = sum / static_cast<double>(genes[b]);
    auto plain = mean / mean.norm();
    auto head = model->cell_head()->forward(mean.unsqueeze(0))[0];
    head = head / head.norm();
    EXPECT_LT((model->embed_cells(batch, CellReadout::kGeneMean)[b] - plain).abs().max().item<float>(), 1e-5);
    EXPECT_LT((model->embed_cells(batch, CellReadout::kGeneMeanHead)[b] - head).abs().max().item<float>(), 1e-5);
  }
  EXPECT_LT((model->embed_cells(batch, CellReadout::kClsHead) - model->embed_cells(batch)).abs().max().item<float>(),
            1e-7);
  EXPECT_FALSE(parse_cell_readout("mean").is_ok());
}

TEST(Encoder, DropoutOnlyInTraining) {
  ScCelloModel model(tiny_model(), 2);
  auto ids = at::randint(2, 25426, {2, 12}, at::kLong);
  model->train();
  auto a = model->encode(ids), b = model->encode(ids);
  EXPECT_GT((a - b).abs().max().item<float>(), 0.0f);
  model->eval();
  EXPECT_TRUE(at::equal(model->encode(ids), model->encode(ids)));
}

TEST(Dropout, FastDropoutRateScaleAndDeterminism) {
  auto x = at::ones({1000, 1001});
  at::manual_seed(5);
  auto y = fast_dropout(x, 0.02, true);
  double dropped = y.eq(0).to(at::kDouble).mean().item<double>();
  EXPECT_NEAR(dropped, 0.02, 0.001);  // ~1M draws
  EXPECT_NEAR(y.mean().item<double>(), 1.0, 0.002);
  at::manual_seed(5);
  EXPECT_TRUE(at::equal(fast_dropout(x, 0.02, true), y));
  EXPECT_TRUE(at::equal(fast_dropout(x, 0.02, false), x));
  EXPECT_EQ(fast_dropout(at::ones({7}), 0.5, true).numel(), 7);  // odd sizes
}

CheckpointMeta sample_meta() {
  CheckpointMeta meta;
  meta.config.model = tiny_model();
  meta.config.train.max_len = 64;
  meta.release_name = "2022-12-15";
  meta.release_hash = "abc";
  meta.target_describe = "ppr/1:alpha=0.9";
  meta.label_space = {"CL:0000236", "CL:0000897"};
  meta.vocab_hash = vocabulary_fingerprint(meta.config.model);
  meta.losses = "mgp,inter";
  meta.step = 7;
  meta.total_steps = 10;
  meta.micro_batches = 14;
  return meta;
}

TEST(Checkpoint, RoundTripKeepsTensorsAndMetadata) {
  std::string dir = temp_dir("roundtrip");
  ScCelloModel model(tiny_model(), 2);
  NamedTensors tensors = model_tensors(model);
  tensors.emplace_back("extra.bf16", at::randn({3, 2}).to(at::kBFloat16));
  tensors.emplace_back("extra.long", at::arange(5, at::kLong));
  tensors.emplace_back("extra.empty", at::empty({0, 4}));  // no storage: found by the checkpoint fuzzer
  ASSERT_TRUE(write_checkpoint(checkpoint_path(dir, 7), sample_meta(), tensors).is_ok());
  auto path = resolve_checkpoint_path(dir);
  ASSERT_TRUE(path.is_ok());
  auto ckpt = read_checkpoint(*path);
  ASSERT_TRUE(ckpt.is_ok()) << ckpt.status().message();
  EXPECT_EQ(ckpt->meta.label_space, sample_meta().label_space);
  EXPECT_EQ(ckpt->meta.release_hash, "abc");
  EXPECT_EQ(ckpt->meta.step, 7);
  EXPECT_EQ(run_config_to_json(ckpt->meta.config), run_config_to_json(sample_meta().config));
  ASSERT_EQ(ckpt->tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(ckpt->tensors[i].first, tensors[i].first);
    EXPECT_TRUE(at::equal(ckpt->tensors[i].second, tensors[i].second.detach())) << tensors[i].first;
  }
  // The in-memory parser (the fuzz harness's entry) reads the same file's bytes the same way.
  std::ifstream in(*path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto parsed = parse_checkpoint(bytes, "bytes");
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  ASSERT_EQ(parsed->tensors.size(), tensors.size());
  EXPECT_EQ(parsed->tensors.back().second.sizes(), at::IntArrayRef({0, 4}));
  auto loaded = load_model(dir);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  auto ids = at::randint(2, 25426, {2, 9}, at::kLong);
  model->eval();
  EXPECT_TRUE(at::equal(loaded->model->encode(ids), model->encode(ids)));
}

TEST(Checkpoint, BadFilesAreClearErrors) {
  std::string dir = temp_dir("bad");
  ScCelloModel model(tiny_model(), 2);
  std::string path = checkpoint_path(dir, 1);
  ASSERT_TRUE(write_checkpoint(path, sample_meta(), model_tensors(model)).is_ok());
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir + "/" + name, std::ios::binary) << content;
    return dir + "/" + name;
  };
  auto magic = read_checkpoint(write("magic.ckpt", "PK\x03\x04" + bytes.substr(4)));
  EXPECT_NE(magic.status().message().find("bad magic"), std::string::npos);
  std::string v2 = bytes;
  v2[8] = 2;
  auto version = read_checkpoint(write("version.ckpt", v2));
  EXPECT_EQ(version.status().code(), Status::Code::kUnsupported);
  EXPECT_NE(version.status().message().find("version 2"), std::string::npos);
  auto truncated = read_checkpoint(write("truncated.ckpt", bytes.substr(0, bytes.size() / 2)));
  EXPECT_NE(truncated.status().message().find("checksum"), std::string::npos);
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 1;
  EXPECT_EQ(read_checkpoint(write("flipped.ckpt", flipped)).status().code(), Status::Code::kCorruption);
  EXPECT_TRUE(read_checkpoint(dir + "/missing.ckpt").status().is_not_found());
  // Another vocabulary: load_model refuses.
  CheckpointMeta meta = sample_meta();
  meta.vocab_hash = "genes:0000000000000000";
  ASSERT_TRUE(write_checkpoint(dir + "/vocab.ckpt", meta, model_tensors(model)).is_ok());
  auto vocab = load_model(dir + "/vocab.ckpt");
  ASSERT_FALSE(vocab.is_ok());
  EXPECT_NE(vocab.status().message().find("vocabulary"), std::string::npos);
}

TEST(Checkpoint, FailedWriteKeepsPreviousCheckpoint) {
  std::string dir = temp_dir("full");
  ScCelloModel model(tiny_model(), 2);
  std::string path = checkpoint_path(dir, 1);
  ASSERT_TRUE(write_checkpoint(path, sample_meta(), model_tensors(model)).is_ok());
  auto before = fs::file_size(path);
  CheckpointWriteOptions full_disk;
  full_disk.fail_after_bytes = 1000;
  CheckpointMeta meta = sample_meta();
  meta.step = 99;
  Status st = write_checkpoint(path, meta, model_tensors(model), full_disk);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("previous checkpoint is kept"), std::string::npos);
  EXPECT_EQ(fs::file_size(path), before);
  auto ckpt = read_checkpoint(path);
  ASSERT_TRUE(ckpt.is_ok());
  EXPECT_EQ(ckpt->meta.step, 7);
  int files = 0;
  for (auto& e : fs::directory_iterator(fs::path(path).parent_path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1);  // no temporary left behind
}

// A checkpoint with no tensors, then one crafted tensor record appended and the checksum redone.
std::string with_crafted_tensor(const std::string& empty_ckpt, const std::vector<int64_t>& dims, uint64_t nbytes) {
  std::string body = empty_ckpt.substr(0, empty_ckpt.size() - 16);  // drop count and checksum
  auto put = [&](const void* p, size_t n) { body.append(static_cast<const char*>(p), n); };
  const uint64_t count = 1;
  const uint32_t name_len = 1, ndim = static_cast<uint32_t>(dims.size());
  const uint8_t dtype = 0;  // float32
  put(&count, 8);
  put(&name_len, 4);
  body += "w";
  put(&dtype, 1);
  put(&ndim, 4);
  for (int64_t d : dims) put(&d, 8);
  put(&nbytes, 8);
  body += std::string(64, '\0');  // a few real bytes
  const uint64_t sum = std::strtoull(fnv1a_hex(body).c_str(), nullptr, 16);
  put(&sum, 8);
  return body;
}

TEST(Checkpoint, CraftedTensorSizesAreRefusedBeforeAllocating) {
  std::string dir = temp_dir("crafted");
  std::string path = dir + "/empty.ckpt";
  ASSERT_TRUE(write_checkpoint(path, sample_meta(), {}).is_ok());
  std::ifstream in(path, std::ios::binary);
  std::string empty(std::istreambuf_iterator<char>(in), {});
  const int64_t huge = int64_t{1} << 40;
  struct Case { std::vector<int64_t> dims; uint64_t nbytes; };
  const std::vector<Case> cases = {
      {{huge, huge}, 4},             // dims product overflows
      {{huge}, uint64_t(huge) * 4},  // terabytes claimed, 64 bytes there
      {{1}, ~uint64_t{0} - 3},       // a byte count that wraps pos + n
      {{16}, 64 + 1},                // count disagrees with the dims
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    std::string file = dir + "/crafted" + std::to_string(i) + ".ckpt";
    std::ofstream(file, std::ios::binary) << with_crafted_tensor(empty, cases[i].dims, cases[i].nbytes);
    auto ckpt = read_checkpoint(file);
    ASSERT_FALSE(ckpt.is_ok()) << i;
    EXPECT_EQ(ckpt.status().code(), Status::Code::kCorruption) << i;
    EXPECT_NE(ckpt.status().message().find("bad tensor record #0"), std::string::npos) << ckpt.status().message();
  }
  std::string ok = dir + "/ok.ckpt";
  std::ofstream(ok, std::ios::binary) << with_crafted_tensor(empty, {16}, 64);
  auto loaded = read_checkpoint(ok);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  EXPECT_EQ(loaded->tensors.at(0).second.numel(), 16);
}

TEST(Checkpoint, SweepRemovesTemporariesOfDeadWritersOnly) {
  std::string dir = temp_dir("sweep");
  fs::create_directories(dir + "/checkpoints");
  const std::string dead = dir + "/checkpoints/step-00000003.ckpt.tmp-999999999";
  const std::string live = dir + "/checkpoints/step-00000004.ckpt.tmp-" + std::to_string(::getppid());
  const std::string kept = checkpoint_path(dir, 2);
  for (const auto& f : {dead, live, kept}) std::ofstream(f) << "x";
  auto removed = sweep_stale_checkpoint_temps(dir);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0], dead);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(kept));
}

TEST(Checkpoint, PruneKeepsNewest) {
  std::string dir = temp_dir("prune");
  ScCelloModel model(tiny_model(), 1);
  for (int step : {1, 2, 3, 4}) ASSERT_TRUE(write_checkpoint(checkpoint_path(dir, step), sample_meta(), {}).is_ok());
  prune_checkpoints(dir, 2);
  EXPECT_FALSE(fs::exists(checkpoint_path(dir, 2)));
  EXPECT_TRUE(fs::exists(checkpoint_path(dir, 3)));
  EXPECT_EQ(*resolve_checkpoint_path(dir), checkpoint_path(dir, 4));
}

}  // namespace
}  // namespace sccello
