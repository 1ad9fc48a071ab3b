// Tokenizer: scCello's (Geneformer's) rank-value encoding of one cell, exactly as DESIGN.md:
// totals over vocabulary genes (or all genes), x*10000/n, rank r = v/median descending with
// ties by gene column order, <cls> first, at most max_len tokens, values log1p(v) (0 for <cls>).
// Built once per matrix (a per-column table of token and median); const methods are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/gene_vocab.h"

namespace sccello {

struct TokenizerOptions {
  int32_t max_len = 2048;            // tokens per cell including <cls>
  bool total_over_all_genes = false; // false: n sums vocabulary genes only (scCello); true: Geneformer
  double target_sum = 10000.0;
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

// Reusable per-thread buffers of one tokenize() call.
struct TokenizeScratch {
  struct Item {
    double rank;   // v / median
    int32_t col;   // column in the matrix (tie order)
    int32_t token;
    float count;
  };
  std::vector<Item> items;
  std::vector<uint64_t> keys, swap;  // (descending float rank << 32) | item position
  std::vector<float> log_cache;      // log1p(v) for small integer counts of the current cell
};

class Tokenizer {
 public:
  Tokenizer(const GeneVocab& vocab, const std::vector<std::string>& gene_ids, const TokenizerOptions& options);

  const GeneMapReport& report() const { return report_; }
  const TokenizerOptions& options() const { return options_; }
  int32_t token_of_column(int32_t col) const { return token_[col]; }

  // One cell from its nonzeros (columns ascending). Replaces *tokens and *values.
  void tokenize(const int32_t* cols, const float* counts, int64_t nnz, TokenizeScratch* scratch,
                std::vector<int32_t>* tokens, std::vector<float>* values) const;
  // The total n used for a cell (before the n = 0 -> 1 rule).
  double total(const int32_t* cols, const float* counts, int64_t nnz) const;

 private:
  TokenizerOptions options_;
  std::vector<int32_t> token_;   // per column; -1 when the column is not used
  std::vector<double> median_;   // per column
  GeneMapReport report_;
};

}  // namespace sccello
