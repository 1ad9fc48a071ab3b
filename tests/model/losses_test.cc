// Loss terms against naive looped / dense oracles; masking statistics; scheduler; config checks.
#include <cmath>
#include <map>
#include <random>
#include <set>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "model/batching.h"
#include "model/losses.h"
#include "model/model_config.h"

namespace sccello {
namespace {

// The reference double loop over anchors and levels, in double precision.
double looped_alignment(const at::Tensor& S_, const at::Tensor& lv_, const at::Tensor& anc_, const at::Tensor& valid_) {
  auto S = S_.to(at::kDouble).contiguous();
  auto lv = lv_.to(at::kLong).contiguous();
  auto anc = anc_.to(at::kBool).contiguous();
  auto valid = valid_.to(at::kBool).contiguous();
  const int64_t n = S.size(0);
  auto s = [&](int64_t i, int64_t j) { return S[i][j].item<double>(); };
  auto l = [&](int64_t i, int64_t j) { return lv[i][j].item<int64_t>(); };
  double sum = 0;
  int64_t terms = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!valid[i].item<bool>()) continue;
    std::set<int64_t> values;
    for (int64_t j = 0; j < n; ++j)
      if (valid[j].item<bool>()) values.insert(l(i, j));
    if (values.empty()) continue;
    values.erase(values.begin());  // minus the smallest
    for (int64_t level : values) {
      for (int64_t p = 0; p < n; ++p) {
        if (!valid[p].item<bool>() || l(i, p) < level) continue;
        std::vector<double> xs = {s(i, p)};
        for (int64_t m = 0; m < n; ++m)
          if (valid[m].item<bool>() && l(i, m) < level && !anc[i][m].item<bool>()) xs.push_back(s(i, m));
        double mx = *std::max_element(xs.begin(), xs.end()), acc = 0;
        for (double x : xs) acc += std::exp(x - mx);
        sum += -s(i, p) + mx + std::log(acc);
        ++terms;
      }
    }
  }
  return terms ? sum / terms : 0.0;
}

struct AlignmentCase {
  at::Tensor S, levels, ancestor, valid;
};

// Random similarity from unit vectors scaled by s = 10; levels from the cells' types; ancestors
// random but reflexive; `num_types` types (ties guaranteed when cells share types).
AlignmentCase random_case(int64_t n, int64_t num_types, int64_t max_level, double unmapped_fraction, uint64_t seed,
                          at::ScalarType dtype) {
  at::manual_seed(seed);
  std::mt19937_64 rng(seed);
  auto z = l2_normalize(at::randn({n, 16}, at::kDouble)) * 10.0;
  auto z2 = l2_normalize(z + 0.1 * at::randn({n, 16}, at::kDouble)) * 10.0;
  auto S = at::matmul(z, z.t());
  S.diagonal().copy_((z * z2).sum(1));
  std::vector<int64_t> type(n);
  for (auto& t : type) t = static_cast<int64_t>(rng() % num_types);
  std::vector<std::vector<int64_t>> type_level(num_types, std::vector<int64_t>(num_types));
  std::vector<std::vector<bool>> type_anc(num_types, std::vector<bool>(num_types));
  for (int64_t a = 0; a < num_types; ++a)
    for (int64_t b = 0; b <= a; ++b) {
      type_level[a][b] = type_level[b][a] = a == b ? max_level : 1 + static_cast<int64_t>(rng() % (max_level - 1));
      type_anc[a][b] = a == b || rng() % 4 == 0;
      type_anc[b][a] = a == b || rng() % 4 == 0;
    }
  auto levels = at::empty({n, n}, at::kLong), anc = at::empty({n, n}, at::kBool), valid = at::empty({n}, at::kBool);
  for (int64_t i = 0; i < n; ++i) {
    valid[i] = static_cast<double>(rng() % 1000) / 1000.0 >= unmapped_fraction;
    for (int64_t j = 0; j < n; ++j) {
      levels[i][j] = type_level[type[i]][type[j]];
      anc[i][j] = static_cast<bool>(type_anc[type[i]][type[j]]);
    }
  }
  return {S.to(dtype), levels, anc, valid};
}

void expect_matches_oracle(const AlignmentCase& c, double tolerance) {
  double oracle = looped_alignment(c.S, c.levels, c.ancestor, c.valid);
  double fast = ontology_alignment_loss(c.S, c.levels, c.ancestor, c.valid).item<double>();
  EXPECT_NEAR(fast, oracle, tolerance * std::max(1.0, std::abs(oracle)));
}

