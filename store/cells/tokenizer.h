// Tokenizer: scCello's (Geneformer's) rank-value encoding of one cell, exactly as DESIGN.md:
// totals over vocabulary genes (or all genes), x*10000/n, rank r = v/median descending with
// ties by gene column order, <cls> first, at most max_len tokens, values log1p(v) (0 for <cls>).
// Built once per matrix (a per-column table of token and median); const methods are thread-safe
// (each thread passes its own TokenizeScratch).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "store/cells/gene_vocab.h"

namespace sccello {

struct TokenizerOptions {
  int32_t max_len = 2048;            // tokens per cell including <cls>
  bool total_over_all_genes = false; // false: n sums vocabulary genes only (scCello); true: Geneformer
  double target_sum = 10000.0;
  // false: TokenizedCell::values stays empty where values_from_counts holds and the total is an
  // integer below 2^53, i.e. where the corpus record stores counts and never reads the values
  // (an import; a log1p per token was a tenth of the tokenizer's time).
  bool values = true;
};

// How the matrix's genes mapped onto the vocabulary.
struct GeneMapReport {
  int64_t genes_in_file = 0;
  int64_t mapped = 0;
  int64_t not_in_vocab = 0;     // an Ensembl id Geneformer has no token for
  int64_t unknown_symbol = 0;   // a symbol neither table knows
  int64_t duplicate = 0;        // a second column for an already mapped gene (first column kept)
  int64_t empty_id = 0;
  int64_t dropped() const { return genes_in_file - mapped; }
};

// Reusable per-thread buffers of one tokenize() call (grow-only, never cleared per cell): the
// cell's expressed vocabulary genes as parallel arrays in column order, their ranks, and the
// bucket sort's keys and histogram.
struct TokenizeScratch {
  std::vector<int32_t> token;        // vocabulary token
  std::vector<float> count;
  std::vector<double> median, rank;  // gene median, r = (x*10000/n)/median
  std::vector<uint32_t> rank_key;    // descending float rank bits
  std::vector<uint64_t> keys, swap;  // (scaled rank key << 32) | item position, sorted
  std::vector<uint32_t> bucket_end;  // radix sort digit counts
  float log_cache[64];               // log1p(v) for small integer counts of the current cell
};

// One tokenized cell: tokens, values, and for the compact corpus record the integer counts
// (0 for <cls>) and the total n, so that values[i] == float(log1p(counts[i] * 10000 / total)).
// counts is empty when some count is not a non-negative integer; values is empty when
// TokenizerOptions::values is false and they follow from the counts.
struct TokenizedCell {
  std::vector<int32_t> tokens;
  std::vector<float> values;
  std::vector<uint32_t> counts;
  double total = 0;
  // values[i] == float(log1p(counts[i] * 10000.0 / total)) by construction (counts kept and
  // target_sum 10000): CellRecord::values_from_counts.
  bool values_from_counts = false;
};

// Calls work(range, begin, end) for contiguous row ranges of a CSR block that together cover
// [0, rows) in range order, each holding about the same number of entries (the work is per
// entry): one range with one thread, else eight per thread (fewer for small blocks), taken by
// `threads` threads (<= 0: one per core) as each finishes its last; returns when every range is
// done. range < row_range_limit(threads).
void for_row_ranges(const int64_t* indptr, int64_t rows, int threads,
                    const std::function<void(int range, int64_t begin, int64_t end)>& work);
int row_range_limit(int threads);

class Tokenizer {
 public:
  Tokenizer(const GeneVocab& vocab, const std::vector<std::string>& gene_ids, const TokenizerOptions& options);

  const GeneMapReport& report() const { return report_; }
  const TokenizerOptions& options() const { return options_; }
  int32_t token_of_column(int32_t col) const { return column_[col].token; }

  // One cell from its nonzeros. REQUIRES: columns in [0, genes) and strictly ascending, counts
  // finite and non-negative (what check_row_block guarantees for every reader's blocks).
  // Replaces *tokens and *values.
  void tokenize(const int32_t* cols, const float* counts, int64_t nnz, TokenizeScratch* scratch,
                std::vector<int32_t>* tokens, std::vector<float>* values) const;
  // Also returns the counts and the total of the cell (`out->counts`, `out->total`).
  void tokenize(const int32_t* cols, const float* counts, int64_t nnz, TokenizeScratch* scratch,
                TokenizedCell* out) const;
  // Rows [0, rows) of a CSR block (row r's entries at indices/data[indptr[r] .. indptr[r+1])),
  // split into contiguous ranges over `threads` threads (0 = cores); out[r] is row r whatever
  // the thread count, so the output is deterministic.
  void tokenize_rows(const int64_t* indptr, const int32_t* indices, const float* data, int64_t rows,
                     int threads, std::vector<TokenizedCell>* out) const;
  // The total n used for a cell (before the n = 0 -> 1 rule).
  double total(const int32_t* cols, const float* counts, int64_t nnz) const;

 private:
  struct Column {
    int32_t token = -1;  // -1 when the column is not used
    double median = 0;
  };
  size_t gather(const int32_t* cols, const float* counts, int64_t nnz, TokenizeScratch* s, double* n,
                bool* whole) const;
  TokenizerOptions options_;
  std::vector<Column> column_;  // per matrix column
  GeneMapReport report_;
};

}  // namespace sccello
