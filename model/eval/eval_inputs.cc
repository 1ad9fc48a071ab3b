#include "model/eval/eval_inputs.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "store/formats/hdf5_util.h"

namespace sccello::eval {
namespace {

using h5::Handle;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_h5ad(const std::string& path) { return ends_with(path, ".h5ad") || ends_with(path, ".h5"); }

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, '\t')) out.push_back(field);
  if (!line.empty() && line.back() == '\t') out.emplace_back();
  if (!out.empty() && !out.back().empty() && out.back().back() == '\r') out.back().pop_back();
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s.empty() ? "(none)" : s;
}

Result<Handle> open_h5(const std::string& path) {
  h5::silence_errors();
  if (H5Fis_hdf5(path.c_str()) <= 0) return Status::not_found("cannot open '" + path + "': not an HDF5 (.h5ad) file");
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file.valid()) return Status::corruption("'" + path + "': HDF5 open failed (corrupt or truncated?)");
  return file;
}

std::string format_number(double v, bool integer) {
  if (std::isnan(v)) return "";
  char buf[40];
  std::snprintf(buf, sizeof buf, integer ? "%.0f" : "%.17g", v);
  return buf;
}

// Every value of a 1-D dataset as text (strings, numbers, booleans).
Status read_text(hid_t file, const std::string& path, std::vector<std::string>* out, const std::string& what) {
  Handle d(H5Dopen2(file, path.c_str(), H5P_DEFAULT));
  if (!d.valid()) return Status::corruption(what + ": cannot open " + path);
  const int64_t n = h5::length(d.get());
  if (h5::is_string_type(d.get())) return h5::read_strings(d.get(), 0, n, out, what);
  std::vector<double> nums;
  SCCELLO_RETURN_IF_ERROR(h5::read_doubles(d.get(), 0, n, &nums, what));
  const bool boolean = h5::is_bool_enum(d.get()), integer = h5::is_integer_like(d.get());
  out->resize(n);
  for (int64_t i = 0; i < n; ++i) (*out)[i] = boolean ? (nums[i] != 0 ? "True" : "False") : format_number(nums[i], integer);
  return Status::ok();
}

Status read_categorical(hid_t file, const std::string& cats, const std::string& codes_path,
                        std::vector<std::string>* out, const std::string& what) {
  std::vector<std::string> categories;
  SCCELLO_RETURN_IF_ERROR(read_text(file, cats, &categories, what));
  Handle d(H5Dopen2(file, codes_path.c_str(), H5P_DEFAULT));
  if (!d.valid()) return Status::corruption(what + ": no codes");
  std::vector<int64_t> codes;
  SCCELLO_RETURN_IF_ERROR(h5::read_int64(d.get(), 0, h5::length(d.get()), &codes, what));
  out->resize(codes.size());
  for (size_t i = 0; i < codes.size(); ++i) {
    if (codes[i] >= static_cast<int64_t>(categories.size())) return Status::corruption(what + ": code out of range");
    (*out)[i] = codes[i] < 0 ? "" : categories[codes[i]];
  }
  return Status::ok();
}

std::string obs_index_name(hid_t file) {
  Handle g = h5::open_object(file, "obs");
  std::string name = g.valid() ? h5::string_attr(g.get(), "_index") : "";
  for (const std::string& n : {name, std::string("_index"), std::string("index")})
    if (!n.empty() && h5::exists(file, "obs/" + n) && !h5::is_group(file, "obs/" + n)) return n;
  return "";
}

