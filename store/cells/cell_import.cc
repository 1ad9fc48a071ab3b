#include "store/cells/cell_import.h"

#include <algorithm>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <array>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <memory>
#include <thread>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "store/safe_text.h"
#include "store/store.h"
#include "store/formats/tenx_reader.h"
#include "store/text_lines.h"

namespace sccello {
namespace {

// "CL:" and seven digits (std::regex_match of that pattern was 1% of a large import).
bool is_cl_id(const std::string& s) {
  if (s.size() != 10 || s.compare(0, 3, "CL:") != 0) return false;
  return std::all_of(s.begin() + 3, s.end(), [](char c) { return c >= '0' && c <= '9'; });
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
  // --assume-normalized: turns a block's log1p(CP10k) values back into counts (in place).
  Status recover_counts(CellMatrixReader& reader, RowBlock* b, const std::vector<std::string>& ids);
  // Raw counts are checked per row range on the worker threads (first_non_count); the error
  // for the entry found.
  bool checks_raw_counts() const { return !o_.assume_normalized; }
  Status not_counts(const RowBlock& b, int64_t entry, const std::vector<std::string>& ids) const;
  int64_t imprecise = 0;  // recovered counts more than 0.1 from an integer

 private:
  const CellImportOptions& o_;
  std::string source_, total_col_;
};

// Whether some of v[0, n) is not an integer in [0, 2^31): vectorised with SSE2 where there is
// one (the conversion gives INT32_MIN for NaN and out-of-range values, so one compare catches
// those and negatives, another fractions), else plain C++.
bool any_non_count(const float* v, int64_t n) {
  int64_t i = 0;
#if defined(__SSE2__)
  __m128i bad = _mm_setzero_si128();
  for (; i + 4 <= n; i += 4) {
    __m128 x = _mm_loadu_ps(v + i);
    __m128i t = _mm_cvttps_epi32(x);
    bad = _mm_or_si128(bad, _mm_cmplt_epi32(t, _mm_setzero_si128()));
    bad = _mm_or_si128(bad, _mm_castps_si128(_mm_cmpneq_ps(_mm_cvtepi32_ps(t), x)));
  }
  if (_mm_movemask_epi8(bad) != 0) return true;
#endif
  for (; i < n; ++i)
    if (!(v[i] >= 0.0f && v[i] < 2147483648.0f && static_cast<float>(static_cast<int32_t>(v[i])) == v[i])) return true;
  return false;
}

// The first entry of rows [begin, end) that is not a non-negative integer, or -1.
int64_t first_non_count(const RowBlock& b, int64_t begin, int64_t end) {
  const float* v = b.data.data();
  for (int64_t i = b.indptr[begin], stop = b.indptr[end]; i < stop; i += 1024) {
    int64_t e = std::min(stop, i + 1024);  // a vectorised pass over 1,024 entries, then the exact test
    if (!any_non_count(v + i, e - i)) continue;
    for (int64_t j = i; j < e; ++j)
      if (!(v[j] == std::floor(v[j]) && v[j] >= 0)) return j;
  }
  return -1;
}

Status CountCheck::not_counts(const RowBlock& b, int64_t entry, const std::vector<std::string>& ids) const {
  int64_t r = std::upper_bound(b.indptr.begin(), b.indptr.end(), entry) - b.indptr.begin() - 1;
  return Status::invalid(source_ + " holds non-integer or negative values (" + std::to_string(b.data[entry]) +
                         " in cell '" + ids[r] + "'), not raw counts: point sccello at raw counts (raw/X when "
                         "present, or a counts layer with --layer counts), or pass --assume-normalized for "
                         "log1p(CP10k) input with per-cell totals (n_counts, total_counts or nCount_RNA)");
}

Status CountCheck::recover_counts(CellMatrixReader& reader, RowBlock* b, const std::vector<std::string>& ids) {
  if (!o_.assume_normalized) return Status::ok();
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

// A thread that keeps what it throws for the thread that joins it (an exception leaving a
// thread ends the process; an import's bad_alloc must reach the caller, as it does when one
// thread does everything), and is joined when it goes out of scope, also while an exception
// unwinds. Not movable: the thread refers to it.
class Task {
 public:
  template <class Fn>
  explicit Task(Fn fn)
      : thread_([this, fn] {
          try {
            fn();
          } catch (...) {
            thrown_ = std::current_exception();
          }
        }) {}
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (thread_.joinable()) thread_.join();
  }
  // Waits for the thread; throws what it threw.
  void join() {
    if (thread_.joinable()) thread_.join();
    if (thrown_) std::rethrow_exception(std::exchange(thrown_, nullptr));
  }

 private:
  std::exception_ptr thrown_;  // before thread_: it exists when the thread starts
  std::thread thread_;
};

// The import proper. start() checks the annotation columns and, with overlap_io, starts reading
// the first block; run() takes the tokenizer and the writer. Per block: read the block and its
// annotations; check cell ids on the calling thread; split the rows over the tokenizer threads
// (count check, tokenizing, encoding each cell record into the range's buffer); hand the records
// to the writer in row order, so the store is the same whatever the thread count. With
// overlap_io, reading the next block and writing the previous one overlap the encoding.
class Importer {
 public:
  Importer(const CellImportOptions& o, CellMatrixReader& reader, std::string path)
      : o_(o), reader_(reader), path_(std::move(path)), check_(o, reader.describe()) {}
  // Checks the annotation columns; with overlap_io, starts reading the first block on a thread of
  // its own, so that it is read while the caller builds the tokenizer (the gene mapping, ~4 ms
  // for pbmc3k's 32,738 symbols) and opens the writer. The reader is then this object's alone.
  Status start();
  Status run(const Tokenizer& tok, DatasetWriter& out, CellImportReport* report);

