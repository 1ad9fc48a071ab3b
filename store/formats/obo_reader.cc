// OBO 1.4 line parser: one pass, stanza by stanza, tracking line numbers for messages.
#include "store/formats/obo_reader.h"

#include <fstream>
#include <sstream>
#include <unordered_map>

#include "store/safe_text.h"

namespace sccello {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool is_binary(std::string_view line) {
  for (unsigned char c : line) {
    if (c < 0x20 && c != '\t' && c != '\r') return true;
    if (c == 0x7f) return true;
  }
  return false;
}

class OboParser {
 public:
  OboParser(std::string_view text, std::string file) : text_(text), file_(std::move(file)) {}
  Result<OntologyRelease> run();

 private:
  Status fail(const std::string& what) const {
    return Status::invalid(file_ + ":" + std::to_string(line_no_) + ": " + what);
  }
  Status on_line(std::string_view line);
  Status on_stanza_header(std::string_view line);
  Status on_header_tag(std::string_view tag, std::string_view value);
  Status on_term_tag(std::string_view tag, std::string_view value);
  Status end_stanza();
  Result<std::string> quoted(std::string_view value, std::string_view* rest) const;
  Result<std::string_view> plain_value(std::string_view value) const;

  std::string_view text_;
  std::string file_;
  size_t line_no_ = 0;
  enum class Section { kHeader, kTerm, kSkipped } section_ = Section::kHeader;
  size_t stanza_line_ = 0;
  Term term_;
  std::vector<Edge> pending_edges_;  // of the current stanza, child filled at its end
  std::unordered_map<std::string, size_t> id_line_;
  OntologyRelease release_;
};

// The value without a trailing `! comment` or `{qualifiers}` (outside quotes, unescaped).
Result<std::string_view> OboParser::plain_value(std::string_view value) const {
  bool in_quote = false;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\\') { ++i; continue; }
    if (c == '"') in_quote = !in_quote;
    else if (!in_quote && (c == '!' || c == '{')) return trim(value.substr(0, i));
  }
  if (in_quote) return fail("unterminated quoted string; close it with '\"'");
  return trim(value);
}

// Parses a leading "..." (with \" escapes); *rest receives what follows it.
Result<std::string> OboParser::quoted(std::string_view value, std::string_view* rest) const {
  if (value.empty() || value.front() != '"') return fail("expected a quoted string, got '" + std::string(value) + "'");
  std::string out;
  for (size_t i = 1; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\\' && i + 1 < value.size()) {
      char n = value[++i];
      out.push_back(n == 'n' ? '\n' : n == 't' ? '\t' : n);
    } else if (c == '"') {
      *rest = trim(value.substr(i + 1));
      return out;
    } else {
      out.push_back(c);
    }
  }
  return fail("unterminated quoted string; close it with '\"'");
}

Status OboParser::on_header_tag(std::string_view tag, std::string_view value) {
  if (tag == "data-version") release_.info.data_version = std::string(value);
  return Status::ok();
}

Status OboParser::on_term_tag(std::string_view tag, std::string_view raw) {
  if (tag == "def" || tag == "synonym") {
    std::string_view rest;
    SCCELLO_ASSIGN_OR_RETURN(std::string text, quoted(raw, &rest));
    if (tag == "def") { term_.definition = std::move(text); return Status::ok(); }
    std::string scope(rest.substr(0, rest.find_first_of(" [")));
    term_.synonyms.push_back({std::move(text), std::move(scope)});
    return Status::ok();
  }
  SCCELLO_ASSIGN_OR_RETURN(std::string_view value, plain_value(raw));
  if (tag == "id") {
    if (!term_.id.empty()) return fail("second id in one [Term] stanza; split the stanza");
    term_.id = std::string(value);
  } else if (tag == "name") {
    term_.name = std::string(value);
  } else if (tag == "xref") {
    term_.xrefs.push_back(std::string(value.substr(0, value.find(' '))));
  } else if (tag == "is_a") {
    pending_edges_.push_back({"", "is_a", std::string(value)});
  } else if (tag == "relationship") {
    size_t sp = value.find(' ');
    if (sp == std::string_view::npos) return fail("relationship needs 'RELATION TARGET', got '" + std::string(value) + "'");
    std::string_view target = trim(value.substr(sp + 1));
    // An IRI target (e.g. `relationship: dc-contributor https://orcid.org/...`, as the OWL->OBO
    // conversion writes annotation properties) is metadata about the term, not an edge to a term.
    if (target.find("://") != std::string_view::npos) return Status::ok();
    pending_edges_.push_back({"", std::string(value.substr(0, sp)), std::string(target)});
  } else if (tag == "is_obsolete") {
    term_.obsolete = value == "true";
  } else if (tag == "replaced_by") {
    term_.replaced_by.push_back(std::string(value));
  } else if (tag == "consider") {
    term_.consider.push_back(std::string(value));
  }
  return Status::ok();
}

