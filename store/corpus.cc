// Corpus layout under `ds/` (see docs/STORE.md):
//   ds/m/<name>                manifest (JSON DatasetInfo + "generation"); written last = visible
//   ds/p/<gen>                 pending marker of an import in progress (removed by its commit)
//   ds/c/<gen>/<index:8B BE>   one cell: u8 format (2), u8 value encoding, 6 strings, varint n, then
//                              counts: varint total, n x u16 (token<<1 | count==1), varint other counts
//                              or fixed16: n x u16 token, n x u16 round(value*4096)
//   ds/x/<gen>/<chunk:4B BE>   index of 16,384 cells: varint length + cell id, term, label
#include "store/corpus.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>

#include <nlohmann/json.hpp>

#include "store/kv_store.h"
#include "store/safe_text.h"
#include "store/store.h"

namespace sccello {
namespace {

constexpr int64_t kIndexChunk = 16384;

std::string be(uint64_t v, int bytes) {
  std::string out(bytes, '\0');
  for (int i = bytes - 1; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}

std::string manifest_key(const std::string& name) { return "ds/m/" + name; }
std::string cell_prefix(const std::string& gen) { return "ds/c/" + gen + "/"; }
std::string cell_key(const std::string& gen, int64_t i) { return cell_prefix(gen) + be(i, 8); }
std::string index_prefix(const std::string& gen) { return "ds/x/" + gen + "/"; }

void put_varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void put_string(std::string* out, const std::string& s) {
  put_varint(out, s.size());
  out->append(s);
}

// Reads from a byte view; any overrun marks it bad instead of reading past the end.
struct Reader {
  const char* p;
  const char* end;
  bool bad = false;
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= end) { bad = true; return 0; }
      uint8_t b = static_cast<uint8_t>(*p++);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    bad = true;
    return 0;
  }
  std::string str() {
    uint64_t n = varint();
    if (bad || static_cast<uint64_t>(end - p) < n) { bad = true; return ""; }
    std::string s(p, n);
    p += n;
    return s;
  }
};

// Value encodings of a format-2 cell record (the byte after the format byte).
constexpr uint8_t kValuesAsCounts = 1;   // varint total; n x u16 (token << 1 | count == 1); varint other counts
constexpr uint8_t kValuesFixed16 = 2;    // n x u16 token; n x u16 round(value * kValueScale)
constexpr double kTargetSum = 10000.0;   // the normalisation the counts encoding reproduces

// log1p(count * 10000 / total) as the tokenizer computes it, cached for counts below 64.
class ValueOfCount {
 public:
  explicit ValueOfCount(double total) : total_(total) {}
  float operator()(uint32_t count) {
    if (count >= 64) return compute(count);
    if (!(known_ >> count & 1)) {
      cache_[count] = compute(count);
      known_ |= uint64_t{1} << count;
    }
    return cache_[count];
  }

