#include "store/tokenizer.h"

#include <algorithm>
#include <cmath>
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

void Tokenizer::tokenize(const int32_t* cols, const float* counts, int64_t nnz, TokenizeScratch* scratch,
                         std::vector<int32_t>* tokens, std::vector<float>* values) const {
  double n = total(cols, counts, nnz);
  if (n == 0) n = 1;
  auto& items = scratch->items;
  items.clear();
  for (int64_t i = 0; i < nnz; ++i) {
    int32_t col = cols[i];
    int32_t token = token_[col];
    double x = counts[i];
    if (token < 0 || !(x > 0)) continue;
    double v = x * options_.target_sum / n;
    items.push_back({v / median_[col], col, token, v});
  }
  auto before = [](const TokenizeScratch::Item& a, const TokenizeScratch::Item& b) {
    return a.rank > b.rank || (a.rank == b.rank && a.col < b.col);
  };
  size_t keep = std::min(items.size(), static_cast<size_t>(std::max(0, options_.max_len - 1)));
  if (keep < items.size()) {
    std::nth_element(items.begin(), items.begin() + keep, items.end(), before);
    items.resize(keep);
  }
  std::sort(items.begin(), items.end(), before);
  tokens->resize(keep + 1);
  values->resize(keep + 1);
  (*tokens)[0] = GeneVocab::kCls;
  (*values)[0] = 0.0f;
  for (size_t i = 0; i < keep; ++i) {
    (*tokens)[i + 1] = items[i].token;
    (*values)[i + 1] = static_cast<float>(std::log1p(items[i].norm));
  }
}

}  // namespace sccello
