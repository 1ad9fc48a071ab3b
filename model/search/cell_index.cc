#include "model/search/cell_index.h"

#include <cstring>

#include <chrono>
#include <filesystem>
#include <random>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "store/corpus.h"
#include "store/kv_store.h"
#include "store/store.h"

namespace sccello {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kRecordPrefix = "idx/r/";
constexpr const char* kCellsPrefix = "idx/c/";

std::string record_key(const std::string& name) { return kRecordPrefix + name; }
std::string cells_key(const std::string& name, const std::string& dataset) {
  return kCellsPrefix + name + "/" + dataset;
}

Status check_name(const std::string& name) {
  if (name.empty() || name.size() > 128 || name.find_first_of("/\\\t\n\r ") != std::string::npos || name[0] == '.')
    return Status::invalid("index name '" + name + "' must be 1-128 characters without '/', spaces or a leading '.'");
  return Status::ok();
}

json to_json(const IndexInfo& info) {
  json datasets = json::array();
  for (const auto& d : info.datasets)
    datasets.push_back({{"name", d.name}, {"generation", d.generation}, {"cells", d.cells}, {"first_row", d.first_row}});
  const ModelIdentity& m = info.model;
  return {{"name", info.name},
          {"model", {{"id", m.id}, {"checkpoint", m.checkpoint}, {"release", m.release},
                     {"release_hash", m.release_hash}, {"vocab_hash", m.vocab_hash}, {"dims", m.dims}}},
          {"datasets", datasets}, {"metric", info.metric}, {"vector_type", vector_type_name(info.vector_type)},
          {"hnsw", {{"m", info.hnsw.m}, {"ef_construction", info.hnsw.ef_construction},
                    {"ef_search", info.hnsw.ef_search}, {"seed", info.hnsw.seed}}},
          {"rows", info.rows}, {"file", info.file}, {"file_bytes", info.file_bytes}, {"created_at", info.created_at}};
}

Result<IndexInfo> from_json(const std::string& bytes, const std::string& key) {
  json j = json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::corruption("unreadable index record " + key);
  try {
    IndexInfo info;
    info.name = j.at("name").get<std::string>();
    const json& m = j.at("model");
    info.model = {m.at("id"), m.at("checkpoint"), m.at("release"), m.at("release_hash"), m.at("vocab_hash"),
                  m.at("dims")};
    for (const json& d : j.at("datasets"))
      info.datasets.push_back({d.at("name"), d.at("generation"), d.at("cells"), d.at("first_row")});
    info.metric = j.at("metric");
    SCCELLO_ASSIGN_OR_RETURN(info.vector_type, parse_vector_type(j.at("vector_type")));
    const json& h = j.at("hnsw");
    info.hnsw = {h.at("m"), h.at("ef_construction"), h.at("ef_search"), h.at("seed")};
    info.rows = j.at("rows");
    info.file = j.at("file");
    info.file_bytes = j.at("file_bytes");
    info.created_at = j.at("created_at");
    return info;
  } catch (const json::exception& e) {
    return Status::corruption("index record " + key + " is incomplete (" + e.what() + "): drop and rebuild it");
  }
}

std::string clean_field(std::string s) {
  for (char& c : s)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return s;
}

std::string encode_cells(const std::vector<IndexCell>& cells) {
  std::string out;
  for (const auto& c : cells) {
    for (const std::string* f : {&c.cell_id, &c.term_id, &c.label, &c.donor, &c.tissue}) {
      out += clean_field(*f);
      out += '\t';
    }
    out.back() = '\n';
  }
  return out;
}

std::string new_file_name(const std::string& name) {
  std::random_device rd;
  char suffix[17];
  std::snprintf(suffix, sizeof(suffix), "%08x%08x", rd(), rd());
  return name + "-" + suffix + ".hnsw";
}

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// One dataset's rows and metadata, embedded now or read from the EmbeddingStore.
struct DatasetRows {
  IndexedDataset entry;
  std::vector<float> values;
  std::vector<IndexCell> cells;
  bool newly_embedded = false;
};

Status embed_dataset(Store& store, const std::string& name, const ModelIdentity& model, const CellEmbedder& embed,
                     const IndexBuildOptions& options, DatasetRows* out) {
  Corpus corpus(store);
  SCCELLO_ASSIGN_OR_RETURN(DatasetInfo info, corpus.dataset(name));
  SCCELLO_ASSIGN_OR_RETURN(std::string generation, corpus.generation(name));
  out->entry = {name, generation, info.num_cells, 0};
  EmbeddingKey key{model.id, name, generation};
  EmbeddingStore embeddings(store);
  SCCELLO_ASSIGN_OR_RETURN(bool stored, embeddings.contains(key));
  std::vector<std::vector<int32_t>> pending;
  Status failed = Status::ok();
  auto flush = [&] {
    if (pending.empty()) return true;
    auto rows = embed(pending);
    if (!rows) return failed = rows.status(), false;
    if (static_cast<int64_t>(rows->size()) != static_cast<int64_t>(pending.size()) * model.dims)
      return failed = Status::internal("the embedder returned a wrong number of values"), false;
    out->values.insert(out->values.end(), rows->begin(), rows->end());
    pending.clear();
    if (options.progress) options.progress("embedded " + name, static_cast<int64_t>(out->cells.size()), info.num_cells);
    return true;
  };
  SCCELLO_RETURN_IF_ERROR(corpus.for_each(name, [&](int64_t, const CellRecord& c) {
    out->cells.push_back({name, c.cell_id, c.term_id, c.label, c.donor, c.tissue});
    if (stored) return true;
    pending.push_back(c.tokens);
    return static_cast<int64_t>(pending.size()) < options.embed_batch || flush();
  }));
  if (!stored && !flush()) return failed;
  if (stored) {
    int64_t dims = 0;
    SCCELLO_ASSIGN_OR_RETURN(out->values, embeddings.get(key, &dims));
    if (dims != model.dims) return Status::corruption("stored embeddings of " + name + " have " + std::to_string(dims) + " dims");
    if (options.log) options.log("reusing stored embeddings of dataset " + name + " for model " + model.id);
  }
  out->newly_embedded = !stored;
  if (static_cast<int64_t>(out->values.size()) != info.num_cells * model.dims)
    return Status::corruption("embeddings of dataset " + name + " do not match its cell count");
  return Status::ok();
}

Result<std::vector<std::string>> resolve_datasets(Store& store, const std::vector<std::string>& wanted) {
  Corpus corpus(store);
  std::vector<std::string> names = wanted;
  if (names.empty()) {
    SCCELLO_ASSIGN_OR_RETURN(auto all, corpus.datasets());
    for (const auto& d : all) names.push_back(d.name);
    if (names.empty()) return Status::not_found("the store has no corpus datasets: import cells first (sccello cells import)");
  }
  std::set<std::string> seen;
  for (const auto& n : names) {
    if (!seen.insert(n).second) return Status::invalid("dataset '" + n + "' is listed twice");
    SCCELLO_RETURN_IF_ERROR(corpus.dataset(n).status());
  }
  return names;
}

// Removes HNSW files of this store that no index record names (interrupted builds, replaced files).
void sweep_unreferenced_files(const Store& store) {
  auto infos = list_indexes(store);
  if (!infos) return;
  std::set<std::string> live;
  for (const auto& i : *infos) live.insert(i.file);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(index_directory(store), ec)) {
    const std::string file = entry.path().filename().string();
    if (!live.count(file) && (entry.path().extension() == ".hnsw" || entry.path().extension() == ".tmp"))
      fs::remove(entry.path(), ec);
  }
}

