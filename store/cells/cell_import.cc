#include "store/cells/cell_import.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <regex>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "store/safe_text.h"
#include "store/store.h"
#include "store/formats/tenx_reader.h"
#include "store/text_lines.h"

namespace sccello {
namespace {

bool is_cl_id(const std::string& s) {
  static const std::regex re("CL:[0-9]{7}");
  return std::regex_match(s, re);
}

std::string pick_column(const std::vector<std::string>& have, std::initializer_list<const char*> candidates) {
  for (const char* c : candidates)
    if (std::find(have.begin(), have.end(), c) != have.end()) return c;
  return "";
}

// A TSV table keyed by its first column (or a `barcode` / `cell_id` column).
struct KeyedTable {
  std::vector<std::string> header;
  std::unordered_map<std::string, std::vector<std::string>> rows;
  size_t key_col = 0;

  Status load(const std::string& path, std::initializer_list<const char*> key_names) {
    TextLines in;
    SCCELLO_RETURN_IF_ERROR(in.open(path));
    std::string line;
    if (!in.next(&line)) return Status::invalid("'" + path + "' is empty; expected a header row");
    header = split_fields(line, '\t');
    for (const char* k : key_names) {
      auto it = std::find(header.begin(), header.end(), k);
      if (it != header.end()) { key_col = it - header.begin(); break; }
    }
    SCCELLO_RETURN_IF_ERROR(check_utf8(line, path + ":1", "the header"));
    while (in.next(&line)) {
      if (line.empty()) continue;
      SCCELLO_RETURN_IF_ERROR(check_utf8(line, path + ":" + std::to_string(in.line_number()), "the line"));
      auto f = split_fields(line, '\t');
      f.resize(header.size());
      std::string key = f[key_col];
      if (!rows.emplace(key, std::move(f)).second)
        return Status::invalid("'" + path + "' line " + std::to_string(in.line_number()) + ": duplicate key '" + key + "'");
    }
    return in.error();
  }
  Result<size_t> column(const std::string& name, const std::string& path) const {
    auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) return column_not_found(name, "'" + path + "'", header);
    return static_cast<size_t>(it - header.begin());
  }
};

// label -> CL id from a table with a cl_id column (label: cell_type, label, or the first column).
Status load_cl_map(const std::string& path, std::unordered_map<std::string, std::string>* out) {
  KeyedTable t;
  SCCELLO_RETURN_IF_ERROR(t.load(path, {"cell_type", "label"}));
  auto it = std::find(t.header.begin(), t.header.end(), "cl_id");
  size_t cl = it != t.header.end() ? it - t.header.begin() : 1;
  if (cl >= t.header.size()) return Status::invalid("'" + path + "': needs a cl_id column (label<TAB>cl_id)");
  for (auto& [label, row] : t.rows) (*out)[label] = row[cl];
  return Status::ok();
}

// Per-cell annotations of one block.
struct Annotations {
  std::vector<std::string> ids, labels, terms, donors, tissues, assays;
};

class AnnotationSource {
 public:
  Status init(CellMatrixReader& reader, const CellImportOptions& o, const std::string& path);
  Status read(CellMatrixReader& reader, int64_t first, int64_t n, Annotations* a);