 private:
  float compute(uint32_t count) const {
    return static_cast<float>(std::log1p(static_cast<double>(count) * kTargetSum / total_));
  }
  double total_;
  uint64_t known_ = 0;
  float cache_[64];
};

// True when the counts reproduce the values bit for bit and the tokens fit 15 bits.
bool counts_encodable(const CellRecord& c) {
  size_t n = c.tokens.size();
  if (c.counts.size() != n || (c.values.size() != n && !c.values_from_counts)) return false;
  if (!(c.total >= 1) || c.total != std::floor(c.total) || c.total > 9007199254740992.0) return false;
  uint32_t outside = 0;  // tokens outside [0, 32768): branch-free, so the compiler vectorises it
  for (size_t i = 0; i < n; ++i) outside |= static_cast<uint32_t>(c.tokens[i]) >> 15;
  if (outside != 0) return false;
  if (c.values_from_counts) return true;  // the identity holds by construction
  ValueOfCount value(c.total);
  for (size_t i = 0; i < n; ++i) {
    float want = c.values[i], got = value(c.counts[i]);
    if (std::memcmp(&want, &got, sizeof want) != 0) return false;
  }
  return true;
}

void put_counts(std::string* out, const CellRecord& c) {
  const size_t n = c.tokens.size();
  const int32_t* __restrict tokens = c.tokens.data();
  const uint32_t* __restrict counts = c.counts.data();
  put_varint(out, static_cast<uint64_t>(c.total));
  // Sized first, then written through a pointer; the loops are branch-free on `count == 1`,
  // which is a coin flip per token (a branch there mispredicted every other token).
  size_t varint_bytes = 0, multibyte = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t v = counts[i];
    varint_bytes += (v != 1) + (v >= (1u << 7)) + (v >= (1u << 14)) + (v >= (1u << 21)) + (v >= (1u << 28));
    multibyte += v >= (1u << 7);
  }
  size_t at = out->size();
  out->resize(at + 2 * n + varint_bytes + 1);  // + 1: the loops below may store one byte past the end
  char* __restrict tok = &(*out)[at];  // u16 in host order (little-endian hosts: x86, arm64); unaligned
  for (size_t i = 0; i < n; ++i) {
    uint16_t t = static_cast<uint16_t>(static_cast<uint32_t>(tokens[i]) << 1 | (counts[i] == 1));
    std::memcpy(tok + 2 * i, &t, 2);
  }
  char* p = tok + 2 * n;
  if (multibyte == 0) {  // nearly every cell: every count one byte, kept only when it is not 1
    for (size_t i = 0; i < n; ++i) {
      *p = static_cast<char>(counts[i]);
      p += counts[i] != 1;
    }
  } else {
    for (size_t i = 0; i < n; ++i) {
      uint32_t v = counts[i];
      if (v < 0x80) {
        *p = static_cast<char>(v);
        p += v != 1;
        continue;
      }
      while (v >= 0x80) {
        *p++ = static_cast<char>((v & 0x7f) | 0x80);
        v >>= 7;
      }
      *p++ = static_cast<char>(v);
    }
  }
  out->pop_back();
}

void put_fixed16(std::string* out, const CellRecord& c) {
  size_t n = c.tokens.size();
  size_t at = out->size();
  out->resize(at + 4 * n);
  char* tok = &(*out)[at];  // n u16 tokens then n u16 values, unaligned
  char* val = tok + 2 * n;
  for (size_t i = 0; i < n; ++i) {
    uint16_t t = static_cast<uint16_t>(c.tokens[i]);
    float q = std::nearbyint(std::max(0.0f, c.values[i]) * kValueScale);
    uint16_t v = static_cast<uint16_t>(std::min(q, 65535.0f));
    std::memcpy(tok + 2 * i, &t, 2);
    std::memcpy(val + 2 * i, &v, 2);
  }
}

bool get_counts(Reader& r, uint64_t n, CellRecord* c) {
  c->total = static_cast<double>(r.varint());
  if (r.bad || c->total < 1 || static_cast<uint64_t>(r.end - r.p) < 2 * n) return false;
  const char* packed = r.p;
  r.p += 2 * n;
  c->tokens.resize(n);
  c->values.resize(n);
  c->counts.resize(n);
  ValueOfCount value(c->total);
  for (uint64_t i = 0; i < n; ++i) {
    uint16_t t;
    std::memcpy(&t, packed + 2 * i, 2);
    uint32_t count = (t & 1) ? 1 : static_cast<uint32_t>(r.varint());
    c->tokens[i] = t >> 1;
    c->counts[i] = count;
    c->values[i] = value(count);
  }
  return !r.bad && r.p == r.end;
}

bool get_fixed16(Reader& r, uint64_t n, CellRecord* c) {
  if (static_cast<uint64_t>(r.end - r.p) != 4 * n) return false;
  c->tokens.resize(n);
  c->values.resize(n);
  c->counts.clear();
  c->total = 0;
  uint16_t tmp[2];
  for (uint64_t i = 0; i < n; ++i) {
    std::memcpy(&tmp[0], r.p + 2 * i, 2);
    std::memcpy(&tmp[1], r.p + 2 * (n + i), 2);
    c->tokens[i] = tmp[0];
    c->values[i] = tmp[1] / kValueScale;
  }
  return true;
}

