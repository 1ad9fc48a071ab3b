// POST /v1/search and POST /v1/annotate. Input: a JSON body (a corpus cell, a term, or a list of
// embeddings) or an uploaded .h5ad (Content-Type application/x-hdf5; options in the query
// string), embedded with the index's checkpoint by the embedder sccello-model supplies.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "model/annotate/annotation.h"
#include "model/search/query_json.h"
#include "model/serve/service_state.h"
#include "store/corpus.h"

namespace sccello {
namespace {

// Options of one search/annotate request, read from the JSON body or the query string alike.
class Args {
 public:
  Args(const ServiceRequest& r, const Json* body) : r_(r), body_(body) {}

  bool has(const std::string& key) const { return body_ ? body_->contains(key) : param(r_, key).has_value(); }

  Result<std::string> text(const std::string& key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    if (!body_) return *param(r_, key);
    const Json& v = (*body_)[key];
    if (!v.is_string()) return Status::invalid("field '" + key + "' must be a string");
    return v.get<std::string>();
  }

  Result<int64_t> integer(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) const {
    if (!body_) return int_param(r_, key, fallback, lo, hi);
    if (!has(key)) return fallback;
    const Json& v = (*body_)[key];
    if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi || (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(hi)))
      return Status::invalid("field '" + key + "' must be an integer from " + std::to_string(lo) + " to " +
                             std::to_string(hi));
    return v.get<int64_t>();
  }

