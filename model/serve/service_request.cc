// Request helpers of the service endpoints (service_state.h).
#include <charconv>
#include <regex>

#include "graph/term_lookup.h"
#include "model/serve/service_state.h"

namespace sccello {

std::optional<std::string> param(const ServiceRequest& r, const std::string& key) {
  auto it = r.params.find(key);
  if (it == r.params.end()) return std::nullopt;
  return it->second;
}

Result<int64_t> int_param(const ServiceRequest& r, const std::string& key, int64_t fallback, int64_t lo, int64_t hi) {
  auto text = param(r, key);
  if (!text) return fallback;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || ptr != text->data() + text->size() || v < lo || v > hi)
    return Status::invalid("parameter '" + key + "' must be an integer from " + std::to_string(lo) + " to " +
                           std::to_string(hi) + ", not '" + text->substr(0, 40) + "'");
  return v;
}

Result<bool> bool_param(const ServiceRequest& r, const std::string& key, bool fallback) {
  auto text = param(r, key);
  if (!text) return fallback;
  if (*text == "1" || *text == "true" || text->empty()) return true;
  if (*text == "0" || *text == "false") return false;
  return Status::invalid("parameter '" + key + "' must be true/false or 1/0, not '" + text->substr(0, 40) + "'");
}

std::vector<std::string> list_param(const ServiceRequest& r, const std::string& key) {
  std::vector<std::string> items;
  auto range = r.params.equal_range(key);
  for (auto it = range.first; it != range.second; ++it) {
    size_t start = 0;
    const std::string& v = it->second;
    while (start <= v.size()) {
      size_t end = v.find(',', start);
      if (end == std::string::npos) end = v.size();
      if (end > start) items.push_back(v.substr(start, end - start));
      start = end + 1;
    }
  }
  return items;
}

Result<std::string> valid_term_id(const std::string& raw, const std::string& what) {
  static const std::regex kTermId("[A-Za-z][A-Za-z0-9]{0,15}[:_][A-Za-z0-9]{1,32}");
  if (raw.size() > 64 || !std::regex_match(raw, kTermId))
    return Status::invalid(what + " must be a term id such as CL:0000236, not '" + raw.substr(0, 64) + "'");
  return normalize_term_id(raw);
}

Status valid_name(const std::string& raw, const std::string& what) {
  if (raw.empty() || raw.size() > 256) return Status::invalid(what + " must be 1 to 256 characters long");
  for (unsigned char c : raw)
    if (c < 0x20 || c == 0x7f) return Status::invalid(what + " holds a control character");
  return Status::ok();
}

Result<const ReleaseView*> release_view(const ServiceState& s, const ServiceRequest& r) {
  std::string name = param(r, "release").value_or("");
  if (name.empty()) name = s.newest;
  auto it = s.views.find(name);
  if (it == s.views.end()) {
    std::string known;
    for (const auto& info : s.releases) known += (known.empty() ? "" : ", ") + info.name;
    return Status::not_found("no release '" + name.substr(0, 64) + "' in the store (it has: " +
                             (known.empty() ? "none; import one with `sccello ontology import`" : known) + ")");
  }
  return &it->second;
}

}  // namespace sccello