Status decode_cell(std::string_view v, CellRecord* c, const std::string& key) {
  uint8_t format = v.empty() ? 0 : static_cast<uint8_t>(v[0]);
  if (format != kCellRecordFormat)
    return Status::corruption("cell record " + key + " is in record format " + std::to_string(format) +
                              "; this sccello reads format " + std::to_string(kCellRecordFormat) +
                              ": re-import the dataset (sccello cells import FILE --dataset NAME --replace)");
  Reader r{v.data() + 1, v.data() + v.size()};
  uint8_t kind = r.p < r.end ? static_cast<uint8_t>(*r.p++) : 0;
  for (std::string* s : {&c->cell_id, &c->term_id, &c->label, &c->donor, &c->tissue, &c->assay}) *s = r.str();
  uint64_t n = r.varint();
  bool ok = !r.bad && n <= static_cast<uint64_t>(r.end - r.p);
  if (ok && kind == kValuesAsCounts) ok = get_counts(r, n, c);
  else if (ok && kind == kValuesFixed16) ok = get_fixed16(r, n, c);
  else if (ok) return Status::corruption("cell record " + key + ": unknown value encoding " + std::to_string(kind));
  if (!ok) return Status::corruption("cell record " + key + ": truncated or malformed");
  return Status::ok();
}

nlohmann::json info_to_json(const DatasetInfo& d, const std::string& gen) {
  return {{"name", d.name}, {"source_file", d.source_file}, {"num_cells", d.num_cells},
          {"num_genes_in_file", d.num_genes_in_file}, {"num_genes_mapped", d.num_genes_mapped},
          {"num_unmapped_cells", d.num_unmapped_cells}, {"num_tokens", d.num_tokens}, {"max_len", d.max_len},
          {"imported_at", d.imported_at}, {"options", d.options_json}, {"longest_cell", d.longest_cell},
          {"report", d.report_json}, {"generation", gen}};
}

// Throws nlohmann::json::exception on a field of the wrong type.
Result<DatasetInfo> info_from_json_or_throw(std::string_view text, std::string* gen) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::corruption("dataset manifest is not valid JSON");
  DatasetInfo d;
  d.name = j.value("name", "");
  d.source_file = j.value("source_file", "");
  d.num_cells = j.value("num_cells", int64_t{0});
  d.num_genes_in_file = j.value("num_genes_in_file", int64_t{0});
  d.num_genes_mapped = j.value("num_genes_mapped", int64_t{0});
  d.num_unmapped_cells = j.value("num_unmapped_cells", int64_t{0});
  d.num_tokens = j.value("num_tokens", int64_t{0});
  d.max_len = j.value("max_len", int64_t{0});
  d.imported_at = j.value("imported_at", int64_t{0});
  d.options_json = j.value("options", "");
  d.longest_cell = j.value("longest_cell", int64_t{0});
  d.report_json = j.value("report", "");
  if (gen) *gen = j.value("generation", "");
  return d;
}

Result<DatasetInfo> info_from_json(std::string_view text, std::string* gen) {
  try {
    return info_from_json_or_throw(text, gen);
  } catch (const nlohmann::json::exception& e) {
    return Status::corruption(std::string("dataset manifest is malformed (") + e.what() + "); delete and re-import it");
  }
}

std::string new_generation() {
  std::random_device rd;
  uint64_t t = std::chrono::system_clock::now().time_since_epoch().count();
  uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%08llx", static_cast<unsigned long long>(t),
                static_cast<unsigned long long>(r & 0xffffffffULL));
  return buf;
}

}  // namespace

// ---- Corpus (reads) ----

Result<std::vector<DatasetInfo>> Corpus::datasets() const {
  std::vector<DatasetInfo> out;
  Status err;
  SCCELLO_RETURN_IF_ERROR(store_->kv().scan("ds/m/", [&](std::string_view key, std::string_view value) {
    auto info = info_from_json(value, nullptr);
    if (!info) {
      err = info.status().with_context(std::string(key));
      return false;
    }
    out.push_back(std::move(info).value());
    return true;
  }));
  SCCELLO_RETURN_IF_ERROR(err);
  return out;
}

