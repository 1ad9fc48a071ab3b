#include "store/cells/tokenized_file.h"

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <functional>

#include "store/cells/vocab_image.h"
#include "store/kv_store.h"
#include "store/store.h"

namespace sccello {

namespace fs = std::filesystem;

namespace {

using CorpusImport = std::function<Result<CellImportReport>(Store&, const GeneVocab&, const CellImportOptions&)>;

struct TempDir {
  std::string path;
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

Status refuse_poor_mapping(const std::string& path, const TokenizedFile& file, double min_share) {
  if (file.gene_share() >= min_share) return Status::ok();
  char share[32];
  std::snprintf(share, sizeof(share), "%.1f%%", 100.0 * file.gene_share());
  return Status::invalid(path + ": only " + std::to_string(file.report.genes.mapped) + " of " +
                         std::to_string(file.report.genes.genes_in_file) + " genes (" + share +
                         ") map onto the model's vocabulary (human Ensembl ids or symbols expected; "
                         "--var-column picks the column of gene ids; --min-gene-share lowers the threshold)");
}

// Imports the cells into a throw-away SQLite corpus with `import` and reads them back.
Result<TokenizedFile> tokenize_through_corpus(const std::string& source, const TokenizeFileOptions& options,
                                              const CorpusImport& import_into) {
  TempDir tmp;
  std::string tmpl = (fs::temp_directory_path() / "sccello-cells-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) return Status::io_error("cannot create a temporary directory under " + fs::temp_directory_path().string());
  tmp.path = tmpl;
  SCCELLO_ASSIGN_OR_RETURN(std::string vocab_dir, GeneVocab::locate(options.vocab_dir));
  SCCELLO_ASSIGN_OR_RETURN(GeneVocab vocab, GeneVocab::load_cached(vocab_dir, user_cache_dir()));
  StoreOptions so;
  so.path = tmpl + "/cells.sqlite";
  so.backend = Backend::kSqlite;
  SCCELLO_ASSIGN_OR_RETURN(auto store, Store::open(so));
  CellImportOptions import = options.import;
  import.dataset = "query";
  TokenizedFile out;
  SCCELLO_ASSIGN_OR_RETURN(out.report, import_into(*store, vocab, import));
  SCCELLO_RETURN_IF_ERROR(refuse_poor_mapping(source, out, options.min_gene_share));
  Corpus corpus(*store);
  SCCELLO_RETURN_IF_ERROR(corpus.for_each("query", [&](int64_t, const CellRecord& c) {
    out.tokens.push_back(c.tokens);
    if (options.keep_values) out.values.push_back(c.values);
    out.ids.push_back(c.cell_id);
    out.labels.push_back(c.label);
    out.terms.push_back(c.term_id);
    out.donors.push_back(c.donor);
    out.tissues.push_back(c.tissue);
    return true;
  }));
  return out;
}

}  // namespace

std::string describe_gene_mapping(const GeneMapReport& g) {
  char line[256];
  std::snprintf(line, sizeof(line),
                "genes: %lld of %lld mapped (%.1f%%); dropped: %lld not in vocabulary, %lld unknown symbols, "
                "%lld duplicates, %lld empty ids",
                (long long)g.mapped, (long long)g.genes_in_file,
                g.genes_in_file > 0 ? 100.0 * double(g.mapped) / double(g.genes_in_file) : 0.0,
                (long long)g.not_in_vocab, (long long)g.unknown_symbol, (long long)g.duplicate, (long long)g.empty_id);
  return line;
}

Result<TokenizedFile> tokenize_cell_file(const std::string& path, const TokenizeFileOptions& options) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return Status::not_found("no such cell file or folder: " + path);
  return tokenize_through_corpus(path, options, [&](Store& store, const GeneVocab& vocab, const CellImportOptions& o) {
    return import_cells(store, vocab, path, o);
  });
}

Result<TokenizedFile> tokenize_cells(CellMatrixReader& reader, const std::string& source,
                                     const TokenizeFileOptions& options) {
  return tokenize_through_corpus(source, options, [&](Store& store, const GeneVocab& vocab, const CellImportOptions& o) {
    return import_cells(store, vocab, reader, source, o);
  });
}

}  // namespace sccello