Result<IndexInfo> commit_index(Store& store, IndexInfo info, const VectorIndex& vectors,
                               const std::vector<DatasetRows>& parts, VectorType type, bool replace_cells) {
  const std::string dir = index_directory(store);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::io_error("cannot create the index directory " + dir + ": " + ec.message());
  info.file = new_file_name(info.name);
  const std::string path = dir + "/" + info.file;
  SCCELLO_RETURN_IF_ERROR(vectors.save(path));
  info.file_bytes = static_cast<int64_t>(fs::file_size(path, ec));
  info.rows = vectors.size();
  info.created_at = now_seconds();
  WriteBatch batch;
  if (replace_cells) batch.delete_prefix(kCellsPrefix + info.name + "/");
  for (const auto& part : parts) {
    if (part.newly_embedded)
      EmbeddingStore::put({info.model.id, part.entry.name, part.entry.generation}, part.values, info.model.dims, type,
                          &batch);
    batch.put(cells_key(info.name, part.entry.name), encode_cells(part.cells));
  }
  batch.put(record_key(info.name), to_json(info).dump());
  Status written = store.kv().write(batch);
  if (!written.is_ok()) {
    fs::remove(path, ec);
    return written;
  }
  sweep_unreferenced_files(store);
  return info;
}

Status embed_all(Store& store, const std::vector<std::string>& names, const ModelIdentity& model,
                 const CellEmbedder& embed, const IndexBuildOptions& options, int64_t first_row,
                 std::vector<DatasetRows>* parts) {
  for (const auto& name : names) {
    DatasetRows part;
    SCCELLO_RETURN_IF_ERROR(embed_dataset(store, name, model, embed, options, &part));
    part.entry.first_row = first_row;
    first_row += part.entry.cells;
    parts->push_back(std::move(part));
  }
  return Status::ok();
}