Result<DatasetInfo> Corpus::dataset(const std::string& name) const {
  std::string value;
  Status st = store_->kv().get(manifest_key(name), &value);
  if (st.is_not_found()) {
    std::string list;
    auto all = datasets();
    if (all)
      for (auto& d : *all) list += (list.empty() ? "" : ", ") + d.name;
    return Status::not_found("no dataset '" + name + "' in the store; datasets: " + (list.empty() ? "(none)" : list));
  }
  SCCELLO_RETURN_IF_ERROR(st);
  std::string gen;
  SCCELLO_ASSIGN_OR_RETURN(DatasetInfo info, info_from_json(value, &gen));
  std::lock_guard<std::mutex> lock(mu_);
  generation_[name] = gen;
  return info;
}

Result<std::string> Corpus::generation(const std::string& dataset_name) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = generation_.find(dataset_name);
    if (it != generation_.end()) return it->second;
  }
  SCCELLO_RETURN_IF_ERROR(dataset(dataset_name).status().is_ok() ? Status::ok() : dataset(dataset_name).status());
  std::lock_guard<std::mutex> lock(mu_);
  return generation_[dataset_name];
}

void Corpus::forget(const std::string& dataset_name) const {
  std::lock_guard<std::mutex> lock(mu_);
  generation_.erase(dataset_name);
}

Result<int64_t> Corpus::find_cell(const std::string& dataset, const std::string& cell) const {
  SCCELLO_ASSIGN_OR_RETURN(std::vector<CellSummary> rows, summaries(dataset));
  for (size_t i = 0; i < rows.size(); ++i)
    if (rows[i].cell_id == cell) return static_cast<int64_t>(i);
  char* end = nullptr;
  long long i = std::strtoll(cell.c_str(), &end, 10);
  if (!cell.empty() && *end == '\0' && i >= 0 && i < static_cast<long long>(rows.size())) return i;
  return Status::not_found("dataset '" + dataset + "' has no cell '" + cell + "' (give a cell id or a position 0.." +
                           std::to_string(rows.size() == 0 ? 0 : rows.size() - 1) + ")");
}

Result<CellRecord> Corpus::cell(const std::string& dataset_name, int64_t index) const {
  SCCELLO_ASSIGN_OR_RETURN(std::string gen, generation(dataset_name));
  std::string key = cell_key(gen, index), value;
  Status st = store_->kv().get(key, &value);
  if (st.is_not_found())
    return Status::not_found("dataset '" + dataset_name + "' has no cell " + std::to_string(index));
  SCCELLO_RETURN_IF_ERROR(st);
  CellRecord c;
  c.dataset = dataset_name;
  SCCELLO_RETURN_IF_ERROR(decode_cell(value, &c, "ds/c/" + gen + "#" + std::to_string(index)));
  return c;
}

Status Corpus::for_each(const std::string& dataset_name, const std::function<bool(int64_t, const CellRecord&)>& fn,
                        int64_t start) const {
  SCCELLO_ASSIGN_OR_RETURN(std::string gen, generation(dataset_name));
  int64_t index = start;
  Status err;
  CellRecord c;
  c.dataset = dataset_name;
  std::string prefix = cell_prefix(gen);
  SCCELLO_RETURN_IF_ERROR(store_->kv().scan(prefix, [&](std::string_view key, std::string_view value) {
    err = decode_cell(value, &c, std::string(key));
    if (!err.is_ok()) return false;
    return fn(index++, c);
  }, cell_key(gen, start)));
  return err;
}

Result<std::vector<CellSummary>> Corpus::summaries(const std::string& dataset_name) const {
  SCCELLO_ASSIGN_OR_RETURN(std::string gen, generation(dataset_name));
  std::vector<CellSummary> out;
  bool bad = false;
  SCCELLO_RETURN_IF_ERROR(store_->kv().scan(index_prefix(gen), [&](std::string_view, std::string_view value) {
    Reader r{value.data(), value.data() + value.size()};
    while (r.p < r.end && !r.bad) {
      CellSummary s;
      s.length = static_cast<int32_t>(r.varint());
      s.cell_id = r.str();
      s.term_id = r.str();
      s.label = r.str();
      out.push_back(std::move(s));
    }
    bad = r.bad;
    return !bad;
  }));
  if (bad) return Status::corruption("dataset '" + dataset_name + "': index record truncated");
  return out;
}