 private:
  Status column(CellMatrixReader& reader, const std::string& col, int64_t first, int64_t n,
                std::vector<std::string>* out);
  std::string label_col_, term_col_, donor_col_, tissue_col_, assay_col_;
  KeyedTable labels_;
  size_t label_key_ = 0;
  bool from_tsv_ = false;
  std::string tsv_path_;
  std::unordered_map<std::string, std::string> cl_map_;
};

Status AnnotationSource::init(CellMatrixReader& reader, const CellImportOptions& o, const std::string& path) {
  auto cols = reader.columns();
  auto need = [&](const std::string& c) -> Status {
    if (c.empty() || std::find(cols.begin(), cols.end(), c) != cols.end()) return Status::ok();
    return column_not_found(c, "'" + path + "' obs", cols);
  };
  SCCELLO_RETURN_IF_ERROR(need(o.label_column));
  SCCELLO_RETURN_IF_ERROR(need(o.term_column));
  SCCELLO_RETURN_IF_ERROR(need(o.donor_column));
  SCCELLO_RETURN_IF_ERROR(need(o.tissue_column));
  SCCELLO_RETURN_IF_ERROR(need(o.assay_column));
  label_col_ = o.label_column.empty() ? pick_column(cols, {"cell_type"}) : o.label_column;
  term_col_ = o.term_column.empty() ? pick_column(cols, {"cell_type_ontology_term_id"}) : o.term_column;
  donor_col_ = o.donor_column.empty() ? pick_column(cols, {"donor_id", "donor", "batch"}) : o.donor_column;
  tissue_col_ = o.tissue_column.empty() ? pick_column(cols, {"tissue", "tissue_ontology_term_id"}) : o.tissue_column;
  assay_col_ = o.assay_column.empty() ? pick_column(cols, {"assay", "assay_ontology_term_id"}) : o.assay_column;
  if (!o.labels_tsv.empty()) {
    if (o.label_key.empty()) return Status::invalid("--labels needs --label-key COLUMN (the TSV column with labels)");
    SCCELLO_RETURN_IF_ERROR(labels_.load(o.labels_tsv, {"barcode", "cell_id", "cell"}));
    SCCELLO_ASSIGN_OR_RETURN(label_key_, labels_.column(o.label_key, o.labels_tsv));
    from_tsv_ = true;
    tsv_path_ = o.labels_tsv;
  }
  if (!o.cl_map_tsv.empty()) SCCELLO_RETURN_IF_ERROR(load_cl_map(o.cl_map_tsv, &cl_map_));
  return Status::ok();
}

Status AnnotationSource::column(CellMatrixReader& reader, const std::string& col, int64_t first, int64_t n,
                                std::vector<std::string>* out) {
  if (col.empty()) {
    out->assign(n, "");
    return Status::ok();
  }
  SCCELLO_ASSIGN_OR_RETURN(*out, reader.column_values(col, first, n));
  return Status::ok();
}

Status AnnotationSource::read(CellMatrixReader& reader, int64_t first, int64_t n, Annotations* a) {
  SCCELLO_ASSIGN_OR_RETURN(a->ids, reader.cell_ids(first, n));
  SCCELLO_RETURN_IF_ERROR(column(reader, label_col_, first, n, &a->labels));
  SCCELLO_RETURN_IF_ERROR(column(reader, term_col_, first, n, &a->terms));
  SCCELLO_RETURN_IF_ERROR(column(reader, donor_col_, first, n, &a->donors));
  SCCELLO_RETURN_IF_ERROR(column(reader, tissue_col_, first, n, &a->tissues));
  SCCELLO_RETURN_IF_ERROR(column(reader, assay_col_, first, n, &a->assays));
  for (int64_t i = 0; i < n; ++i) {
    if (from_tsv_) {
      auto it = labels_.rows.find(a->ids[i]);
      a->labels[i] = it == labels_.rows.end() ? "" : it->second[label_key_];
      a->terms[i].clear();
    }
    std::string& label = a->labels[i];
    std::string& term = a->terms[i];
    if (!cl_map_.empty()) {
      auto it = cl_map_.find(label);
      term = it == cl_map_.end() ? "" : it->second;
    } else if (is_cl_id(label)) {
      term = label;
    }
    if (label.empty()) label = term;
    if (!term.empty() && !is_cl_id(term)) term.clear();
  }
  return Status::ok();
}

std::string source_kind(const std::string& path, const std::string& format) {
  if (!format.empty()) return format;
  if (dir_exists(path) || ends_with(path, ".mtx") || ends_with(path, ".mtx.gz")) return "mtx";
  if (ends_with(path, ".h5ad")) return "h5ad";
  if (ends_with(path, ".h5")) return "10x-h5";
  return "h5ad";
}

// Checks raw counts, or turns log1p(CP10k) values back into counts with the cell's total.
class CountCheck {
 public:
  CountCheck(const CellImportOptions& o, std::string source) : o_(o), source_(std::move(source)) {}
  Status init(CellMatrixReader& reader) {
    if (!o_.assume_normalized) return Status::ok();
    auto cols = reader.columns();
    for (const std::string& c : total_count_columns())
      if (std::find(cols.begin(), cols.end(), c) != cols.end()) total_col_ = c;
    if (total_col_.empty()) {
      std::string list;
      for (auto& c : cols) list += (list.empty() ? "" : ", ") + c;
      return Status::invalid("--assume-normalized needs per-cell totals to recover counts (an obs column n_counts, "
                             "total_counts or nCount_RNA), and " + source_ + " has none; obs columns: " + list);
    }
    return Status::ok();
  }
  Status block(CellMatrixReader& reader, RowBlock* b, const std::vector<std::string>& ids);
  int64_t imprecise = 0;  // recovered counts more than 0.1 from an integer