TEST(AlignmentLoss, MatchesLoopedOracleOnRandomBatches) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    auto c = random_case(12, 1 + seed % 6, 2 + seed % 5, seed % 3 == 0 ? 0.25 : 0.0, seed, at::kDouble);
    SCOPED_TRACE(seed);
    expect_matches_oracle(c, 1e-9);
    AlignmentCase f = c;
    f.S = c.S.to(at::kFloat);
    expect_matches_oracle(f, 1e-5);
  }
}

TEST(AlignmentLoss, SingleTypeInBatchHasNoTerms) {
  auto c = random_case(8, 1, 5, 0.0, 3, at::kDouble);
  EXPECT_EQ(looped_alignment(c.S, c.levels, c.ancestor, c.valid), 0.0);
  EXPECT_EQ(ontology_alignment_loss(c.S, c.levels, c.ancestor, c.valid).item<double>(), 0.0);
}

TEST(AlignmentLoss, EmptyNegativeSetsGiveZeroTermsAndFiniteGradients) {
  // Every pair is an ancestor pair: no negatives anywhere; each term is -S + log(exp S) = 0.
  auto c = random_case(10, 4, 4, 0.0, 5, at::kDouble);
  c.ancestor.fill_(true);
  auto S = c.S.clone().requires_grad_(true);
  auto loss = ontology_alignment_loss(S, c.levels, c.ancestor, c.valid);
  EXPECT_NEAR(loss.item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(looped_alignment(c.S, c.levels, c.ancestor, c.valid), 0.0, 1e-12);
  loss.backward();
  EXPECT_TRUE(S.grad().isfinite().all().item<bool>());
}

TEST(AlignmentLoss, UnmappedCellsAreIgnored) {
  auto c = random_case(10, 3, 4, 0.0, 9, at::kDouble);
  c.valid[2] = false;
  c.valid[7] = false;
  double with_mask = ontology_alignment_loss(c.S, c.levels, c.ancestor, c.valid).item<double>();
  auto keep = at::tensor(std::vector<int64_t>{0, 1, 3, 4, 5, 6, 8, 9}, at::kLong);
  auto sub = [&](const at::Tensor& t) { return t.index_select(0, keep).index_select(1, keep); };
  double subset = ontology_alignment_loss(sub(c.S), sub(c.levels), sub(c.ancestor), at::ones({8}, at::kBool)).item<double>();
  EXPECT_NEAR(with_mask, subset, 1e-12);
  c.valid.fill_(false);
  EXPECT_EQ(ontology_alignment_loss(c.S, c.levels, c.ancestor, c.valid).item<double>(), 0.0);
}

TEST(AlignmentLoss, GradientMatchesOracleByFiniteDifferences) {
  auto c = random_case(6, 3, 4, 0.0, 11, at::kDouble);
  auto S = c.S.clone().requires_grad_(true);
  ontology_alignment_loss(S, c.levels, c.ancestor, c.valid).backward();
  const double h = 1e-6;
  for (auto [i, j] : {std::pair<int64_t, int64_t>{0, 1}, {2, 2}, {4, 5}}) {
    auto plus = c.S.clone(), minus = c.S.clone();
    plus[i][j] += h;
    minus[i][j] -= h;
    double fd = (looped_alignment(plus, c.levels, c.ancestor, c.valid) -
                 looped_alignment(minus, c.levels, c.ancestor, c.valid)) / (2 * h);
    EXPECT_NEAR(S.grad()[i][j].item<double>(), fd, 1e-6);
  }
}

TEST(AlignmentSimilarity, DiagonalComesFromSecondPass) {
  auto z = l2_normalize(at::randn({5, 8}));
  auto z2 = l2_normalize(at::randn({5, 8}));
  auto S = alignment_similarity(z, z2, 10.0);
  EXPECT_NEAR(S[1][3].item<float>(), 100.0f * (z[1] * z[3]).sum().item<float>(), 1e-4);
  EXPECT_NEAR(S[2][2].item<float>(), 100.0f * (z[2] * z2[2]).sum().item<float>(), 1e-4);
}

TEST(MgpLoss, EqualsFullLogitsCrossEntropyAtMaskedPositions) {
  at::manual_seed(1);
  auto hidden = at::randn({4, 7, 16}, at::kDouble);   // mlm_head output for all positions
  auto keys = l2_normalize(at::randn({50, 16}, at::kDouble));
  auto labels = at::full({4, 7}, -100, at::kLong);
  labels[0][2] = 5, labels[1][1] = 49, labels[3][6] = 0, labels[3][3] = 17;
  auto positions = labels.view(-1).ne(-100).nonzero().squeeze(1);
  auto result = masked_gene_prediction_loss(hidden.view({-1, 16}).index_select(0, positions), keys,
                                            labels.view(-1).index_select(0, positions), 10.0);
  // Dense oracle: logits for every position, loss averaged over the labelled ones.
  auto logits = at::matmul(l2_normalize(hidden.view({-1, 16})) * 10.0, (keys * 10.0).t());
  double sum = 0;
  int count = 0;
  for (int64_t r = 0; r < 28; ++r) {
    int64_t y = labels.view(-1)[r].item<int64_t>();
    if (y < 0) continue;
    sum += -at::log_softmax(logits[r], 0)[y].item<double>();
    ++count;
  }
  EXPECT_EQ(result.count, 4);
  EXPECT_NEAR(result.loss.item<double>(), sum / count, 1e-6 * sum / count);  // fp32 logits
}

TEST(CoherenceLoss, MatchesLoopAndSkipsUnmapped) {
  at::manual_seed(2);
  auto z = l2_normalize(at::randn({6, 8}, at::kDouble));
  auto protos = at::randn({3, 8}, at::kDouble);
  auto labels = at::tensor(std::vector<int64_t>{0, 2, -1, 1, 1, -1}, at::kLong);
  auto r = cell_type_coherence_loss(z, protos, labels, 10.0);
  auto P = l2_normalize(protos) * 10.0;
  double sum = 0;
  int count = 0;
  for (int64_t i = 0; i < 6; ++i) {
    int64_t y = labels[i].item<int64_t>();
    if (y < 0) continue;
    sum += -at::log_softmax(at::matmul(P, z[i].to(at::kFloat).to(at::kDouble) * 10.0), 0)[y].item<double>();
    ++count;
  }
  EXPECT_EQ(r.count, 4);
  EXPECT_NEAR(r.loss.item<double>(), sum / count, 1e-5);
}

TEST(Masking, StatisticsAndDeterminism) {
  ModelConfig model;
  std::vector<CellExample> cells(64);
  std::mt19937_64 rng(5);
  for (auto& c : cells) {
    c.tokens = {static_cast<int32_t>(model.cls_id)};
    int64_t len = 200 + rng() % 300;
    for (int64_t i = 1; i < len; ++i) c.tokens.push_back(2 + static_cast<int32_t>(rng() % 25000));
  }
  std::vector<int64_t> members(64);
  std::iota(members.begin(), members.end(), 0);
  PaddedBatch batch = pad_batch(cells, members, model.pad_id), again = batch, original = batch;
  auto labels = mask_tokens(batch, model, 0.15, 42);
  EXPECT_EQ(labels, mask_tokens(again, model, 0.15, 42));
  EXPECT_EQ(batch.ids, again.ids);
  int64_t eligible = 0, chosen = 0, to_mask = 0, kept = 0, random = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    int64_t o = original.ids[i];
    bool special = o == model.pad_id || o == model.cls_id;
    if (special) {
      EXPECT_EQ(labels[i], -100);
      EXPECT_EQ(batch.ids[i], o);
      continue;
    }
    ++eligible;
    if (labels[i] == -100) {
      EXPECT_EQ(batch.ids[i], o);
      continue;
    }
    ++chosen;
    EXPECT_EQ(labels[i], o);
    if (batch.ids[i] == model.mask_id) ++to_mask;
    else if (batch.ids[i] == o) ++kept;
    else {
      ++random;
      EXPECT_GT(batch.ids[i], model.mask_id);
      EXPECT_LT(batch.ids[i], model.cls_id);
    }
  }
  EXPECT_NEAR(static_cast<double>(chosen) / eligible, 0.15, 0.01);  // ~22k eligible tokens
  EXPECT_NEAR(static_cast<double>(to_mask) / chosen, 0.8, 0.03);
  EXPECT_NEAR(static_cast<double>(random) / chosen, 0.1, 0.03);
  EXPECT_NEAR(static_cast<double>(kept) / chosen, 0.1, 0.03);
  PaddedBatch other = original;
  EXPECT_NE(mask_tokens(other, model, 0.15, 43), labels);
}

