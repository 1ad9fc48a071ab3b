#include "store/cells/tokenizer.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cmath>
#include <cstring>
#include <thread>

namespace sccello {

Tokenizer::Tokenizer(const GeneVocab& vocab, const std::vector<std::string>& gene_ids,
                     const TokenizerOptions& options)
    : options_(options), column_(gene_ids.size()) {
  report_.genes_in_file = static_cast<int64_t>(gene_ids.size());
  std::vector<GeneMapping> mapped = vocab.map_all(gene_ids);
  std::vector<bool> seen(static_cast<size_t>(vocab.size()));
  for (size_t c = 0; c < gene_ids.size(); ++c) {
    const GeneMapping& m = mapped[c];
    switch (m.kind) {
      case GeneMapping::Kind::kEmpty: ++report_.empty_id; continue;
      case GeneMapping::Kind::kUnknownSymbol: ++report_.unknown_symbol; continue;
      case GeneMapping::Kind::kNotInVocab: ++report_.not_in_vocab; continue;
      default: break;
    }
    if (seen[m.token]) {
      ++report_.duplicate;
      continue;
    }
    seen[m.token] = true;
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

namespace {

// Largest float below 2^31: integers up to it convert to int32 exactly.
constexpr float kLargeCount = 2147483520.0f;

// The total of k gathered counts, and *whole: whether every count is an integer of at most
// kLargeCount. Then every partial sum is an integer below 2^53, exact in double in any order, so
// eight sums run side by side (a sequential sum is a chain of dependent additions, ~4 cycles
// per gene); otherwise the counts are summed one after the other in column order, as total()
// does. Branch-free, so the compiler vectorises both the check and the eight sums.
double sum_counts(const float* x, size_t k, bool* whole) {
  bool integers = k < (size_t{1} << 22);  // k * 2^31 < 2^53
  double part[8] = {};
  size_t i = 0;
  for (; i + 8 <= k; i += 8) {
    for (int j = 0; j < 8; ++j) {
      float y = std::min(x[i + j], kLargeCount);
      integers &= (x[i + j] <= kLargeCount) & (static_cast<float>(static_cast<int32_t>(y)) == y);
      part[j] += x[i + j];
    }
  }
  for (; i < k; ++i) {
    float y = std::min(x[i], kLargeCount);
    integers &= (x[i] <= kLargeCount) & (static_cast<float>(static_cast<int32_t>(y)) == y);
    part[i % 8] += x[i];
  }
  *whole = integers;
  if (integers) return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
  double sum = 0;
  for (size_t j = 0; j < k; ++j) sum += x[j];
  return sum;
}

}  // namespace

// Collects the cell's expressed vocabulary genes into the scratch arrays (column order); returns
// how many, sets *n to the total (equal to total()'s) and *whole to whether every gathered count
// is an integer of at most kLargeCount.
size_t Tokenizer::gather(const int32_t* cols, const float* counts, int64_t nnz, TokenizeScratch* s,
                         double* n, bool* whole) const {
  if (s->count.size() < static_cast<size_t>(nnz)) {
    size_t cap = static_cast<size_t>(nnz) + nnz / 2;
    s->token.resize(cap);
    s->count.resize(cap);
    s->median.resize(cap);
    s->rank.resize(cap);
    s->rank_key.resize(cap);
    s->keys.resize(cap);
  }
  int32_t* token = s->token.data();
  float* count = s->count.data();
  double* median = s->median.data();
  const Column* column = column_.data();
  size_t k = 0;
  for (int64_t i = 0; i < nnz; ++i) {
    assert(cols[i] >= 0 && static_cast<size_t>(cols[i]) < column_.size());  // check_row_block ran
    if (i + 24 < nnz) __builtin_prefetch(column + cols[i + 24]);
    const Column& c = column[cols[i]];
    float x = counts[i];
    token[k] = c.token;
    count[k] = x;
    median[k] = c.median;
    k += (c.token >= 0) & (x > 0);  // branch-free compaction
  }
  // The vocabulary genes' total is the sum of what was gathered (the zeros left out add nothing).
  *n = sum_counts(count, k, whole);
  if (options_.total_over_all_genes) *n = total(cols, counts, nnz);
  return k;
}

namespace {

uint32_t descending_float_key(double rank) {
  float f = static_cast<float>(rank);  // positive: its bits order like the value
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return ~bits;
}

// r = (x*target/n)/median for every gathered gene, in double and in the oracle's order of
// operations, and its descending float key; returns the keys' [min, max]. A plain loop over
// arrays that the compiler vectorises.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void compute_ranks(const float* x, const double* median, size_t k, double target, double n, double* r,
                   uint32_t* key, uint32_t* lo, uint32_t* hi) {
  uint32_t mn = ~0u, mx = 0;
  for (size_t i = 0; i < k; ++i) {
    double v = static_cast<double>(x[i]) * target / n;
    r[i] = v / median[i];
    uint32_t kk = descending_float_key(r[i]);
    key[i] = kk;
    mn = std::min(mn, kk);
    mx = std::max(mx, kk);
  }
  *lo = mn;
  *hi = mx;
}

// Exact order of two sort keys: float rank key, then (equal float ranks) the double rank
// descending, then item position (= column order).
struct Before {
  const double* rank;
  bool operator()(uint64_t a, uint64_t b) const {
    if ((a >> 32) != (b >> 32)) return a < b;
    uint32_t x = a & 0xffffffffu, y = b & 0xffffffffu;
    return rank[x] > rank[y] || (rank[x] == rank[y] && x < y);
  }
};

// Orders items by (rank descending, column ascending): a stable LSD radix sort (two 9-bit
// passes; 10-bit ones were ~5% slower) on the float key relative to the cell's smallest key,
// scaled to 18 bits, so that the digits spread over the cell's own range; then an exact
// comparison sort inside each run of equal scaled keys (rare: float ranks within 2^-18 of the
// cell's key range, or true ties).
// Items come in column order and the radix sort is stable, so runs start in column order.
constexpr int kDigitBits = 9, kPasses = 2;
constexpr uint32_t kBins = 1u << kDigitBits;

void order_items(TokenizeScratch* s, size_t k, uint32_t lo, uint32_t hi) {
  int shift = 0;
  while (((hi - lo) >> shift) >> (kDigitBits * kPasses)) ++shift;
  if (s->bucket_end.size() < kBins * kPasses) s->bucket_end.resize(kBins * kPasses);
  if (s->swap.size() < k) s->swap.resize(s->keys.size());
  uint32_t* hist = s->bucket_end.data();
  std::memset(hist, 0, sizeof(uint32_t) * kBins * kPasses);
  const uint32_t* key = s->rank_key.data();
  uint64_t* keys = s->keys.data();
  for (size_t i = 0; i < k; ++i) {
    uint32_t rel = (key[i] - lo) >> shift;
    keys[i] = (static_cast<uint64_t>(rel) << 32) | i;
    for (int d = 0; d < kPasses; ++d) ++hist[d * kBins + ((rel >> (kDigitBits * d)) & (kBins - 1))];
  }
  bool skip[kPasses];  // every key has the same digit: the pass would not move anything
  for (int d = 0; d < kPasses; ++d)
    skip[d] = hist[d * kBins + ((keys[0] >> (32 + kDigitBits * d)) & (kBins - 1))] == k;
  uint32_t sum[kPasses] = {};  // exclusive prefix sums, the passes' chains interleaved
  for (uint32_t b = 0; b < kBins; ++b) {
    for (int d = 0; d < kPasses; ++d) {
      uint32_t c = hist[d * kBins + b];
      hist[d * kBins + b] = sum[d];
      sum[d] += c;
    }
  }
  uint64_t* from = keys;
  uint64_t* to = s->swap.data();
  for (int d = 0; d < kPasses; ++d) {
    uint32_t* offset = hist + d * kBins;
    int digit_shift = 32 + kDigitBits * d;
    if (skip[d]) continue;
    for (size_t i = 0; i < k; ++i) {
      uint64_t x = from[i];
      to[offset[(x >> digit_shift) & (kBins - 1)]++] = x;
    }
    std::swap(from, to);
  }
  if (from != keys) std::memcpy(keys, from, k * sizeof(uint64_t));
  Before before{s->rank.data()};
  for (size_t i = 1; i < k; ++i) {
    if ((keys[i] >> 32) != (keys[i - 1] >> 32)) continue;
    size_t first = i - 1, j = i + 1;
    while (j < k && (keys[j] >> 32) == (keys[first] >> 32)) ++j;
    std::sort(keys + first, keys + j, before);
    i = j;
  }
}

bool is_small_count(float x) { return x < 64 && x == static_cast<float>(static_cast<int>(x)); }

}  // namespace

void Tokenizer::tokenize(const int32_t* cols, const float* counts, int64_t nnz, TokenizeScratch* s,
                         TokenizedCell* out) const {
  double n;
  bool whole;
  size_t k = gather(cols, counts, nnz, s, &n, &whole);
  if (n == 0) n = 1;
  const double target = options_.target_sum;
  uint32_t lo = 0, hi = 0;
  compute_ranks(s->count.data(), s->median.data(), k, target, n, s->rank.data(), s->rank_key.data(), &lo, &hi);
  if (k > 0) order_items(s, k, lo, hi);
  size_t keep = std::min(k, static_cast<size_t>(std::max(0, options_.max_len - 1)));
  out->tokens.resize(keep + 1);
  out->counts.resize(keep + 1);
  out->total = n;
  int32_t* tokens = out->tokens.data();
  uint32_t* counts_out = out->counts.data();
  tokens[0] = GeneVocab::kCls;
  counts_out[0] = 0;
  const uint64_t* keys = s->keys.data();
  const int32_t* token = s->token.data();
  const float* count = s->count.data();
  bool integral = true;  // every kept count an integer the record can hold (below 2^32)
  if (whole) {  // so is every count (gather checked)
    for (size_t i = 0; i < keep; ++i) {
      uint32_t item = keys[i] & 0xffffffffu;
      tokens[i + 1] = token[item];
      counts_out[i + 1] = static_cast<uint32_t>(static_cast<int32_t>(count[item]));
    }
  } else {
    for (size_t i = 0; i < keep; ++i) {
      uint32_t item = keys[i] & 0xffffffffu;
      float x = std::min(count[item], 4294967296.0f);  // a cast that cannot overflow
      tokens[i + 1] = token[item];
      int64_t truncated = static_cast<int64_t>(x);
      counts_out[i + 1] = static_cast<uint32_t>(truncated);
      integral &= (x < 4294967296.0f) & (static_cast<float>(truncated) == x);  // branch-free
    }
  }
  if (!integral) out->counts.clear();
  out->values_from_counts = integral && target == 10000.0;
  // Integral counts and an integral total: the corpus record keeps the counts, not the values.
  constexpr double kExactDoubles = 9007199254740992.0;  // 2^53
  if (!options_.values && out->values_from_counts && n == std::floor(n) && n <= kExactDoubles) {
    out->values.clear();
    return;
  }
  out->values.resize(keep + 1);
  float* values = out->values.data();
  values[0] = 0.0f;
  float* cache = s->log_cache;  // log1p(v) depends only on the count within a cell
  std::fill(cache, cache + 64, -1.0f);
  for (size_t i = 0; i < keep; ++i) {
    float x = count[keys[i] & 0xffffffffu];
    if (is_small_count(x)) {
      float& slot = cache[static_cast<int>(x)];
      if (slot < 0) slot = static_cast<float>(std::log1p(static_cast<double>(x) * target / n));
      values[i + 1] = slot;
    } else {
      values[i + 1] = static_cast<float>(std::log1p(static_cast<double>(x) * target / n));
    }
  }
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

namespace {

int resolve_threads(int threads) {
  return threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// Ranges per thread when several threads share a block: small enough that a thread slowed by
// other work on its core (the import's reader and writer) takes fewer of them.
constexpr int kRangesPerThread = 8;

}  // namespace

int row_range_limit(int threads) {
  threads = resolve_threads(threads);
  return threads == 1 ? 1 : threads * kRangesPerThread;
}

void for_row_ranges(const int64_t* indptr, int64_t rows, int threads,
                    const std::function<void(int range, int64_t begin, int64_t end)>& work) {
  threads = resolve_threads(threads);
  const int ranges = static_cast<int>(std::min<int64_t>(row_range_limit(threads), std::max<int64_t>(1, rows / 64)));
  threads = std::min(threads, ranges);
  // Range t takes the rows whose entries start in [nnz*t/ranges, nnz*(t+1)/ranges).
  auto first_row = [&](int t) {
    if (t >= ranges) return rows;
    int64_t target = indptr[0] + (indptr[rows] - indptr[0]) * t / ranges;
    return static_cast<int64_t>(std::lower_bound(indptr, indptr + rows, target) - indptr);
  };
  std::atomic<int> next{0};  // threads take the next range as they finish one
  auto run = [&] {
    for (int t = next++; t < ranges; t = next++) work(t, first_row(t), first_row(t + 1));
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(run);
  run();
  for (auto& th : pool) th.join();
}

void Tokenizer::tokenize_rows(const int64_t* indptr, const int32_t* indices, const float* data, int64_t rows,
                              int threads, std::vector<TokenizedCell>* out) const {
  out->resize(rows);
  for_row_ranges(indptr, rows, threads, [&](int, int64_t begin, int64_t end) {
    TokenizeScratch scratch;
    for (int64_t r = begin; r < end; ++r)
      tokenize(indices + indptr[r], data + indptr[r], indptr[r + 1] - indptr[r], &scratch, &(*out)[r]);
  });
}

}  // namespace sccello