 private:
  const CellImportOptions& o_;
  std::string source_, total_col_;
};

Status CountCheck::block(CellMatrixReader& reader, RowBlock* b, const std::vector<std::string>& ids) {
  if (!o_.assume_normalized) {
    for (int64_t r = 0; r < b->num_rows(); ++r)
      for (int64_t i = b->indptr[r]; i < b->indptr[r + 1]; ++i) {
        float v = b->data[i];
        if (v == std::floor(v) && v >= 0) continue;
        return Status::invalid(source_ + " holds non-integer or negative values (" + std::to_string(v) + " in cell '" +
                               ids[r] + "'), not raw counts: point sccello at raw counts (raw/X when present, or a counts "
                               "layer with --layer counts), or pass --assume-normalized for log1p(CP10k) input "
                               "with per-cell totals (n_counts, total_counts or nCount_RNA)");
      }
    return Status::ok();
  }
  SCCELLO_ASSIGN_OR_RETURN(auto totals, reader.column_values(total_col_, b->first_row, b->num_rows()));
  for (int64_t r = 0; r < b->num_rows(); ++r) {
    double total = std::strtod(totals[r].c_str(), nullptr);
    if (!(total > 0)) return Status::invalid(source_ + ": cell '" + ids[r] + "' has no positive " + total_col_);
    for (int64_t i = b->indptr[r]; i < b->indptr[r + 1]; ++i) {
      double x = std::expm1(static_cast<double>(b->data[i])) * total / o_.tokenizer.target_sum;
      double rounded = std::nearbyint(x);
      if (!(rounded < 4294967296.0))
        return Status::invalid(source_ + ": cell '" + ids[r] + "' recovers a count of " + std::to_string(x) +
                               " from " + std::to_string(b->data[i]) + " with " + total_col_ + " " + totals[r] +
                               "; this is not log1p(CP10k) data: drop --assume-normalized or fix the totals");
      if (std::fabs(x - rounded) > 0.1) ++imprecise;
      b->data[i] = static_cast<float>(rounded);
    }
  }
  return Status::ok();
}

std::string options_json(const CellImportOptions& o) {
  nlohmann::json j = {{"max_len", o.tokenizer.max_len},
                      {"total", o.tokenizer.total_over_all_genes ? "all" : "vocab"},
                      {"target_sum", o.tokenizer.target_sum},
                      {"assume_normalized", o.assume_normalized},
                      {"layer", o.h5ad.layer},
                      {"var_column", o.h5ad.var_column},
                      {"record_format", kCellRecordFormat},
                      {"value_encoding", "counts (exact values) when integral, else uint16 fixed point value*4096"}};
  return json_dump(j);
}

std::string report_json(const CellImportReport& r) {
  nlohmann::json j = {{"matrix", r.matrix},
                      {"genes_mapped", r.genes.mapped},
                      {"genes_not_in_vocab", r.genes.not_in_vocab},
                      {"genes_unknown_symbol", r.genes.unknown_symbol},
                      {"genes_duplicate", r.genes.duplicate},
                      {"genes_empty_id", r.genes.empty_id},
                      {"unmapped_labels", r.unmapped_labels},
                      {"warnings", r.warnings}};
  return json_dump(j);
}

// The import proper, once the reader, tokenizer and writer exist.
class Importer {
 public:
  Importer(const CellImportOptions& o, CellMatrixReader& reader, const Tokenizer& tok, DatasetWriter& writer,
           std::string path)
      : o_(o), reader_(reader), tok_(tok), writer_(writer), path_(std::move(path)), check_(o, reader.describe()) {}
  Status run(CellImportReport* report);