TEST(Schedule, LinearWarmupThenLinearDecay) {
  EXPECT_DOUBLE_EQ(lr_multiplier(0, 10, 110), 0.0);
  EXPECT_DOUBLE_EQ(lr_multiplier(5, 10, 110), 0.5);
  EXPECT_DOUBLE_EQ(lr_multiplier(10, 10, 110), 1.0);
  EXPECT_DOUBLE_EQ(lr_multiplier(60, 10, 110), 0.5);
  EXPECT_DOUBLE_EQ(lr_multiplier(110, 10, 110), 0.0);
  EXPECT_DOUBLE_EQ(lr_multiplier(200, 10, 110), 0.0);
  EXPECT_DOUBLE_EQ(lr_multiplier(0, 0, 4), 1.0);
  EXPECT_DOUBLE_EQ(lr_multiplier(3, 0, 4), 0.25);
}

TEST(Batching, LengthGroupedBatchesCoverEveryCellOnce) {
  std::vector<int32_t> lengths;
  for (int i = 0; i < 103; ++i) lengths.push_back((i * 37) % 500 + 1);
  std::vector<int64_t> pool(103);
  std::iota(pool.begin(), pool.end(), 0);
  auto batches = length_grouped_batches(lengths, pool, 8, 4, 1);
  std::multiset<int64_t> seen;
  for (const auto& b : batches) {
    EXPECT_LE(b.size(), 8u);
    for (size_t i = 1; i < b.size(); ++i) EXPECT_GE(lengths[b[i - 1]], lengths[b[i]]);
    seen.insert(b.begin(), b.end());
  }
  EXPECT_EQ(seen, std::multiset<int64_t>(pool.begin(), pool.end()));
  EXPECT_EQ(batches, length_grouped_batches(lengths, pool, 8, 4, 1));
  EXPECT_NE(batches, length_grouped_batches(lengths, pool, 8, 4, 2));
}