Status OboParser::end_stanza() {
  if (section_ != Section::kTerm) return Status::ok();
  size_t here = line_no_;
  line_no_ = stanza_line_;
  if (term_.id.empty()) return fail("[Term] stanza without an 'id:' line; add one");
  auto [it, fresh] = id_line_.emplace(term_.id, stanza_line_);
  if (!fresh) return fail("duplicate id " + term_.id + " (first defined at line " + std::to_string(it->second) + ")");
  line_no_ = here;
  for (Edge& e : pending_edges_) {
    e.child = term_.id;
    release_.edges.push_back(std::move(e));
  }
  pending_edges_.clear();
  release_.terms.push_back(std::move(term_));
  term_ = Term();
  return Status::ok();
}

Status OboParser::on_stanza_header(std::string_view line) {
  SCCELLO_RETURN_IF_ERROR(end_stanza());
  if (line.back() != ']') return fail("unterminated stanza header '" + std::string(line) + "'; expected e.g. [Term]");
  section_ = line == "[Term]" ? Section::kTerm : Section::kSkipped;
  stanza_line_ = line_no_;
  return Status::ok();
}

Status OboParser::on_line(std::string_view line) {
  if (is_binary(line)) return fail("binary data (control bytes); this is not an OBO text file");
  SCCELLO_RETURN_IF_ERROR(check_utf8(line, file_ + ":" + std::to_string(line_no_), "the line"));
  line = trim(line);
  if (line.empty() || line.front() == '!') return Status::ok();
  if (line.front() == '[') return on_stanza_header(line);
  if (section_ == Section::kSkipped) return Status::ok();
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0)
    return fail("expected 'tag: value', got '" + std::string(line.substr(0, 60)) + "'");
  std::string_view tag = line.substr(0, colon);
  std::string_view value = trim(line.substr(colon + 1));
  return section_ == Section::kHeader ? on_header_tag(tag, value) : on_term_tag(tag, value);
}

Result<OntologyRelease> OboParser::run() {
  size_t pos = 0;
  while (pos < text_.size()) {
    size_t end = text_.find('\n', pos);
    if (end == std::string_view::npos) end = text_.size();
    ++line_no_;
    SCCELLO_RETURN_IF_ERROR(on_line(text_.substr(pos, end - pos)));
    pos = end + 1;
  }
  SCCELLO_RETURN_IF_ERROR(end_stanza());
  if (release_.terms.empty()) return Status::invalid(file_ + ": no [Term] stanzas; is this an OBO file?");
  return std::move(release_);
}

}  // namespace

std::string find_iso_date(std::string_view s) {
  auto digit = [&](size_t i) { return s[i] >= '0' && s[i] <= '9'; };
  for (size_t i = 0; i + 10 <= s.size(); ++i) {
    if (digit(i) && digit(i + 1) && digit(i + 2) && digit(i + 3) && s[i + 4] == '-' && digit(i + 5) &&
        digit(i + 6) && s[i + 7] == '-' && digit(i + 8) && digit(i + 9))
      return std::string(s.substr(i, 10));
  }
  return "";
}

std::string path_base_name(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

Result<OntologyRelease> parse_obo(std::string_view text, const std::string& file_name) {
  SCCELLO_ASSIGN_OR_RETURN(OntologyRelease release, OboParser(text, file_name).run());
  ReleaseInfo& info = release.info;
  info.source_file = path_base_name(file_name);
  info.source_format = "obo";
  info.name = find_iso_date(info.data_version);
  if (info.name.empty()) info.name = info.data_version;
  if (info.name.empty()) info.name = info.source_file.substr(0, info.source_file.rfind('.'));
  return release;
}

Result<OntologyRelease> read_obo_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error("cannot read '" + path + "': no such file or no permission");
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return Status::io_error("error while reading '" + path + "'");
  return parse_obo(buf.str(), path);
}

}  // namespace sccello
