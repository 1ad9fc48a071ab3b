#include "store/tokenizer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>
#include <unordered_set>

namespace sccello {

Tokenizer::Tokenizer(const GeneVocab& vocab, const std::vector<std::string>& gene_ids,
                     const TokenizerOptions& options)
    : options_(options), column_(gene_ids.size()) {
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
    column_[c] = {m.token, vocab.median(m.token)};
    ++report_.mapped;
  }
}

double Tokenizer::total(const int32_t* cols, const float* counts, int64_t nnz) const {
  double n = 0;
  if (options_.total_over_all_genes) {
    for (int64_t i = 0; i < nnz; ++i) n += counts[i];
  } else {
    for (int64_t i = 0; i < nnz; ++i)
      if (column_[cols[i]].token >= 0) n += counts[i];
  }
  return n;
}

// Collects the cell's expressed vocabulary genes into the scratch arrays (column order) and
// returns the total n, summed in the same order as total().
double Tokenizer::gather(const int32_t* cols, const float* counts, int64_t nnz, TokenizeScratch* s) const {
  s->col.resize(nnz);
  s->token.resize(nnz);
  s->count.resize(nnz);
  s->median.resize(nnz);
  double n = 0;
  size_t k = 0;
  bool all = options_.total_over_all_genes;
  for (int64_t i = 0; i < nnz; ++i) {
    const Column& c = column_[cols[i]];
    float x = counts[i];
    if (all || c.token >= 0) n += x;
    s->col[k] = cols[i];
    s->token[k] = c.token;
    s->count[k] = x;
    s->median[k] = c.median;
    k += (c.token >= 0) & (x > 0);  // branch-free compaction
  }
  s->col.resize(k);
  s->token.resize(k);
  s->count.resize(k);
  s->median.resize(k);
  return n;
}

namespace {

// Stable LSD radix sort of 64-bit keys on bits 39..62 (three 8-bit digits: the float rank's
// exponent and 16 mantissa bits; bit 63, the complemented sign, is always set); passes where
// every key has the same digit are skipped. Keys equal in those bits are put in exact order
// afterwards (order_items).
constexpr int kRadixShift = 39, kRadixBits = 8, kRadixPasses = 3;
constexpr uint32_t kRadixBins = 1u << kRadixBits;

void radix_sort_top(std::vector<uint64_t>* keys, std::vector<uint64_t>* swap, uint32_t (*hist)[kRadixBins]) {
  size_t n = keys->size();
  std::memset(hist, 0, sizeof(uint32_t) * kRadixPasses * kRadixBins);
  for (uint64_t k : *keys)
    for (int d = 0; d < kRadixPasses; ++d) ++hist[d][(k >> (kRadixShift + kRadixBits * d)) & (kRadixBins - 1)];
  swap->resize(n);
  for (int d = 0; d < kRadixPasses; ++d) {
    int shift = kRadixShift + kRadixBits * d;
    uint32_t* offset = hist[d];
    if (offset[((*keys)[0] >> shift) & (kRadixBins - 1)] == n) continue;
    uint32_t sum = 0;
    for (uint32_t b = 0; b < kRadixBins; ++b) {
      uint32_t c = offset[b];
      offset[b] = sum;
      sum += c;
    }
    uint64_t* out = swap->data();
    for (uint64_t k : *keys) out[offset[(k >> shift) & (kRadixBins - 1)]++] = k;
    keys->swap(*swap);
  }
}

uint32_t descending_float_key(double rank) {
  float f = static_cast<float>(rank);  // positive: its bits order like the value
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return ~bits;
}

// v = x*target/n and r = v/median for every gathered gene, in double and in the oracle's order
// of operations; a plain loop over arrays that the compiler vectorises.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void compute_ranks(const float* x, const double* median, size_t k, double target, double n, double* v, double* r) {
  for (size_t i = 0; i < k; ++i) {
    v[i] = static_cast<double>(x[i]) * target / n;
    r[i] = v[i] / median[i];
  }
}