Result<std::vector<int32_t>> Corpus::lengths(const std::string& dataset_name) const {
  SCCELLO_ASSIGN_OR_RETURN(std::vector<CellSummary> s, summaries(dataset_name));
  std::vector<int32_t> out(s.size());
  for (size_t i = 0; i < s.size(); ++i) out[i] = s[i].length;
  return out;
}

Result<std::vector<std::string>> Corpus::term_ids(const std::string& dataset_name) const {
  SCCELLO_ASSIGN_OR_RETURN(std::vector<CellSummary> s, summaries(dataset_name));
  std::vector<std::string> out(s.size());
  for (size_t i = 0; i < s.size(); ++i) out[i] = std::move(s[i].term_id);
  return out;
}

Result<int64_t> Corpus::stored_bytes(const std::string& dataset_name) const {
  SCCELLO_ASSIGN_OR_RETURN(std::string gen, generation(dataset_name));
  int64_t bytes = 0;
  SCCELLO_RETURN_IF_ERROR(store_->kv().scan(cell_prefix(gen), [&](std::string_view k, std::string_view v) {
    bytes += static_cast<int64_t>(k.size() + v.size());
    return true;
  }));
  return bytes;
}

Status Corpus::delete_dataset(const std::string& name) {
  SCCELLO_ASSIGN_OR_RETURN(DatasetInfo info, dataset(name));
  SCCELLO_ASSIGN_OR_RETURN(std::string gen, generation(name));
  WriteBatch batch;
  batch.del(manifest_key(info.name));
  batch.delete_prefix(cell_prefix(gen));
  batch.delete_prefix(index_prefix(gen));
  forget(name);
  return store_->kv().write(batch);
}

Result<int64_t> Corpus::sweep_orphans() {
  std::vector<std::string> live, pending;
  SCCELLO_RETURN_IF_ERROR(store_->kv().scan("ds/m/", [&](std::string_view, std::string_view v) {
    std::string gen;
    if (info_from_json(v, &gen)) live.push_back(gen);
    return true;
  }));
  SCCELLO_RETURN_IF_ERROR(store_->kv().scan("ds/p/", [&](std::string_view k, std::string_view) {
    pending.emplace_back(k.substr(5));
    return true;
  }));
  int64_t swept = 0;
  for (const std::string& gen : pending) {
    WriteBatch batch;
    batch.del("ds/p/" + gen);
    if (std::find(live.begin(), live.end(), gen) == live.end()) {
      batch.delete_prefix(cell_prefix(gen));
      batch.delete_prefix(index_prefix(gen));
      ++swept;
    }
    SCCELLO_RETURN_IF_ERROR(store_->kv().write(batch));
  }
  return swept;
}

// ---- DatasetWriter ----

DatasetWriter::~DatasetWriter() = default;

void encode_cell_record(const CellRecord& c, std::string* out) {
  size_t n = c.tokens.size();
  bool counts = counts_encodable(c);
  out->reserve(out->size() + 64 + c.cell_id.size() + c.label.size() + (counts ? 3 : 4) * n);
  out->push_back(static_cast<char>(kCellRecordFormat));
  out->push_back(static_cast<char>(counts ? kValuesAsCounts : kValuesFixed16));
  for (const std::string* s : {&c.cell_id, &c.term_id, &c.label, &c.donor, &c.tissue, &c.assay}) put_string(out, *s);
  put_varint(out, n);
  if (counts) {
    put_counts(out, c);
  } else if (c.values.size() != n) {  // values left to the counts (values_from_counts), yet not storable as counts
    CellRecord with_values = c;
    with_values.values.resize(n);
    ValueOfCount value(c.total);
    for (size_t i = 0; i < n && i < c.counts.size(); ++i) with_values.values[i] = value(c.counts[i]);
    put_fixed16(out, with_values);
  } else {
    put_fixed16(out, c);
  }
}

