// Cell import: reads a count matrix (h5ad, 10x MTX folder, 10x HDF5), maps genes onto the
// vocabulary, tokenizes every cell (tokenizer.h) and appends the cells with their CL term ids to
// the corpus as one dataset, atomically. Streams in row blocks: memory does not grow with cells
// (apart from one 8-byte hash per cell id for the duplicate check). Not thread-safe (one writer).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "store/corpus.h"
#include "store/cells/gene_vocab.h"
#include "store/formats/h5ad_reader.h"
#include "store/formats/hdf5_guard.h"
#include "store/cells/tokenizer.h"

namespace sccello {

class Store;

struct CellImportOptions {
  std::string dataset;              // required: the dataset name in the store
  std::string format;               // "" = by path: *.h5ad, *.h5 (10x), a folder or *.mtx[.gz] (10x MTX)
  H5adOptions h5ad;                 // layer, var column
  Hdf5GuardOptions hdf5_guard;      // h5ad / 10x .h5 are first read in a forked child (hdf5_guard.h)
  std::string label_column;         // obs column with the labels; "" = cell_type if present
  std::string labels_tsv;           // or a TSV joined on barcode (its first column, or barcode/cell_id)
  std::string label_key;            // the TSV column holding the label
  std::string cl_map_tsv;           // label -> CL id table (columns cell_type/label and cl_id)
  std::string term_column;          // obs column with CL ids; "" = cell_type_ontology_term_id if present
  std::string donor_column;         // "" = donor_id, donor or batch if present
  std::string tissue_column;        // "" = tissue, tissue_ontology_term_id if present
  std::string assay_column;         // "" = assay, assay_ontology_term_id if present
  TokenizerOptions tokenizer;
  bool assume_normalized = false;   // input is log1p(CP10k): counts recovered from per-cell totals
  int64_t block_rows = 512;  // cells read and written per block (half the pages 1024 touched)
  int threads = 1;                  // tokenizer threads per block (0 = cores); output order is fixed
  // The next block read (HDF5 chunks inflated) and the previous one written on threads of their
  // own while a block is tokenized, also with one tokenizer thread; false: reading, tokenizing
  // (over `threads` threads) and writing take turns.
  bool overlap_io = true;
  bool replace = false;             // replace an existing dataset of that name
  size_t write_batch_bytes = 8 << 20;  // cell records per write batch (bytes)
  // Term ids a CL release knows (live or obsolete); others are kept as unmapped. nullptr = no check.
  const std::unordered_set<std::string>* known_terms = nullptr;
  std::function<void(int64_t done, int64_t total)> progress;  // called after each block
};

struct CellImportReport {
  DatasetInfo info;
  GeneMapReport genes;
  std::string matrix;                            // where the counts came from
  int64_t unmapped_cells = 0;
  std::map<std::string, int64_t> unmapped_labels;  // label -> cells kept without a term
  std::map<std::string, int64_t> cells_per_term;
  std::vector<std::string> warnings;
};

// Opens the reader for `path` (format from options.format or the path). HDF5 files are first
// checked in a forked child (check_hdf5_file with options.hdf5_guard), so a file that hangs or
// crashes libhdf5 is an error here instead of a hung or crashed process.
Result<std::unique_ptr<CellMatrixReader>> open_cell_matrix(const std::string& path, const CellImportOptions& options);
// The forked HDF5 check open_cell_matrix runs for .h5ad and 10x .h5 files (hdf5_guard.h), alone:
// a command calls it before it opens the store, so the fork happens while the process has no
// other threads (RocksDB starts background threads at open), then reads with the guard off.
Status check_cell_file(const std::string& path, const CellImportOptions& options);
// check_cell_file in two halves: forks the child (a bad file name is an error at once) and
// returns; the caller loads what it needs meanwhile (no HDF5 calls, no threads started), then
// wait()s. No child for other formats or with the guard off (wait() is OK). As soon as the file
// is open the child notes kGeneIdsNeedSymbols when a gene id is not an Ensembl id (the
// vocabulary's symbol tables will be needed), "" otherwise: `check.note()`.
Result<Hdf5Check> start_cell_file_check(const std::string& path, const CellImportOptions& options);
inline constexpr const char* kGeneIdsNeedSymbols = "gene ids need symbols";

Result<CellImportReport> import_cells(Store& store, const GeneVocab& vocab, const std::string& path,
                                      const CellImportOptions& options);
// The same from a reader opened by the caller (e.g. an AnnData in memory, memory_matrix.h);
// `source` names it in messages and in the dataset's source_file.
Result<CellImportReport> import_cells(Store& store, const GeneVocab& vocab, CellMatrixReader& reader,
                                      const std::string& source, const CellImportOptions& options);

// Per-cell totals column used by --assume-normalized: n_counts, total_counts or nCount_RNA.
const std::vector<std::string>& total_count_columns();

}  // namespace sccello