Status insert_rows(std::vector<DatasetRows>* parts, int64_t dims, const IndexBuildOptions& options,
                   VectorIndex* vectors) {
  for (auto& part : *parts) {
    std::vector<float> rows = part.values;
    l2_normalize_rows(&rows, dims);
    const int64_t total = part.entry.cells;
    auto progress = [&](int64_t done) {
      if (options.progress) options.progress("indexed " + part.entry.name, done, total);
    };
    SCCELLO_RETURN_IF_ERROR(vectors->add(rows.data(), total, options.threads, progress));
  }
  return Status::ok();
}

}  // namespace

std::string index_directory(const Store& store) {
  return store.backend() == Backend::kSqlite ? store.path() + ".indexes" : store.path() + "/indexes";
}

Result<IndexInfo> index_info(const Store& store, const std::string& name) {
  std::string bytes;
  Status st = store.kv().get(record_key(name), &bytes);
  if (st.is_not_found()) {
    std::string known;
    if (auto all = list_indexes(store))
      for (const auto& i : *all) known += (known.empty() ? "" : ", ") + i.name;
    return Status::not_found("no index named '" + name + "' in " + store.path() +
                             (known.empty() ? " (it has none: sccello index build)" : " (indexes: " + known + ")"));
  }
  SCCELLO_RETURN_IF_ERROR(st);
  return from_json(bytes, record_key(name));
}

Result<std::vector<IndexInfo>> list_indexes(const Store& store) {
  std::vector<IndexInfo> out;
  Status parse = Status::ok();
  SCCELLO_RETURN_IF_ERROR(store.kv().scan(kRecordPrefix, [&](std::string_view k, std::string_view v) {
    auto info = from_json(std::string(v), std::string(k));
    if (!info) return parse = info.status(), false;
    out.push_back(std::move(*info));
    return true;
  }));
  SCCELLO_RETURN_IF_ERROR(parse);
  return out;
}