// Orders items by (rank descending, column ascending): a radix sort on the top of the float
// rank, then an exact comparison sort inside each run of equal radix digits (rare: ranks within
// a relative 1.5e-5 of each other, or true ties). The radix sort is stable and items come in column
// order, so runs start in column order.
void order_items(TokenizeScratch* s) {
  const double* rank = s->rank.data();
  const int32_t* col = s->col.data();
  auto& keys = s->keys;
  keys.resize(s->rank.size());
  for (size_t i = 0; i < keys.size(); ++i)
    keys[i] = (static_cast<uint64_t>(descending_float_key(rank[i])) << 32) | i;
  if (keys.size() > 1) radix_sort_top(&keys, &s->swap, s->histogram);
  auto before = [&](uint64_t a, uint64_t b) {
    uint32_t x = a & 0xffffffffu, y = b & 0xffffffffu;
    return rank[x] > rank[y] || (rank[x] == rank[y] && col[x] < col[y]);
  };
  for (size_t i = 0; i < keys.size();) {
    size_t j = i + 1;
    while (j < keys.size() && (keys[j] >> kRadixShift) == (keys[i] >> kRadixShift)) ++j;
    if (j - i > 1) std::sort(keys.begin() + i, keys.begin() + j, before);
    i = j;
  }
}

bool is_small_count(float x) { return x < 64 && x == static_cast<float>(static_cast<int>(x)); }

}  // namespace

void Tokenizer::tokenize(const int32_t* cols, const float* counts, int64_t nnz, TokenizeScratch* s,
                         TokenizedCell* out) const {
  double n = gather(cols, counts, nnz, s);
  if (n == 0) n = 1;
  size_t k = s->col.size();
  s->v.resize(k);
  s->rank.resize(k);
  compute_ranks(s->count.data(), s->median.data(), k, options_.target_sum, n, s->v.data(), s->rank.data());
  order_items(s);
  size_t keep = std::min(k, static_cast<size_t>(std::max(0, options_.max_len - 1)));
  out->tokens.resize(keep + 1);
  out->values.resize(keep + 1);
  out->counts.resize(keep + 1);
  out->total = n;
  out->tokens[0] = GeneVocab::kCls;
  out->values[0] = 0.0f;
  out->counts[0] = 0;
  bool integral = true;
  auto& cache = s->log_cache;  // log1p(v) depends only on the count within a cell
  cache.assign(64, -1.0f);
  for (size_t i = 0; i < keep; ++i) {
    uint32_t item = s->keys[i] & 0xffffffffu;
    float x = s->count[item];
    out->tokens[i + 1] = s->token[item];
    bool small = is_small_count(x);
    integral = integral && (small || (x == std::floor(x) && x < 4294967296.0f));
    out->counts[i + 1] = static_cast<uint32_t>(x);
    float& slot = cache[small ? static_cast<int>(x) : 0];
    if (!small || slot < 0) {
      float e = static_cast<float>(std::log1p(s->v[item]));
      if (!small) {
        out->values[i + 1] = e;
        continue;
      }
      slot = e;
    }
    out->values[i + 1] = slot;
  }
  if (!integral) out->counts.clear();
}

void Tokenizer::tokenize(const int32_t* cols, const float* counts, int64_t nnz, TokenizeScratch* scratch,
                         std::vector<int32_t>* tokens, std::vector<float>* values) const {
  TokenizedCell cell;
  cell.tokens.swap(*tokens);
  cell.values.swap(*values);
  tokenize(cols, counts, nnz, scratch, &cell);
  tokens->swap(cell.tokens);
  values->swap(cell.values);
}

void Tokenizer::tokenize_rows(const int64_t* indptr, const int32_t* indices, const float* data, int64_t rows,
                              int threads, std::vector<TokenizedCell>* out) const {
  out->resize(rows);
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<int64_t>(threads, std::max<int64_t>(1, rows / 64)));
  auto work = [&](int t) {
    TokenizeScratch scratch;
    for (int64_t r = rows * t / threads; r < rows * (t + 1) / threads; ++r) {
      tokenize(indices + indptr[r], data + indptr[r], indptr[r + 1] - indptr[r], &scratch, &(*out)[r]);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
}

}  // namespace sccello
