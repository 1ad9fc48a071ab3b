// Batching, splitting, masking and the lr schedule.
#include "model/batching.h"

#include <algorithm>
#include <functional>
#include <random>

namespace sccello {

uint64_t mix_seed(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9e3779b97f4a7c15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

bool is_validation_cell(uint64_t seed, const std::string& dataset, int64_t index, double fraction) {
  uint64_t name_hash = 1469598103934665603ULL;  // FNV-1a: stable across platforms (std::hash is not)
  for (unsigned char c : dataset) name_hash = (name_hash ^ c) * 1099511628211ULL;
  uint64_t h = mix_seed(mix_seed(seed, name_hash), static_cast<uint64_t>(index));
  return static_cast<double>(h >> 11) * 0x1.0p-53 < fraction;
}

std::vector<std::vector<int64_t>> length_grouped_batches(const std::vector<int32_t>& lengths,
                                                         std::vector<int64_t> pool, int64_t batch_size,
                                                         int64_t megabatch, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t i = pool.size(); i > 1; --i) std::swap(pool[i - 1], pool[rng() % i]);  // portable shuffle
  std::vector<std::vector<int64_t>> batches;
  const size_t mega = static_cast<size_t>(batch_size * megabatch);
  for (size_t start = 0; start < pool.size(); start += mega) {
    auto first = pool.begin() + start, last = pool.begin() + std::min(pool.size(), start + mega);
    std::stable_sort(first, last, [&](int64_t a, int64_t b) { return lengths[a] > lengths[b]; });
    for (auto it = first; it < last; it += std::min<ptrdiff_t>(batch_size, last - it))
      batches.emplace_back(it, it + std::min<ptrdiff_t>(batch_size, last - it));
  }
  return batches;
}

PaddedBatch pad_batch(const std::vector<CellExample>& cells, const std::vector<int64_t>& members, int64_t pad_id) {
  PaddedBatch out;
  out.batch = static_cast<int64_t>(members.size());
  for (int64_t m : members) out.length = std::max<int64_t>(out.length, cells[m].tokens.size());
  out.ids.assign(out.batch * out.length, pad_id);
  for (int64_t b = 0; b < out.batch; ++b) {
    const CellExample& cell = cells[members[b]];
    std::copy(cell.tokens.begin(), cell.tokens.end(), out.ids.begin() + b * out.length);
    out.labels.push_back(cell.label);
    out.lengths.push_back(static_cast<int32_t>(cell.tokens.size()));
  }
  return out;
}

namespace {

// BERT masking of ids[begin, end) drawing from rng.
void mask_range(std::vector<int64_t>& ids, size_t begin, size_t end, const ModelConfig& model, double p,
                std::mt19937_64& rng, std::vector<int64_t>& labels) {
  auto uniform = [&rng] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  const int64_t first_gene = model.mask_id + 1, num_genes = model.cls_id - first_gene;
  for (size_t i = begin; i < end; ++i) {
    int64_t id = ids[i];
    if (id == model.pad_id || id == model.cls_id || uniform() >= p) continue;
    labels[i] = id;
    double r = uniform();
    if (r < 0.8) ids[i] = model.mask_id;
    else if (r < 0.9) ids[i] = first_gene + static_cast<int64_t>(rng() % num_genes);
  }
}

}  // namespace

std::vector<int64_t> mask_tokens(PaddedBatch& batch, const ModelConfig& model, double p, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> labels(batch.ids.size(), -100);
  mask_range(batch.ids, 0, batch.ids.size(), model, p, rng, labels);
  return labels;
}

std::vector<int64_t> mask_tokens_by_row(PaddedBatch& batch, const ModelConfig& model, double p, uint64_t seed,
                                        const std::vector<int64_t>& row_keys) {
  std::vector<int64_t> labels(batch.ids.size(), -100);
  for (int64_t b = 0; b < batch.batch; ++b) {
    std::mt19937_64 rng(mix_seed(seed, static_cast<uint64_t>(row_keys[b])));
    const size_t begin = static_cast<size_t>(b * batch.length);
    mask_range(batch.ids, begin, begin + static_cast<size_t>(batch.lengths[b]), model, p, rng, labels);
  }
  return labels;
}

double lr_multiplier(int64_t step, int64_t warmup_steps, int64_t total_steps) {
  if (step < warmup_steps) return static_cast<double>(step) / std::max<int64_t>(1, warmup_steps);
  return std::max(0.0, static_cast<double>(total_steps - step) / std::max<int64_t>(1, total_steps - warmup_steps));
}

}  // namespace sccello