Result<IndexInfo> build_index(Store& store, const ModelIdentity& model, const CellEmbedder& embed,
                              const IndexBuildOptions& options) {
  SCCELLO_RETURN_IF_ERROR(check_name(options.name));
  auto existing = index_info(store, options.name);
  if (existing.is_ok() && !options.replace)
    return Status::invalid("an index named '" + options.name + "' exists: pass --replace to rebuild it, or "
                           "'sccello index add " + options.name + " --datasets ...' to extend it");
  SCCELLO_ASSIGN_OR_RETURN(std::vector<std::string> names, resolve_datasets(store, options.datasets));
  std::vector<DatasetRows> parts;
  SCCELLO_RETURN_IF_ERROR(embed_all(store, names, model, embed, options, 0, &parts));
  VectorIndex vectors(model.dims, options.hnsw);
  SCCELLO_RETURN_IF_ERROR(insert_rows(&parts, model.dims, options, &vectors));
  IndexInfo info;
  info.name = options.name;
  info.model = model;
  info.vector_type = options.vector_type;
  info.hnsw = options.hnsw;
  for (const auto& p : parts) info.datasets.push_back(p.entry);
  return commit_index(store, std::move(info), vectors, parts, options.vector_type, existing.is_ok());
}

Result<IndexInfo> add_to_index(Store& store, const std::string& name, const ModelIdentity& model,
                               const CellEmbedder& embed, const IndexBuildOptions& options) {
  SCCELLO_ASSIGN_OR_RETURN(IndexInfo info, index_info(store, name));
  if (info.model.id != model.id)
    return Status::invalid("index '" + name + "' was built with model " + info.model.id + " (" +
                           info.model.checkpoint + "), not " + model.id + " (" + model.checkpoint +
                           "): pass that checkpoint, or build a new index");
  if (options.datasets.empty()) return Status::invalid("index add needs --datasets");
  for (const auto& d : info.datasets)
    for (const auto& n : options.datasets)
      if (d.name == n) return Status::invalid("dataset '" + n + "' is already in index '" + name + "'");
  SCCELLO_ASSIGN_OR_RETURN(std::vector<std::string> names, resolve_datasets(store, options.datasets));
  SCCELLO_ASSIGN_OR_RETURN(VectorIndex vectors, VectorIndex::load(index_directory(store) + "/" + info.file,
                                                                  info.model.dims, info.hnsw, info.rows));
  std::vector<DatasetRows> parts;
  SCCELLO_RETURN_IF_ERROR(embed_all(store, names, model, embed, options, info.rows, &parts));
  SCCELLO_RETURN_IF_ERROR(insert_rows(&parts, model.dims, options, &vectors));
  for (const auto& p : parts) info.datasets.push_back(p.entry);
  const VectorType type = info.vector_type;
  return commit_index(store, std::move(info), vectors, parts, type, false);
}

Status drop_index(Store& store, const std::string& name) {
  SCCELLO_ASSIGN_OR_RETURN(IndexInfo info, index_info(store, name));
  WriteBatch batch;
  batch.del(record_key(name));
  batch.delete_prefix(kCellsPrefix + name + "/");
  SCCELLO_RETURN_IF_ERROR(store.kv().write(batch));
  // Embeddings are kept while another index of the same model uses them.
  auto rest = list_indexes(store);
  bool shared = false;
  if (rest)
    for (const auto& i : *rest) shared = shared || i.model.id == info.model.id;
  if (!shared) SCCELLO_RETURN_IF_ERROR(EmbeddingStore(store).drop_model(info.model.id));
  sweep_unreferenced_files(store);
  return Status::ok();
}

Result<std::unique_ptr<CellIndex>> CellIndex::open(const Store& store, const std::string& name) {
  SCCELLO_ASSIGN_OR_RETURN(IndexInfo info, index_info(store, name));
  SCCELLO_ASSIGN_OR_RETURN(VectorIndex vectors, VectorIndex::load(index_directory(store) + "/" + info.file,
                                                                  info.model.dims, info.hnsw, info.rows));
  std::unique_ptr<CellIndex> index(new CellIndex(store, std::move(info), std::move(vectors)));
  SCCELLO_RETURN_IF_ERROR(index->load_cells());
  return index;
}

uint32_t IndexCells::code_of(std::string_view term) {
  // A corpus holds tens of distinct terms: a scan of string_views beats hashing a string per row.
  if (terms_.size() <= 64) {
    for (size_t i = 0; i < terms_.size(); ++i)
      if (terms_[i] == term) return static_cast<uint32_t>(i);
  }
  auto [it, added] = term_codes_.emplace(std::string(term), static_cast<uint32_t>(terms_.size()));
  if (added) terms_.push_back(it->first);
  return it->second;
}