Result<std::unique_ptr<DatasetWriter>> DatasetWriter::begin(Store& store, const std::string& name,
                                                            const DatasetWriteOptions& options) {
  SCCELLO_RETURN_IF_ERROR(check_name(name, "dataset name"));
  if (store.read_only()) return Status::invalid("store '" + store.path() + "' is open read-only");
  Corpus corpus(store);
  SCCELLO_RETURN_IF_ERROR(corpus.sweep_orphans().status().is_ok() ? Status::ok() : corpus.sweep_orphans().status());
  std::string existing;
  if (store.kv().get(manifest_key(name), &existing).is_ok() && !options.replace)
    return Status::invalid("dataset '" + name + "' already exists; delete it first or pass --replace");
  std::string gen = new_generation();
  SCCELLO_RETURN_IF_ERROR(store.kv().put("ds/p/" + gen, name));
  std::unique_ptr<DatasetWriter> w(new DatasetWriter(store, name, gen, options));
  SCCELLO_ASSIGN_OR_RETURN(w->cells_, store.kv().sorted_loader(options.batch_bytes, /*compress=*/false));
  SCCELLO_ASSIGN_OR_RETURN(w->index_, store.kv().sorted_loader(options.batch_bytes));
  return w;
}

void DatasetWriter::add_to_index(const std::string& cell_id, const std::string& term_id, const std::string& label,
                                 int64_t num_tokens) {
  put_varint(&index_chunk_, static_cast<uint64_t>(num_tokens));
  put_string(&index_chunk_, cell_id);
  put_string(&index_chunk_, term_id);
  put_string(&index_chunk_, label);
}

void DatasetWriter::close_index_chunk() {
  if (index_chunk_.empty()) return;
  int64_t chunk = (num_cells_ - 1) / kIndexChunk;
  Status st = index_->add(index_prefix(generation_) + be(chunk, 4), index_chunk_);
  if (index_status_.is_ok()) index_status_ = st;
  index_chunk_.clear();
}

Status DatasetWriter::add(const CellRecord& cell) {
  std::string record;
  encode_cell_record(cell, &record);
  return add_encoded(record, cell.cell_id, cell.term_id, cell.label, static_cast<int64_t>(cell.tokens.size()));
}

Status DatasetWriter::add_encoded(std::string_view record, const std::string& cell_id, const std::string& term_id,
                                  const std::string& label, int64_t num_tokens) {
  SCCELLO_RETURN_IF_ERROR(cells_->add(cell_key(generation_, num_cells_), record));
  add_to_index(cell_id, term_id, label, num_tokens);
  ++num_cells_;
  num_tokens_ += num_tokens;
  max_len_ = std::max(max_len_, num_tokens);
  if (term_id.empty()) ++unmapped_;
  if (num_cells_ % kIndexChunk == 0) close_index_chunk();
  return index_status_;
}

Status DatasetWriter::commit(DatasetInfo info) {
  close_index_chunk();
  SCCELLO_RETURN_IF_ERROR(index_status_);
  // The records become durable (and visible, unreferenced) before the manifest refers to them.
  SCCELLO_RETURN_IF_ERROR(cells_->finish());
  SCCELLO_RETURN_IF_ERROR(index_->finish());
  std::string old_value, old_gen;
  bool replacing = store_->kv().get(manifest_key(name_), &old_value).is_ok();
  if (replacing) info_from_json(old_value, &old_gen);
  info.name = name_;
  info.num_cells = num_cells_;
  info.num_tokens = num_tokens_;
  info.longest_cell = max_len_;
  info.num_unmapped_cells = unmapped_;
  if (info.imported_at == 0)
    info.imported_at = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
  WriteBatch batch;
  batch.put(manifest_key(name_), json_dump(info_to_json(info, generation_)));
  batch.del("ds/p/" + generation_);
  if (replacing && !old_gen.empty() && old_gen != generation_) {
    batch.delete_prefix(cell_prefix(old_gen));
    batch.delete_prefix(index_prefix(old_gen));
  }
  return store_->kv().write(batch);
}

}  // namespace sccello