// One obs column (or the index when `column` is the index name) of an .h5ad, every row.
Status read_h5ad_obs(hid_t file, const std::string& file_name, const std::string& column, std::vector<std::string>* out) {
  const std::string p = "obs/" + column, what = file_name + ":" + p;
  if (column.empty() || !h5::exists(file, p)) {
    std::vector<std::string> cols;
    if (h5::exists(file, "obs"))
      for (auto& c : h5::member_names(h5::open_object(file, "obs").get()))
        if (c != "__categories" && c != obs_index_name(file)) cols.push_back(c);
    return Status::not_found("column '" + column + "' not found in " + file_name + " obs; columns there are: " + join(cols) +
                             " (choose one with --label-column / --batch-column)");
  }
  if (h5::is_group(file, p)) return read_categorical(file, p + "/categories", p + "/codes", out, what);
  if (h5::exists(file, "obs/__categories/" + column))
    return read_categorical(file, "obs/__categories/" + column, p, out, what);
  return read_text(file, p, out, what);
}

Result<Embeddings> read_h5ad_embeddings(const std::string& path, const std::string& key) {
  SCCELLO_ASSIGN_OR_RETURN(Handle file, open_h5(path));
  const std::string name = key.empty() ? "X_sccello" : key, p = "obsm/" + name;
  if (!h5::exists(file.get(), p) || h5::is_group(file.get(), p)) {
    std::vector<std::string> keys;
    if (h5::exists(file.get(), "obsm")) keys = h5::member_names(h5::open_object(file.get(), "obsm").get());
    return Status::not_found("'" + path + "' has no dense obsm/" + name + "; obsm entries there are: " + join(keys) +
                             " (choose one with --key)");
  }
  Handle d(H5Dopen2(file.get(), p.c_str(), H5P_DEFAULT));
  auto shape = d.valid() ? h5::shape(d.get()) : std::vector<int64_t>{};
  if (shape.size() != 2) return Status::corruption("'" + path + "':" + p + " is not a 2-D matrix");
  Embeddings e;
  e.dims = shape[1];
  SCCELLO_RETURN_IF_ERROR(h5::read_rows_2d(d.get(), 0, shape[0], shape[1], &e.values, path + ":" + p));
  const std::string index = obs_index_name(file.get());
  if (index.empty()) return Status::invalid("'" + path + "': obs has no index (cell ids)");
  SCCELLO_RETURN_IF_ERROR(read_h5ad_obs(file.get(), path, index, &e.cell_ids));
  if (e.num_cells() != shape[0])
    return Status::corruption("'" + path + "': obs has " + std::to_string(e.num_cells()) + " cells but " + p + " has " +
                              std::to_string(shape[0]) + " rows");
  return e;
}

struct TsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

Result<TsvTable> read_tsv(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::not_found("cannot read '" + path + "': no such file");
  TsvTable t;
  std::string line;
  if (!std::getline(in, line)) return Status::invalid("'" + path + "' is empty: expected a header row (cell_id<TAB>...)");
  t.header = split_tabs(line);
  for (int64_t no = 2; std::getline(in, line); ++no) {
    if (line.empty()) continue;
    t.rows.push_back(split_tabs(line));
    if (t.rows.back().size() != t.header.size())
      return Status::invalid(path + ":" + std::to_string(no) + ": " + std::to_string(t.rows.back().size()) +
                             " fields, the header has " + std::to_string(t.header.size()));
  }
  return t;
}

bool parses_as_number(const std::string& s) {
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return !s.empty() && end && *end == '\0';
}

std::vector<size_t> value_columns(const TsvTable& t) {
  std::vector<size_t> cols;
  for (size_t c = 1; c < t.header.size(); ++c)
    if (t.header[c].rfind("dim", 0) == 0) cols.push_back(c);
  if (!cols.empty() || t.rows.empty()) return cols;
  for (size_t c = 1; c < t.header.size(); ++c)
    if (parses_as_number(t.rows[0][c])) cols.push_back(c);
  return cols;
}