 private:
  Status add_block(RowBlock& block, CellImportReport* report);
  const CellImportOptions& o_;
  CellMatrixReader& reader_;
  const Tokenizer& tok_;
  DatasetWriter& writer_;
  std::string path_;
  CountCheck check_;
  AnnotationSource annotations_;
  std::unordered_map<uint64_t, int64_t> seen_ids_;
  std::vector<TokenizedCell> tokenized_;
  CellRecord cell_;
};

Status Importer::run(CellImportReport* report) {
  SCCELLO_RETURN_IF_ERROR(annotations_.init(reader_, o_, path_));
  SCCELLO_RETURN_IF_ERROR(check_.init(reader_));
  RowBlock block;
  while (reader_.next_block(o_.block_rows, &block)) {
    SCCELLO_RETURN_IF_ERROR(add_block(block, report));
    if (o_.progress) o_.progress(block.first_row + block.num_rows(), reader_.num_cells());
  }
  SCCELLO_RETURN_IF_ERROR(reader_.status());
  if (check_.imprecise > 0)
    report->warnings.push_back(std::to_string(check_.imprecise) + " recovered counts were more than 0.1 from an "
                               "integer: the totals may not match the normalisation");
  return Status::ok();
}

Status Importer::add_block(RowBlock& block, CellImportReport* report) {
  Annotations a;
  SCCELLO_RETURN_IF_ERROR(annotations_.read(reader_, block.first_row, block.num_rows(), &a));
  SCCELLO_RETURN_IF_ERROR(check_.block(reader_, &block, a.ids));
  tok_.tokenize_rows(block.indptr.data(), block.indices.data(), block.data.data(), block.num_rows(), o_.threads,
                     &tokenized_);
  for (int64_t r = 0; r < block.num_rows(); ++r) {
    int64_t row = block.first_row + r;
    auto [it, fresh] = seen_ids_.emplace(std::hash<std::string>()(a.ids[r]), row);
    if (!fresh)
      return Status::invalid("duplicate cell id '" + a.ids[r] + "' at rows " + std::to_string(it->second) + " and " +
                             std::to_string(row) + " of " + path_ + "; cell ids must be unique within a dataset");
    TokenizedCell& t = tokenized_[r];
    cell_.tokens.swap(t.tokens);
    cell_.values.swap(t.values);
    cell_.counts.swap(t.counts);
    cell_.total = t.total;
    cell_.cell_id = a.ids[r];
    cell_.label = a.labels[r];
    cell_.term_id = a.terms[r];
    if (!cell_.term_id.empty() && o_.known_terms && !o_.known_terms->count(cell_.term_id)) cell_.term_id.clear();
    if (cell_.term_id.empty()) ++report->unmapped_labels[cell_.label];
    else ++report->cells_per_term[cell_.term_id];
    cell_.donor = a.donors[r];
    cell_.tissue = a.tissues[r];
    cell_.assay = a.assays[r];
    SCCELLO_RETURN_IF_ERROR(writer_.add(cell_));
  }
  return Status::ok();
}

}  // namespace