 private:
  // What one worker made of its row range.
  struct RangeOutput {
    std::string records;            // the range's encoded cell records, back to back
    std::vector<size_t> ends;       // end offset of each row's record in `records`
    std::vector<int64_t> lengths;   // tokens per row
    int64_t bad_entry = -1;         // first entry that is not a count (raw counts only)
  };
  // A block read from the file with its annotations (counts recovered under --assume-normalized),
  // then its encoded records: (first row, output) per worker range.
  struct Fetched {
    RowBlock block;
    Annotations annotations;
    Status status;
    bool have = false;
    std::vector<std::pair<int64_t, RangeOutput>> ranges;
  };
  void fetch(Fetched* f);
  Status encode_block(Fetched* f, CellImportReport* report);
  Status write_block(const Fetched& f);
  Status finish(const Status& read_status, CellImportReport* report);
  Status check_ids_and_terms(int64_t first_row, Annotations* a, CellImportReport* report);
  void encode_range(const RowBlock& block, const Annotations& a, int64_t begin, int64_t end, RangeOutput* out) const;
  const CellImportOptions& o_;
  CellMatrixReader& reader_;
  const Tokenizer* tok_ = nullptr;
  DatasetWriter* writer_ = nullptr;
  std::string path_;
  CountCheck check_;
  AnnotationSource annotations_;
  std::unordered_map<uint64_t, int64_t> seen_ids_;
  std::array<Fetched, 3> buf_;  // the blocks in flight (run()); buf_[0] the first, read by start()
  std::unique_ptr<Task> first_read_;  // after buf_: joined before it goes
};

// Reads the next block and its annotations (the only calls into the reader).
void Importer::fetch(Fetched* f) {
  f->have = reader_.next_block(o_.block_rows, &f->block);
  f->status = reader_.status();
  if (!f->have || !f->status.is_ok()) return;
  f->status = annotations_.read(reader_, f->block.first_row, f->block.num_rows(), &f->annotations);
  if (f->status.is_ok()) f->status = check_.recover_counts(reader_, &f->block, f->annotations.ids);
}

Status Importer::start() {
  SCCELLO_RETURN_IF_ERROR(annotations_.init(reader_, o_, path_));
  SCCELLO_RETURN_IF_ERROR(check_.init(reader_));
  seen_ids_.reserve(static_cast<size_t>(std::max<int64_t>(0, reader_.num_cells())));
  if (o_.overlap_io) first_read_ = std::make_unique<Task>([this] { fetch(&buf_[0]); });
  return Status::ok();
}

Status Importer::run(const Tokenizer& tok, DatasetWriter& out, CellImportReport* report) {
  tok_ = &tok;
  writer_ = &out;
  if (!o_.overlap_io) {  // one thread: read, encode and write each block in turn
    Fetched& f = buf_[0];
    for (fetch(&f); f.have && f.status.is_ok(); fetch(&f)) {
      SCCELLO_RETURN_IF_ERROR(encode_block(&f, report));
      SCCELLO_RETURN_IF_ERROR(write_block(f));
      if (o_.progress) o_.progress(f.block.first_row + f.block.num_rows(), reader_.num_cells());
    }
    return finish(f.status, report);
  }
  // Block i is encoded (by o_.threads tokenizer threads) while block i + 1 is read and block
  // i - 1 is written, each on a thread of its own (reading and writing are serial; alone they
  // left a core idle, and inflating pbmc3k's chunks was a fifth of its import). Three buffers
  // rotate through the three roles.
  std::array<Fetched, 3>& buf = buf_;
  int encoding = 0, reading = 1, writing = 2;
  Status written;
  std::unique_ptr<Task> writer;  // after `written`: joined before it goes
  auto join_writer = [&] {
    if (writer) writer->join();
    writer.reset();
    return written;
  };
  if (first_read_) first_read_->join();  // buf[encoding], read by start()
  while (buf[encoding].have && buf[encoding].status.is_ok()) {
    Task prefetch([&, r = reading] { fetch(&buf[r]); });
    Status st = encode_block(&buf[encoding], report);
    Status earlier = join_writer();  // the previous block's error comes first
    if (!earlier.is_ok() || !st.is_ok()) {
      prefetch.join();
      return earlier.is_ok() ? st : earlier;
    }
    writer = std::make_unique<Task>([&, w = encoding] { written = write_block(buf[w]); });
    prefetch.join();
    const Fetched& done = buf[encoding];
    if (o_.progress) o_.progress(done.block.first_row + done.block.num_rows(), reader_.num_cells());
    int free = writing;  // its writer has been joined
    writing = encoding;
    encoding = reading;
    reading = free;
  }
  SCCELLO_RETURN_IF_ERROR(join_writer());
  return finish(buf[encoding].status, report);
}

Status Importer::finish(const Status& read_status, CellImportReport* report) {
  SCCELLO_RETURN_IF_ERROR(read_status);
  if (check_.imprecise > 0)
    report->warnings.push_back(std::to_string(check_.imprecise) + " recovered counts were more than 0.1 from an "
                               "integer: the totals may not match the normalisation");
  return Status::ok();
}

// Unique cell ids; terms the store's release does not know are dropped; the report's counts.
Status Importer::check_ids_and_terms(int64_t first_row, Annotations* a, CellImportReport* report) {
  for (size_t r = 0; r < a->ids.size(); ++r) {
    int64_t row = first_row + static_cast<int64_t>(r);
    auto [it, fresh] = seen_ids_.emplace(std::hash<std::string>()(a->ids[r]), row);
    if (!fresh)
      return Status::invalid("duplicate cell id '" + a->ids[r] + "' at rows " + std::to_string(it->second) + " and " +
                             std::to_string(row) + " of " + path_ + "; cell ids must be unique within a dataset");
    std::string& term = a->terms[r];
    if (!term.empty() && o_.known_terms && !o_.known_terms->count(term)) term.clear();
    if (term.empty()) ++report->unmapped_labels[a->labels[r]];
    else ++report->cells_per_term[term];
  }
  return Status::ok();
}

void Importer::encode_range(const RowBlock& block, const Annotations& a, int64_t begin, int64_t end,
                            RangeOutput* out) const {
  out->records.clear();
  out->ends.clear();
  out->lengths.clear();
  out->bad_entry = check_.checks_raw_counts() ? first_non_count(block, begin, end) : -1;
  if (out->bad_entry >= 0) return;
  out->records.reserve(static_cast<size_t>(block.indptr[end] - block.indptr[begin]) * 3 + (end - begin) * 96);
  TokenizeScratch scratch;
  TokenizedCell t;
  CellRecord cell;
  for (int64_t r = begin; r < end; ++r) {
    int64_t at = block.indptr[r];
    tok_->tokenize(block.indices.data() + at, block.data.data() + at, block.indptr[r + 1] - at, &scratch, &t);
    cell.tokens.swap(t.tokens);
    cell.values.swap(t.values);
    cell.counts.swap(t.counts);
    cell.total = t.total;
    cell.values_from_counts = t.values_from_counts;
    cell.cell_id = a.ids[r];
    cell.label = a.labels[r];
    cell.term_id = a.terms[r];
    cell.donor = a.donors[r];
    cell.tissue = a.tissues[r];
    cell.assay = a.assays[r];
    encode_cell_record(cell, &out->records);
    out->ends.push_back(out->records.size());
    out->lengths.push_back(static_cast<int64_t>(cell.tokens.size()));
  }
}

// Cell-id checks, then the rows split over the worker threads; the first entry that is not a
// count (raw counts) is the block's error.
Status Importer::encode_block(Fetched* f, CellImportReport* report) {
  const RowBlock& block = f->block;
  Annotations& a = f->annotations;
  SCCELLO_RETURN_IF_ERROR(check_ids_and_terms(block.first_row, &a, report));
  f->ranges.resize(row_range_limit(o_.threads));
  for (auto& [first, out] : f->ranges) first = -1;
  for_row_ranges(block.indptr.data(), block.num_rows(), o_.threads, [&](int range, int64_t begin, int64_t end) {
    f->ranges[range].first = begin;
    encode_range(block, a, begin, end, &f->ranges[range].second);
  });
  for (auto& [first, out] : f->ranges)
    if (first >= 0 && out.bad_entry >= 0) return check_.not_counts(block, out.bad_entry, a.ids);
  return Status::ok();
}

// The block's records to the writer, in row order.
Status Importer::write_block(const Fetched& f) {
  const Annotations& a = f.annotations;
  for (const auto& [first, out] : f.ranges) {
    if (first < 0) continue;
    size_t start = 0;
    for (size_t i = 0; i < out.ends.size(); ++i) {
      size_t r = static_cast<size_t>(first) + i;
      std::string_view record(out.records.data() + start, out.ends[i] - start);
      SCCELLO_RETURN_IF_ERROR(writer_->add_encoded(record, a.ids[r], a.terms[r], a.labels[r], out.lengths[i]));
      start = out.ends[i];
    }
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

Result<Hdf5Check> start_cell_file_check(const std::string& path, const CellImportOptions& o) {
  SCCELLO_RETURN_IF_ERROR(check_utf8(path, "cells import", "the file name"));
  const std::string kind = source_kind(path, o.format);
  if (kind != "10x-h5" && kind != "h5ad") return Hdf5Check();
  auto open = [&] { return open_by_kind(kind, path, o); };
  auto note = [](CellMatrixReader& reader) {
    for (const std::string& id : reader.gene_ids())
      if (!id.empty() && !looks_like_ensembl(id)) return std::string(kGeneIdsNeedSymbols);
    return std::string();
  };
  return start_hdf5_check(path, open, o.hdf5_guard, note);
}

Status check_cell_file(const std::string& path, const CellImportOptions& o) {
  SCCELLO_ASSIGN_OR_RETURN(Hdf5Check check, start_cell_file_check(path, o));
  return check.wait();
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
  TokenizerOptions tokenizer = o.tokenizer;
  tokenizer.values = false;  // the records keep counts where the values follow from them
  CellImportReport report;
  report.matrix = reader.describe();
  const std::vector<std::string>& gene_ids = reader.gene_ids();  // read at open: no reader call
  Importer importer(o, reader, path);
  SCCELLO_RETURN_IF_ERROR(importer.start());  // from here the reader is the importer's
  Tokenizer tok(vocab, gene_ids, tokenizer);
  report.genes = tok.report();
  if (report.genes.mapped == 0)
    return Status::invalid("'" + path + "': none of its " + std::to_string(report.genes.genes_in_file) +
                           " gene ids maps to the vocabulary (Ensembl ids or known symbols); pick the id column "
                           "with --var-column");
  DatasetWriteOptions wo;
  wo.replace = o.replace;
  wo.batch_bytes = o.write_batch_bytes;
  SCCELLO_ASSIGN_OR_RETURN(auto writer, DatasetWriter::begin(store, o.dataset, wo));
  Status st = importer.run(tok, *writer, &report);
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
