// cellxgene-ontology-guide JSON: key order kept (ordered_json) so terms stay in file order.
#include "store/formats/cellxgene_json_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "store/formats/obo_reader.h"

namespace sccello {
namespace {

using Json = nlohmann::ordered_json;

size_t line_of(std::string_view text, size_t byte) {
  byte = std::min(byte, text.size());
  return 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + byte, '\n'));
}

Status shape_error(const std::string& file, const std::string& key, const std::string& what) {
  return Status::invalid(file + ": key '" + key + "': " + what +
                         "; expected the cellxgene-ontology-guide shape {\"CL:...\": {\"label\": ..., "
                         "\"deprecated\": ..., \"ancestors\": {...}}}");
}

// A string or an array of strings ("replaced_by" is written both ways).
Result<std::vector<std::string>> string_list(const Json& v, const std::string& file, const std::string& key) {
  std::vector<std::string> out;
  if (v.is_string()) { out.push_back(v.get<std::string>()); return out; }
  if (!v.is_array()) return shape_error(file, key, "expected a string or a list of strings");
  for (const Json& s : v) {
    if (!s.is_string()) return shape_error(file, key, "expected a list of strings");
    out.push_back(s.get<std::string>());
  }
  return out;
}

Status read_term(const std::string& id, const Json& v, const std::string& file, OntologyRelease* release) {
  if (!v.is_object()) return shape_error(file, id, "the value is not an object");
  auto label = v.find("label");
  if (label == v.end() || !label->is_string()) return shape_error(file, id, "missing string 'label'");
  Term t;
  t.id = id;
  t.name = label->get<std::string>();
  if (auto d = v.find("description"); d != v.end() && d->is_string()) t.definition = d->get<std::string>();
  if (auto d = v.find("deprecated"); d != v.end()) {
    if (!d->is_boolean()) return shape_error(file, id + "/deprecated", "expected true or false");
    t.obsolete = d->get<bool>();
  }
  if (auto s = v.find("synonyms"); s != v.end()) {
    SCCELLO_ASSIGN_OR_RETURN(auto syn, string_list(*s, file, id + "/synonyms"));
    for (auto& text : syn) t.synonyms.push_back({std::move(text), ""});
  }
  if (auto r = v.find("replaced_by"); r != v.end()) {
    SCCELLO_ASSIGN_OR_RETURN(t.replaced_by, string_list(*r, file, id + "/replaced_by"));
  }
  if (auto c = v.find("consider"); c != v.end()) {
    SCCELLO_ASSIGN_OR_RETURN(t.consider, string_list(*c, file, id + "/consider"));
  }
  auto anc = v.find("ancestors");
  if (anc == v.end() || !anc->is_object()) return shape_error(file, id, "missing object 'ancestors'");
  for (const auto& [parent, dist] : anc->items()) {
    if (!dist.is_number_integer()) return shape_error(file, id + "/ancestors/" + parent, "expected an integer distance");
    if (dist.get<int64_t>() == 1) release->edges.push_back({id, "is_a", parent});
  }
  release->terms.push_back(std::move(t));
  return Status::ok();
}

std::string version_from_file_name(const std::string& base) {
  size_t v = base.find("-v");
  std::string date = find_iso_date(v == std::string::npos ? base : base.substr(v));
  if (!date.empty()) return date;
  return base.substr(0, base.find('.'));
}

}  // namespace

Result<OntologyRelease> parse_cellxgene_json(std::string_view text, const std::string& file_name) {
  Json doc;
  try {
    doc = Json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    return Status::invalid(file_name + ":" + std::to_string(line_of(text, e.byte)) +
                           ": not valid JSON (" + e.what() + ")");
  } catch (const nlohmann::json::exception& e) {  // e.g. out_of_range 406: a number like 1e999
    return Status::invalid(file_name + ": not usable JSON (" + std::string(e.what()) + "); fix the file");
  }
  if (!doc.is_object()) return shape_error(file_name, "<top level>", "the document is not an object");
  OntologyRelease release;
  try {
    for (const auto& [id, v] : doc.items()) SCCELLO_RETURN_IF_ERROR(read_term(id, v, file_name, &release));
  } catch (const nlohmann::json::exception& e) {  // a value of an unexpected type or range
    return Status::invalid(file_name + ": unexpected value (" + std::string(e.what()) + "); fix the file");
  }
  if (release.terms.empty()) return shape_error(file_name, "<top level>", "no terms");
  ReleaseInfo& info = release.info;
  info.source_file = path_base_name(file_name);
  info.source_format = "cellxgene-json";
  info.name = version_from_file_name(info.source_file);
  info.data_version = info.name;
  return release;
}

Result<std::string> read_maybe_gzip(const std::string& path) {
  gzFile gz = gzopen(path.c_str(), "rb");  // also reads plain files transparently
  if (!gz) return Status::io_error("cannot read '" + path + "': no such file or no permission");
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(gz, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  int err = Z_OK;
  const char* msg = gzerror(gz, &err);
  std::string what = msg ? msg : "";
  int close_rc = gzclose(gz);
  if (n < 0 || (err != Z_OK && err != Z_STREAM_END) || close_rc != Z_OK)
    return Status::invalid("'" + path + "' is a truncated or damaged gzip file (" +
                           (what.empty() ? "unexpected end of stream" : what) + "); download it again");
  return out;
}

Result<OntologyRelease> read_cellxgene_json_file(const std::string& path) {
  SCCELLO_ASSIGN_OR_RETURN(std::string text, read_maybe_gzip(path));
  return parse_cellxgene_json(text, path);
}

}  // namespace sccello