const std::vector<std::string>& total_count_columns() {
  static const std::vector<std::string> names = {"n_counts", "total_counts", "nCount_RNA"};
  return names;
}

namespace {

Result<std::unique_ptr<CellMatrixReader>> open_by_kind(const std::string& kind, const std::string& path,
                                                       const CellImportOptions& o) {
  if (kind == "mtx") return open_tenx_mtx(path);
  if (kind == "10x-h5") return open_tenx_h5(path);
  if (kind == "h5ad") return open_h5ad(path, o.h5ad);
  return Status::invalid("unknown input format '" + kind + "'; formats: h5ad, mtx, 10x-h5");
}

}  // namespace

Status check_cell_file(const std::string& path, const CellImportOptions& o) {
  SCCELLO_RETURN_IF_ERROR(check_utf8(path, "cells import", "the file name"));
  const std::string kind = source_kind(path, o.format);
  if (kind != "10x-h5" && kind != "h5ad") return Status::ok();
  auto open = [&] { return open_by_kind(kind, path, o); };
  return check_hdf5_file(path, open, o.hdf5_guard);
}

Result<std::unique_ptr<CellMatrixReader>> open_cell_matrix(const std::string& path, const CellImportOptions& o) {
  SCCELLO_RETURN_IF_ERROR(check_cell_file(path, o));
  return open_by_kind(source_kind(path, o.format), path, o);
}

Result<CellImportReport> import_cells(Store& store, const GeneVocab& vocab, const std::string& path,
                                      const CellImportOptions& o) {
  SCCELLO_RETURN_IF_ERROR(check_utf8(path, "cells import", "the file name"));
  SCCELLO_RETURN_IF_ERROR(check_name(o.dataset, "dataset name"));
  SCCELLO_ASSIGN_OR_RETURN(auto reader, open_cell_matrix(path, o));
  return import_cells(store, vocab, *reader, path, o);
}

Result<CellImportReport> import_cells(Store& store, const GeneVocab& vocab, CellMatrixReader& reader,
                                      const std::string& path, const CellImportOptions& o) {
  SCCELLO_RETURN_IF_ERROR(check_name(o.dataset, "dataset name"));
  Tokenizer tok(vocab, reader.gene_ids(), o.tokenizer);
  CellImportReport report;
  report.genes = tok.report();
  report.matrix = reader.describe();
  if (report.genes.mapped == 0)
    return Status::invalid("'" + path + "': none of its " + std::to_string(report.genes.genes_in_file) +
                           " gene ids maps to the vocabulary (Ensembl ids or known symbols); pick the id column "
                           "with --var-column");
  DatasetWriteOptions wo;
  wo.replace = o.replace;
  wo.batch_bytes = o.write_batch_bytes;
  SCCELLO_ASSIGN_OR_RETURN(auto writer, DatasetWriter::begin(store, o.dataset, wo));
  Importer importer(o, reader, tok, *writer, path);
  Status st = importer.run(&report);
  if (!st.is_ok()) {
    writer.reset();
    Corpus(store).sweep_orphans();  // nothing half-written stays behind
    return st;
  }
  DatasetInfo info;
  info.source_file = path;
  info.num_genes_in_file = report.genes.genes_in_file;
  info.num_genes_mapped = report.genes.mapped;
  info.max_len = o.tokenizer.max_len;
  info.options_json = options_json(o);
  info.report_json = report_json(report);
  SCCELLO_RETURN_IF_ERROR(writer->commit(info));
  for (auto& [label, n] : report.unmapped_labels) report.unmapped_cells += n;
  SCCELLO_ASSIGN_OR_RETURN(report.info, Corpus(store).dataset(o.dataset));
  return report;
}

}  // namespace sccello