TEST(Config, RejectsUnknownKeysAndImpossibleValues) {
  auto bad_key = parse_run_config(R"({"model": {"hiden": 64}})", "x.json");
  ASSERT_FALSE(bad_key.is_ok());
  EXPECT_NE(bad_key.status().message().find("model.hiden"), std::string::npos);
  auto bad_type = parse_run_config(R"({"train": {"steps": "ten"}})", "x.json");
  ASSERT_FALSE(bad_type.is_ok());
  EXPECT_NE(bad_type.status().message().find("train.steps"), std::string::npos);
  auto heads = parse_run_config(R"({"model": {"hidden": 64, "heads": 5}})", "x.json");
  ASSERT_TRUE(heads.is_ok());
  EXPECT_NE(validate(*heads).message().find("must divide"), std::string::npos);
  auto len = parse_run_config(R"({"model": {"max_positions": 128}, "train": {"max_len": 256}})", "x.json");
  ASSERT_TRUE(len.is_ok());
  EXPECT_NE(validate(*len).message().find("max_positions"), std::string::npos);
  EXPECT_FALSE(parse_run_config("{not json", "x.json").is_ok());
  LossConfig l;
  EXPECT_FALSE(l.set_enabled("mgp,foo").is_ok());
  ASSERT_TRUE(l.set_enabled("mgp,inter").is_ok());
  EXPECT_EQ(l.enabled_list(), "mgp,inter");
}

TEST(Config, ShippedConfigsParseAndRoundTrip) {
  for (const char* name : {"default.json", "tiny.json"}) {
    auto c = load_run_config(std::string(SCCELLO_DATA_DIR) + "/../model/configs/" + name);
    ASSERT_TRUE(c.is_ok()) << c.status().message();
    EXPECT_TRUE(validate(*c).is_ok());
    auto again = parse_run_config(run_config_to_json(*c), "roundtrip");
    ASSERT_TRUE(again.is_ok());
    EXPECT_EQ(run_config_to_json(*again), run_config_to_json(*c));
  }
  auto d = load_run_config(std::string(SCCELLO_DATA_DIR) + "/../model/configs/default.json");
  EXPECT_EQ(d->model.layers, 6);
  EXPECT_EQ(d->model.hidden, 256);
  EXPECT_EQ(d->train.seed, 237);
}

}  // namespace
}  // namespace sccello
