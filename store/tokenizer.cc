#include "store/tokenizer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_set>

namespace sccello {

Tokenizer::Tokenizer(const GeneVocab& vocab, const std::vector<std::string>& gene_ids,
                     const TokenizerOptions& options)
    : options_(options), token_(gene_ids.size(), -1), median_(gene_ids.size(), 0.0) {
  report_.genes_in_file = static_cast<int64_t>(gene_ids.size());
  std::unordered_set<int32_t> seen;
  for (size_t c = 0; c < gene_ids.size(); ++c) {
    GeneMapping m = vocab.map(gene_ids[c]);
    switch (m.kind) {
      case GeneMapping::Kind::kEmpty: ++report_.empty_id; continue;
      case GeneMapping::Kind::kUnknownSymbol: ++report_.unknown_symbol; continue;
      case GeneMapping::Kind::kNotInVocab: ++report_.not_in_vocab; continue;
      default: break;
    }
    if (!seen.insert(m.token).second) {
      ++report_.duplicate;
      continue;
    }
    token_[c] = m.token;
    median_[c] = vocab.median(m.token);
    ++report_.mapped;
  }
}

double Tokenizer::total(const int32_t* cols, const float* counts, int64_t nnz) const {
  double n = 0;
  if (options_.total_over_all_genes) {
    for (int64_t i = 0; i < nnz; ++i) n += counts[i];
  } else {
    for (int64_t i = 0; i < nnz; ++i)
      if (token_[cols[i]] >= 0) n += counts[i];
  }
  return n;
}

namespace {

// Stable LSD radix sort of 64-bit keys on their high 32 bits (8-bit digits); passes where every
// key has the same digit are skipped.
void radix_sort_high32(std::vector<uint64_t>* keys, std::vector<uint64_t>* swap) {
  size_t n = keys->size();
  uint32_t hist[4][256] = {};
  for (uint64_t k : *keys)
    for (int d = 0; d < 4; ++d) ++hist[d][(k >> (32 + 8 * d)) & 0xff];
  swap->resize(n);
  for (int d = 0; d < 4; ++d) {
    if (hist[d][((*keys)[0] >> (32 + 8 * d)) & 0xff] == n) continue;
    uint32_t offset[256], sum = 0;
    for (int b = 0; b < 256; ++b) {
      offset[b] = sum;
      sum += hist[d][b];
    }
    for (uint64_t k : *keys) (*swap)[offset[(k >> (32 + 8 * d)) & 0xff]++] = k;
    keys->swap(*swap);
  }
}

uint32_t descending_float_key(double rank) {
  float f = static_cast<float>(rank);  // positive: its bits order like the value
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return ~bits;
}

}  // namespace

// Orders items by (rank descending, column ascending): a radix sort on the float rank, then an
// exact comparison sort inside each run of equal float keys (rare: distinct doubles that round
// to the same float, or true ties).
static void order_items(TokenizeScratch* s) {
  auto& items = s->items;
  auto& keys = s->keys;
  keys.resize(items.size());
  for (size_t i = 0; i < items.size(); ++i)
    keys[i] = (static_cast<uint64_t>(descending_float_key(items[i].rank)) << 32) | i;
  if (keys.size() > 1) radix_sort_high32(&keys, &s->swap);
  auto before = [&](uint64_t a, uint64_t b) {
    const auto &x = items[a & 0xffffffffu], &y = items[b & 0xffffffffu];
    return x.rank > y.rank || (x.rank == y.rank && x.col < y.col);
  };
  for (size_t i = 0; i < keys.size();) {
    size_t j = i + 1;
    while (j < keys.size() && (keys[j] >> 32) == (keys[i] >> 32)) ++j;
    if (j - i > 1) std::sort(keys.begin() + i, keys.begin() + j, before);
    i = j;
  }
}

void Tokenizer::tokenize(const int32_t* cols, const float* counts, int64_t nnz, TokenizeScratch* scratch,
                         std::vector<int32_t>* tokens, std::vector<float>* values) const {
  double n = total(cols, counts, nnz);
  if (n == 0) n = 1;
  auto& items = scratch->items;
  items.clear();
  for (int64_t i = 0; i < nnz; ++i) {
    int32_t col = cols[i];
    int32_t token = token_[col];
    float x = counts[i];
    if (token < 0 || !(x > 0)) continue;
    double v = static_cast<double>(x) * options_.target_sum / n;
    items.push_back({v / median_[col], col, token, x});
  }
  order_items(scratch);
  size_t keep = std::min(items.size(), static_cast<size_t>(std::max(0, options_.max_len - 1)));
  tokens->resize(keep + 1);
  values->resize(keep + 1);
  (*tokens)[0] = GeneVocab::kCls;
  (*values)[0] = 0.0f;
  auto& cache = scratch->log_cache;  // log1p(v) depends only on the count within a cell
  cache.assign(64, -1.0f);
  for (size_t i = 0; i < keep; ++i) {
    const auto& item = items[scratch->keys[i] & 0xffffffffu];
    (*tokens)[i + 1] = item.token;
    float x = item.count;
    bool small = x < 64 && x == static_cast<float>(static_cast<int>(x));
    float& slot = cache[small ? static_cast<int>(x) : 0];
    if (small && slot >= 0) {
      (*values)[i + 1] = slot;
      continue;
    }
    float e = static_cast<float>(std::log1p(static_cast<double>(x) * options_.target_sum / n));
    if (small) slot = e;
    (*values)[i + 1] = e;
  }
}

}  // namespace sccello
