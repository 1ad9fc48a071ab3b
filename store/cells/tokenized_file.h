// Tokenizing a cell file (h5ad, 10x MTX folder, 10x .h5) into memory for embedding, search and
// annotation of new cells, with the same readers, gene mapping and tokenizer as `cells import`
// (through a throw-away SQLite corpus, removed afterwards). Refuses files whose genes barely map
// onto the vocabulary. Stateless; each call owns its temporary store.
#pragma once

#include <string>
#include <vector>

#include "graph/status.h"
#include "store/cells/cell_import.h"

namespace sccello {

struct TokenizedFile {
  std::vector<std::vector<int32_t>> tokens;  // per cell, <cls> first
  std::vector<std::vector<float>> values;    // per cell, log1p(CP10k) (0 for <cls>); only with keep_values
  std::vector<std::string> ids, labels, terms, donors, tissues;
  CellImportReport report;                   // gene mapping, label mapping, source matrix
  double gene_share() const {
    return report.genes.genes_in_file > 0 ? double(report.genes.mapped) / double(report.genes.genes_in_file) : 0.0;
  }
};

struct TokenizeFileOptions {
  CellImportOptions import;    // layer, var column, label column, --assume-normalized, ...
  double min_gene_share = 0.2;  // refuse when fewer of the file's genes map onto the vocabulary
  std::string vocab_dir;        // "" = located like `cells import`
  bool keep_values = false;     // also return each token's value (TokenizedFile::values)
};

Result<TokenizedFile> tokenize_cell_file(const std::string& path, const TokenizeFileOptions& options);
// The same from a reader opened by the caller (an AnnData in memory, memory_matrix.h); `source`
// names it in messages.
Result<TokenizedFile> tokenize_cells(CellMatrixReader& reader, const std::string& source,
                                     const TokenizeFileOptions& options);

// "genes: 20,310 of 32,738 mapped (62.0%); 12,428 dropped (...)": the line `cells import` prints.
std::string describe_gene_mapping(const GeneMapReport& genes);

}  // namespace sccello