Result<Embeddings> read_tsv_embeddings(const std::string& path) {
  SCCELLO_ASSIGN_OR_RETURN(TsvTable t, read_tsv(path));
  const std::vector<size_t> cols = value_columns(t);
  if (cols.empty()) return Status::invalid("'" + path + "' has no embedding columns (dim0, dim1, ... or numbers)");
  Embeddings e;
  e.dims = static_cast<int64_t>(cols.size());
  e.values.reserve(t.rows.size() * cols.size());
  for (size_t r = 0; r < t.rows.size(); ++r) {
    e.cell_ids.push_back(t.rows[r][0]);
    for (size_t c : cols) {
      char* end = nullptr;
      const float v = std::strtof(t.rows[r][c].c_str(), &end);
      if (t.rows[r][c].empty() || *end != '\0')
        return Status::invalid(path + ":" + std::to_string(r + 2) + ": column " + t.header[c] + " is not a number: '" +
                               t.rows[r][c] + "'");
      e.values.push_back(v);
    }
  }
  return e;
}

// Reorders `values` (in file order, with `ids`) to `wanted`.
Result<std::vector<std::string>> align(const std::vector<std::string>& ids, std::vector<std::string> values,
                                       const std::vector<std::string>& wanted, const std::string& path) {
  std::unordered_map<std::string, size_t> at;
  for (size_t i = 0; i < ids.size(); ++i) at.emplace(ids[i], i);
  std::vector<std::string> out(wanted.size());
  for (size_t i = 0; i < wanted.size(); ++i) {
    auto it = at.find(wanted[i]);
    if (it == at.end())
      return Status::not_found("cell '" + wanted[i] + "' of the embeddings is not in " + path +
                               ": give the annotation file the embeddings were made from");
    out[i] = std::move(values[it->second]);
  }
  return out;
}

}  // namespace

Result<Embeddings> read_embeddings(const std::string& path, const std::string& key) {
  Result<Embeddings> e = is_h5ad(path) ? read_h5ad_embeddings(path, key) : read_tsv_embeddings(path);
  if (e.is_ok() && e->num_cells() == 0) return Status::invalid("'" + path + "' holds no cells");
  return e;
}

Result<std::vector<std::string>> read_obs_column(const std::string& path, const std::string& column,
                                                 const std::vector<std::string>& cell_ids) {
  if (is_h5ad(path)) {
    SCCELLO_ASSIGN_OR_RETURN(Handle file, open_h5(path));
    std::vector<std::string> ids, values;
    const std::string index = obs_index_name(file.get());
    if (index.empty()) return Status::invalid("'" + path + "': obs has no index (cell ids)");
    SCCELLO_RETURN_IF_ERROR(read_h5ad_obs(file.get(), path, index, &ids));
    SCCELLO_RETURN_IF_ERROR(read_h5ad_obs(file.get(), path, column, &values));
    return align(ids, std::move(values), cell_ids, path);
  }
  SCCELLO_ASSIGN_OR_RETURN(TsvTable t, read_tsv(path));
  size_t c = 1;
  while (c < t.header.size() && t.header[c] != column) ++c;
  if (c >= t.header.size())
    return Status::not_found("column '" + column + "' not found in " + path + "; columns there are: " +
                             join(std::vector<std::string>(t.header.begin() + 1, t.header.end())));
  std::vector<std::string> ids, values;
  for (auto& row : t.rows) {
    ids.push_back(row[0]);
    values.push_back(row[c]);
  }
  return align(ids, std::move(values), cell_ids, path);
}

bool is_missing_label(const std::string& label) {
  for (const char* m : {"", "?", "nan", "NaN", "NA", "None", "unknown"})
    if (label == m) return true;
  return false;
}

std::vector<int32_t> encode_values(const std::vector<std::string>& values, std::vector<std::string>* names) {
  std::unordered_map<std::string, int32_t> code;
  std::vector<int32_t> out(values.size());
  names->clear();
  for (size_t i = 0; i < values.size(); ++i) {
    auto [it, fresh] = code.emplace(values[i], static_cast<int32_t>(code.size()));
    if (fresh) names->push_back(values[i]);
    out[i] = it->second;
  }
  return out;
}

}  // namespace sccello::eval
