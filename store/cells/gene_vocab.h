// GeneVocab: scCello's gene vocabulary (Geneformer V1 token dictionary + <cls>), the per-gene
// non-zero medians used to rank genes, and the symbol -> Ensembl tables used to map matrices
// whose genes are named by symbol. Immutable after load; safe to share across threads.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "graph/status.h"
#include "store/cells/flat_string_map.h"

namespace sccello {

class VocabImage;

// How one matrix column (a var id) maps onto the vocabulary.
struct GeneMapping {
  enum class Kind { kMapped, kNotInVocab, kUnknownSymbol, kDuplicate, kEmpty };
  Kind kind = Kind::kEmpty;
  std::string ensembl_id;  // "" when the symbol is unknown
  int32_t token = -1;      // >= 2 when mapped
};

class GeneVocab {
 public:
  static constexpr int32_t kPad = 0;
  static constexpr int32_t kMask = 1;
  static constexpr int32_t kCls = 25426;

  // Reads token_dictionary.tsv and gene_median_dictionary.tsv from `dir` and checks that
  // gene_symbol_to_ensembl.tsv and genes_homo_sapiens_gencode_v48.csv.gz are there. The two
  // symbol tables are parsed on first use only (a matrix named by Ensembl ids never needs them:
  // they were a fifth of a small import's time). Errors name the file and line.
  static Result<GeneVocab> load(const std::string& dir);
  // load(), through a binary image of the tables kept in `cache_dir` (VocabImage; "" = no
  // cache): the image is mapped when it matches the tables as they are now, else the text is
  // parsed (symbol tables included) and a new image written, which costs speed only if it fails.
  static Result<GeneVocab> load_cached(const std::string& dir, const std::string& cache_dir);
  bool mapped_from_image() const { return image_ != nullptr; }
  // The vocab folder: SCCELLO_DATA_DIR/vocab, else data/vocab found upwards from `exe_hint`
  // and the working directory. NotFound says to pass --vocab.
  static Result<std::string> locate(const std::string& exe_hint);

  int32_t size() const { return kCls + 1; }
  int32_t token_of(std::string_view ensembl_id) const;  // -1 when absent
  double median(int32_t token) const { return medians_[token]; }
  const std::string& gene_id(int32_t token) const { return ids_[token]; }
  std::string symbol(int32_t token) const;  // "" when none is known
  // Ensembl id (version suffix stripped) for an Ensembl id or a symbol; "" when unknown.
  std::string to_ensembl(const std::string& var_id) const;
  // Maps one var id; duplicates are decided by the caller (VocabColumns).
  GeneMapping map(const std::string& var_id) const;
  // map() of every id, in order: the same mappings, with each table's slot for an id a few ids
  // ahead already on its way (a matrix's 20k-60k ids missed the cache once or twice each).
  std::vector<GeneMapping> map_all(const std::vector<std::string>& var_ids) const;
  // Whether the symbol tables loaded (they load on first use; a failure maps symbols to nothing).
  Status symbol_tables_status() const;

 private:
  // Symbol -> Ensembl tables, parsed once on first use, shared by copies of the vocabulary. The
  // maps view into the two files' text, kept here: nothing is allocated per entry (120k
  // entries as strings were a quarter of a small import's time).
  // The reverse map (Ensembl -> symbol, for display) is built on its first use only: an
  // import maps symbols forward and never needs it.
  struct SymbolTables {
    std::once_flag once, reverse_once;
    Status status;
    std::string symbols_text, gencode_text;
    FlatStringMap<std::string_view> ensembl_by_symbol;  // Geneformer table first
    FlatStringMap<std::string_view> gencode_by_symbol;
    FlatStringMap<std::string_view> symbol_by_ensembl;
  };
  Status read_tokens(const std::string& path);
  Status read_medians(const std::string& path);
  const SymbolTables& symbols() const;
  const SymbolTables& symbols_with_reverse() const;

  std::string dir_;
  std::vector<std::string> ids_;      // by token
  std::vector<double> medians_;       // by token (0 for specials)
  std::shared_ptr<const std::string> tokens_text_;  // token_dictionary.tsv, which token_by_id_ views
  FlatStringMap<int32_t> token_by_id_;
  std::shared_ptr<SymbolTables> symbols_ = std::make_shared<SymbolTables>();
  // Set by load_cached from an image: token ids, medians and the forward symbol lookups come
  // from it (token_by_id_ views its ids); symbol() still parses the text tables on first use.
  std::shared_ptr<const VocabImage> image_;
};

// "ENSG00000141510.17" -> "ENSG00000141510"; other strings unchanged.
std::string strip_ensembl_version(const std::string& id);
bool looks_like_ensembl(std::string_view id);

}  // namespace sccello