void IndexCells::add_dataset(const std::string& name, std::string lines) {
  Part p{name, std::make_unique<std::string>(std::move(lines)), size()};
  const std::string& text = *p.lines;
  const char* base = text.data();
  for (size_t pos = 0; pos < text.size();) {
    const char* nl = static_cast<const char*>(std::memchr(base + pos, '\n', text.size() - pos));
    const size_t end = nl ? static_cast<size_t>(nl - base) : text.size();
    // The term is the second field.
    std::string_view line(base + pos, end - pos);
    std::string_view term;
    if (const size_t t1 = line.find('\t'); t1 != std::string_view::npos) {
      term = line.substr(t1 + 1);
      term = term.substr(0, term.find('\t'));
    }
    line_start_.push_back(pos);
    term_code_.push_back(code_of(term));
    pos = end + 1;
  }
  parts_.push_back(std::move(p));
}

const IndexCells::Part& IndexCells::part(int64_t row) const {
  size_t i = parts_.size() - 1;
  while (i > 0 && parts_[i].first_row > row) --i;
  return parts_[i];
}

std::string_view IndexCells::field(int64_t row, int index) const {
  const std::string& text = *part(row).lines;
  const size_t start = line_start_[static_cast<size_t>(row)];
  const size_t nl = text.find('\n', start);
  std::string_view line(text.data() + start, (nl == std::string::npos ? text.size() : nl) - start);
  for (int f = 0; f < index; ++f) {
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos) return {};
    line.remove_prefix(tab + 1);
  }
  return line.substr(0, line.find('\t'));
}

IndexCell IndexCells::operator[](int64_t row) const {
  IndexCell c;
  c.dataset = dataset(row);
  c.cell_id = std::string(field(row, 0));
  c.term_id = term(row);
  c.label = std::string(field(row, 2));
  c.donor = std::string(field(row, 3));
  c.tissue = std::string(field(row, 4));
  return c;
}

Status CellIndex::load_cells() {
  for (const auto& d : info_.datasets) {
    std::string bytes;
    Status st = store_->kv().get(cells_key(info_.name, d.name), &bytes);
    if (!st.is_ok()) return Status::corruption("index '" + info_.name + "' lacks its cell list of dataset " + d.name + ": rebuild it");
    cells_.add_dataset(d.name, std::move(bytes));
  }
  if (cells_.size() != info_.rows)
    return Status::corruption("index '" + info_.name + "' lists " + std::to_string(cells_.size()) + " cells for " +
                              std::to_string(info_.rows) + " rows: rebuild it");
  return Status::ok();
}

Result<int64_t> CellIndex::row_of(const std::string& dataset, const std::string& cell_id) const {
  for (const auto& d : info_.datasets) {
    if (d.name != dataset) continue;
    for (int64_t r = d.first_row; r < d.first_row + d.cells; ++r)
      if (cells_.cell_id(r) == cell_id) return r;
    return Status::not_found("no cell '" + cell_id + "' in dataset " + dataset + " of index " + info_.name);
  }
  return Status::not_found("dataset '" + dataset + "' is not in index " + info_.name);
}

Result<const std::vector<float>*> CellIndex::matrix() const {
  if (matrix_loaded_) return &matrix_;
  EmbeddingStore embeddings(const_cast<Store&>(*store_));
  std::vector<float> all;
  all.reserve(static_cast<size_t>(info_.rows * info_.model.dims));
  for (const auto& d : info_.datasets) {
    int64_t dims = 0;
    SCCELLO_ASSIGN_OR_RETURN(std::vector<float> rows, embeddings.get({info_.model.id, d.name, d.generation}, &dims));
    all.insert(all.end(), rows.begin(), rows.end());
  }
  l2_normalize_rows(&all, info_.model.dims);
  matrix_ = std::move(all);
  matrix_loaded_ = true;
  return &matrix_;
}

}  // namespace sccello