  Result<double> number(const std::string& key, double fallback, double lo, double hi) const {
    if (!has(key)) return fallback;
    double v = 0;
    if (body_) {
      const Json& j = (*body_)[key];
      if (!j.is_number()) return Status::invalid("field '" + key + "' must be a number");
      v = j.get<double>();
    } else {
      const std::string t = *param(r_, key);
      char* end = nullptr;
      v = std::strtod(t.c_str(), &end);
      if (t.empty() || *end != '\0') return Status::invalid("parameter '" + key + "' must be a number");
    }
    if (!(v >= lo && v <= hi))
      return Status::invalid("'" + key + "' must lie in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return v;
  }

  Result<bool> flag(const std::string& key, bool fallback) const {
    if (!body_) return bool_param(r_, key, fallback);
    if (!has(key)) return fallback;
    if (!(*body_)[key].is_boolean()) return Status::invalid("field '" + key + "' must be true or false");
    return (*body_)[key].get<bool>();
  }

  Result<std::vector<std::string>> list(const std::string& key, size_t max_items) const {
    std::vector<std::string> out;
    if (!body_) {
      out = list_param(r_, key);
    } else if (has(key)) {
      const Json& v = (*body_)[key];
      if (v.is_string()) {
        out.push_back(v.get<std::string>());
      } else if (v.is_array()) {
        for (const Json& item : v) {
          if (!item.is_string()) return Status::invalid("field '" + key + "' must be a list of strings");
          out.push_back(item.get<std::string>());
        }
      } else {
        return Status::invalid("field '" + key + "' must be a string or a list of strings");
      }
    }
    if (out.size() > max_items)
      return Status::invalid("field '" + key + "' holds more than " + std::to_string(max_items) + " items");
    for (const std::string& s : out) SCCELLO_RETURN_IF_ERROR(valid_name(s, "each of '" + key + "'"));
    return out;
  }

 private:
  const ServiceRequest& r_;
  const Json* body_;
};

struct Query {
  const ServedIndex* index = nullptr;
  QueryOptions options;
};

Result<std::vector<TermId>> term_list(const Args& a, const std::string& key, int64_t max) {
  SCCELLO_ASSIGN_OR_RETURN(std::vector<std::string> raw, a.list(key, static_cast<size_t>(max)));
  std::vector<TermId> ids;
  for (const std::string& t : raw) {
    SCCELLO_ASSIGN_OR_RETURN(std::string id, valid_term_id(t, "each of '" + key + "'"));
    ids.push_back(id);
  }
  return ids;
}

Result<Query> read_query(const ServiceState& s, const Args& a) {
  Query q;
  SCCELLO_ASSIGN_OR_RETURN(std::string name, a.text("index", s.indexes.size() == 1 ? s.indexes.begin()->first : ""));
  auto it = s.indexes.find(name);
  if (it == s.indexes.end()) {
    std::string known;
    for (const auto& [n, i] : s.indexes) known += (known.empty() ? "" : ", ") + n;
    return Status::not_found("no index '" + name.substr(0, 64) + "' is served (indexes: " +
                             (known.empty() ? "none; build one with `sccello index build`" : known) + ")");
  }
  q.index = &it->second;
  const int64_t max = s.options->max_terms;
  SCCELLO_ASSIGN_OR_RETURN(q.options.k, a.integer("k", 20, 1, s.options->max_k));
  SCCELLO_ASSIGN_OR_RETURN(q.options.exact, a.flag("exact", false));
  SCCELLO_ASSIGN_OR_RETURN(q.options.ef, a.integer("ef", 0, 0, 10 * s.options->max_k));
  SCCELLO_ASSIGN_OR_RETURN(q.options.exclude_self, a.flag("exclude_self", false));
  SCCELLO_ASSIGN_OR_RETURN(q.options.filters.under, term_list(a, "under", max));
  SCCELLO_ASSIGN_OR_RETURN(q.options.filters.not_under, term_list(a, "not_under", max));
  SCCELLO_ASSIGN_OR_RETURN(q.options.filters.datasets, a.list("datasets", static_cast<size_t>(max)));
  SCCELLO_ASSIGN_OR_RETURN(q.options.filters.donors, a.list("donors", static_cast<size_t>(max)));
  SCCELLO_ASSIGN_OR_RETURN(q.options.filters.tissues, a.list("tissues", static_cast<size_t>(max)));
  return q;
}

// Query cells given as embeddings (JSON) or as an uploaded file (embedded here).
struct QueryCells {
  std::vector<float> rows;  // n x dims
  std::vector<std::string> names;
  std::vector<TermId> terms;
  std::string gene_mapping;
};

Result<QueryCells> json_cells(const ServiceState& s, const Json& body, const Args& a, int64_t dims) {
  const Json& e = body["embeddings"];
  if (!e.is_array() || e.empty()) return Status::invalid("field 'embeddings' must be a non-empty list of vectors");
  if (static_cast<int64_t>(e.size()) > s.options->max_cells)
    return Status::invalid("at most " + std::to_string(s.options->max_cells) + " cells per request, not " +
                           std::to_string(e.size()));
  QueryCells c;
  c.rows.reserve(e.size() * static_cast<size_t>(dims));
  for (size_t i = 0; i < e.size(); ++i) {
    const Json& row = e[i];
    if (!row.is_array() || static_cast<int64_t>(row.size()) != dims)
      return Status::invalid("embeddings[" + std::to_string(i) + "] must be a list of " + std::to_string(dims) +
                             " numbers (the index's dimensions)");
    for (const Json& v : row) {
      if (!v.is_number() || !std::isfinite(v.get<double>()))
        return Status::invalid("embeddings[" + std::to_string(i) + "] holds a value that is not a finite number");
      c.rows.push_back(v.get<float>());
    }
    c.names.push_back("cell" + std::to_string(i));
  }
  SCCELLO_ASSIGN_OR_RETURN(std::vector<std::string> names, a.list("names", e.size()));
  if (!names.empty() && names.size() != e.size()) return Status::invalid("field 'names' must name every embedding");
  if (!names.empty()) c.names = names;
  SCCELLO_ASSIGN_OR_RETURN(std::vector<TermId> terms, term_list(a, "terms", static_cast<int64_t>(e.size())));
  if (!terms.empty() && terms.size() != e.size()) return Status::invalid("field 'terms' must give a term per embedding");
  c.terms = terms.empty() ? std::vector<TermId>(e.size()) : terms;
  return c;
}

// Writes the upload to a private temporary file, removed when this goes out of scope.
class UploadFile {
 public:
  static Result<std::unique_ptr<UploadFile>> write(const std::string& dir, const std::string& bytes) {
    std::string pattern = (dir.empty() ? std::filesystem::temp_directory_path().string() : dir) + "/sccello-upload-XXXXXX.h5ad";
    int fd = mkstemps(pattern.data(), 5);
    if (fd < 0) return Status::io_error("cannot create a temporary file for the upload in " + pattern);
    std::unique_ptr<UploadFile> f(new UploadFile(pattern));
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) {
        ::close(fd);
        return Status::io_error("cannot write the upload to " + pattern + " (disk full?)");
      }
      done += static_cast<size_t>(n);
    }
    ::close(fd);
    return f;
  }
  ~UploadFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  explicit UploadFile(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

bool is_hdf5(const std::string& body) { return body.size() >= 8 && body.compare(0, 8, "\x89HDF\r\n\x1a\n") == 0; }

Result<QueryCells> uploaded_cells(const ServiceState& s, const ServiceRequest& r, const ServedIndex& index) {
  if (!s.options->embed_new_cells)
    return Status::unsupported("this server cannot embed uploads (run `sccello serve` from a build with LibTorch); "
                               "send embeddings as JSON instead");
  if (!is_hdf5(r.body)) return Status::invalid("the upload is not an HDF5 (.h5ad) file");
  SCCELLO_ASSIGN_OR_RETURN(std::unique_ptr<UploadFile> file, UploadFile::write(s.options->upload_dir, r.body));
  NewCellsRequest request;
  request.checkpoint = index.index->info().model.checkpoint;
  request.file = file->path();
  request.import.h5ad.layer = param(r, "layer").value_or("");
  request.import.h5ad.var_column = param(r, "var_column").value_or("");
  auto cells = s.options->embed_new_cells(request, s.options->threads);
  // Whatever fails in reading an uploaded file is the file's fault: 400 with the reader's words.
  if (!cells)
    return cells.status().is_not_found() ? cells.status().with_context("upload")
                                         : Status::invalid("upload: " + cells.status().message());
  if (cells->model_id != index.index->info().model.id)
    return Status::internal("the index's checkpoint " + request.checkpoint + " is now model " + cells->model_id +
                            ", not the model the index was built with; rebuild the index");
  if (static_cast<int64_t>(cells->ids.size()) > s.options->max_cells)
    return Status::invalid("the upload holds " + std::to_string(cells->ids.size()) + " cells; at most " +
                           std::to_string(s.options->max_cells) + " per request");
  QueryCells c;
  c.rows = std::move(cells->embeddings);
  c.names = std::move(cells->ids);
  c.terms = std::move(cells->predicted);
  c.gene_mapping = cells->gene_mapping;
  return c;
}

Result<QueryCells> query_cells(const ServiceState& s, const ServiceRequest& r, const Json* body, const Args& a,
                               const ServedIndex& index) {
  if (body) return json_cells(s, *body, a, index.index->info().model.dims);
  return uploaded_cells(s, r, index);
}

// A cell given by id, or by its position in the dataset (what the web page's picker sends).
Result<std::string> corpus_cell_id(const ServiceState& s, const std::string& dataset, const std::string& cell) {
  const bool digits = !cell.empty() && cell.size() < 12 && cell.find_first_not_of("0123456789") == std::string::npos;
  if (!digits) return cell;
  Corpus corpus(*s.store);
  SCCELLO_ASSIGN_OR_RETURN(int64_t position, corpus.find_cell(dataset, cell));
  SCCELLO_ASSIGN_OR_RETURN(std::vector<CellSummary> rows, corpus.summaries(dataset));
  return rows[static_cast<size_t>(position)].cell_id;
}

bool is_json(const ServiceRequest& r) { return r.content_type.rfind("application/json", 0) == 0; }

Result<Json> parse_body(const ServiceRequest& r) {
  Json body = Json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return Status::invalid("the request body is not valid JSON");
  if (!body.is_object()) return Status::invalid("the request body must be a JSON object");
  return body;
}

Json results_json(const std::vector<QueryResult>& results, const std::string& gene_mapping) {
  Json all = Json::array();
  for (const QueryResult& q : results) all.push_back(query_result_json(q));
  Json out = {{"results", all}};
  if (!gene_mapping.empty()) out["gene_mapping"] = gene_mapping;
  return out;
}

Json annotation_json(const std::string& cell, const CellAnnotation& a) {
  Json hits = Json::parse(a.hits_json, nullptr, false);
  return {{"cell", cell}, {"term_id", a.term_id}, {"term_name", a.term_name}, {"score", a.score},
          {"fine_term_id", a.fine_term_id}, {"fine_term_name", a.fine_term_name}, {"fine_share", a.fine_share},
          {"margin", a.margin}, {"hits", hits.is_discarded() ? Json::object() : hits},
          {"novel_term_id", a.novel_term_id}, {"novel_term_name", a.novel_term_name},
          {"novel_score", a.novel_score}, {"seen_score", a.seen_score}, {"is_novel", a.is_novel}};
}

}  // namespace

ApiResult handle_search(const ServiceState& s, const ServiceRequest& r) {
  std::optional<Json> body;
  if (is_json(r)) {
    SCCELLO_ASSIGN_OR_RETURN(Json parsed, parse_body(r));
    body = std::move(parsed);
  }
  Args a(r, body ? &*body : nullptr);
  SCCELLO_ASSIGN_OR_RETURN(Query q, read_query(s, a));
  const CellSearch& search = *q.index->search;
  for (const auto& t : q.options.filters.under) SCCELLO_RETURN_IF_ERROR(search.check_term(t, "under"));
  for (const auto& t : q.options.filters.not_under) SCCELLO_RETURN_IF_ERROR(search.check_term(t, "not_under"));
  if (body && body->contains("cell")) {
    SCCELLO_ASSIGN_OR_RETURN(std::string cell, a.text("cell", ""));
    SCCELLO_RETURN_IF_ERROR(valid_name(cell, "field 'cell'"));
    const size_t slash = cell.find('/');
    if (slash == std::string::npos) return Status::invalid("field 'cell' must be DATASET/CELL_ID");
    SCCELLO_ASSIGN_OR_RETURN(std::string cell_id, corpus_cell_id(s, cell.substr(0, slash), cell.substr(slash + 1)));
    SCCELLO_ASSIGN_OR_RETURN(QueryResult res, search.by_cell(cell.substr(0, slash), cell_id, q.options));
    return results_json({res}, "");
  }
  if (body && body->contains("term")) {
    SCCELLO_ASSIGN_OR_RETURN(std::string raw, a.text("term", ""));
    SCCELLO_ASSIGN_OR_RETURN(std::string term, valid_term_id(raw, "field 'term'"));
    SCCELLO_ASSIGN_OR_RETURN(bool descendants, a.flag("descendants", false));
    SCCELLO_ASSIGN_OR_RETURN(QueryResult res, search.by_term(term, descendants, q.options));
    return results_json({res}, "");
  }
  if (body && !body->contains("embeddings"))
    return Status::invalid("give one of 'cell' (DATASET/CELL_ID), 'term' (CL id) or 'embeddings' (a list of vectors), "
                           "or POST an .h5ad file as application/x-hdf5");
  SCCELLO_ASSIGN_OR_RETURN(QueryCells cells, query_cells(s, r, body ? &*body : nullptr, a, *q.index));
  SCCELLO_ASSIGN_OR_RETURN(std::vector<QueryResult> res, search.by_vectors(cells.rows, cells.terms, cells.names, q.options));
  return results_json(res, cells.gene_mapping);
}

ApiResult handle_annotate(const ServiceState& s, const ServiceRequest& r) {
  std::optional<Json> body;
  if (is_json(r)) {
    SCCELLO_ASSIGN_OR_RETURN(Json parsed, parse_body(r));
    body = std::move(parsed);
    if (!body->contains("embeddings"))
      return Status::invalid("give 'embeddings' (a list of vectors), or POST an .h5ad file as application/x-hdf5");
  }
  Args a(r, body ? &*body : nullptr);
  SCCELLO_ASSIGN_OR_RETURN(Query q, read_query(s, a));
  AnnotateOptions o;
  SCCELLO_ASSIGN_OR_RETURN(o.k, a.integer("k", 30, 1, s.options->max_k));
  SCCELLO_ASSIGN_OR_RETURN(o.min_support, a.number("min_support", 0.5, 0.0, 1.0));
  SCCELLO_ASSIGN_OR_RETURN(o.novel, a.flag("novel", true));
  SCCELLO_ASSIGN_OR_RETURN(o.novel_threshold, a.number("novel_threshold", 0.5, 0.0, 1.0));
  o.exact = q.options.exact;
  o.filters = q.options.filters;
  o.threads = s.options->threads;
  SCCELLO_ASSIGN_OR_RETURN(QueryCells cells, query_cells(s, r, body ? &*body : nullptr, a, *q.index));
  std::vector<CellAnnotation> calls;
  {
    std::lock_guard<std::mutex> lock(s.annotate_mu);
    SCCELLO_ASSIGN_OR_RETURN(calls, annotate_cells(*q.index->search, cells.rows, {}, o));
  }
  Json out = Json::array();
  for (size_t i = 0; i < calls.size(); ++i) out.push_back(annotation_json(cells.names[i], calls[i]));
  Json result = {{"index", q.index->index->info().name}, {"release", q.index->search->release_name()}, {"cells", out}};
  if (!cells.gene_mapping.empty()) result["gene_mapping"] = cells.gene_mapping;
  return result;
}

}  // namespace sccello
