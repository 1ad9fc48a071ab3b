// TargetRegistry: spec parsing, the global registry and make_target_provider (see the header).
#include "plugins/target_registry.h"

#include <charconv>
#include <unordered_map>

#include "store/release_store.h"
#include "store/store.h"

namespace sccello {

namespace {

std::string normalise_value(const std::string& v) {
  if (v == "true") return "1";
  if (v == "false") return "0";
  double d = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (ec != std::errc() || end != v.data() + v.size() || v.empty()) return v;
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d);
  return std::string(buf, res.ptr);
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::vector<std::string> param_names(const ProviderInfo& info) {
  std::vector<std::string> names;
  for (const auto& p : info.params) names.push_back(p.name);
  return names;
}

Status parse_assignment(const std::string& item, const ProviderInfo& info, TargetSpec* spec) {
  const size_t eq = item.find('=');
  const std::string key = item.substr(0, eq);
  if (eq == std::string::npos || key.empty()) {
    return Status::invalid("target spec: '" + item + "' is not key=value (parameters of " + info.name +
                           ": " + join_names(param_names(info)) + ")");
  }
  for (auto& [k, v] : spec->params) {
    if (k == key) {
      v = normalise_value(item.substr(eq + 1));
      return Status::ok();
    }
  }
  std::vector<std::string> names = param_names(info);
  return Status::invalid("target spec: unknown parameter '" + key + "' of provider " + info.name +
                         "; valid: " + (names.empty() ? "(none)" : join_names(names)));
}

}  // namespace

const std::string& TargetSpec::get(const std::string& key) const {
  for (const auto& [k, v] : params) {
    if (k == key) return v;
  }
  assert(false && "TargetSpec::get: not a parameter");
  static const std::string empty;
  return empty;
}

std::string TargetSpec::describe(const std::string& version) const {
  std::string out = name + "/" + version;
  for (size_t i = 0; i < params.size(); ++i) {
    out += (i == 0 ? ":" : ",") + params[i].first + "=" + params[i].second;
  }
  return out;
}

TargetRegistry& TargetRegistry::global() {
  static TargetRegistry* registry = new TargetRegistry();  // never destroyed: plugins may outlive main
  static std::once_flag once;
  std::call_once(once, [] { register_builtin_providers(*registry); });
  return *registry;
}

Status TargetRegistry::add(ProviderInfo info, ProviderFactory factory) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const Entry& e : entries_) {
    if (e.info.name == info.name) {
      return Status::invalid("target provider '" + info.name + "' is already registered (" +
                             e.info.origin + "); rename the plugin's provider");
    }
  }
  entries_.push_back({std::move(info), std::move(factory)});
  return Status::ok();
}

std::vector<ProviderInfo> TargetRegistry::list() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ProviderInfo> out;
  for (const Entry& e : entries_) out.push_back(e.info);
  return out;
}

Result<TargetSpec> TargetRegistry::parse(const std::string& text) const {
  const size_t colon = text.find(':');
  TargetSpec spec;
  spec.name = text.substr(0, colon);
  ProviderInfo info;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> names;
    for (const Entry& e : entries_) {
      names.push_back(e.info.name);
      if (e.info.name == spec.name) info = e.info;
    }
    if (info.name.empty()) {
      return Status::invalid("unknown target provider '" + spec.name + "'; valid: " + join_names(names) +
                             " (external ones load with --plugin PATH)");
    }
  }
  for (const auto& p : info.params) spec.params.emplace_back(p.name, normalise_value(p.default_value));
  if (colon == std::string::npos) return spec;
  std::string rest = text.substr(colon + 1);
  size_t start = 0;
  while (start <= rest.size()) {
    size_t comma = rest.find(',', start);
    std::string item = rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) SCCELLO_RETURN_IF_ERROR(parse_assignment(item, info, &spec));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return spec;
}

Result<std::unique_ptr<TargetProvider>> TargetRegistry::make(const TargetSpec& spec,
                                                              const TargetBinding& binding) const {
  ProviderFactory factory;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Entry& e : entries_) {
      if (e.info.name == spec.name) factory = e.factory;
    }
  }
  if (!factory) return Status::invalid("unknown target provider '" + spec.name + "'");
  return factory(spec, binding);
}

// ---------------------------------------------------------------------------------------------

namespace {

Result<std::shared_ptr<const OntologyRelease>> load_release(const TargetContext& ctx) {
  if (ctx.release_data) return std::make_shared<const OntologyRelease>(*ctx.release_data);
  if (!ctx.store) {
    return Status::invalid("no store to load the ontology release from: pass --store PATH");
  }
  ReleaseStore releases(*ctx.store);
  SCCELLO_ASSIGN_OR_RETURN(std::string name, releases.resolve(ctx.release));
  SCCELLO_ASSIGN_OR_RETURN(OntologyRelease release, releases.load(name));
  return std::make_shared<const OntologyRelease>(std::move(release));
}

std::string join_ids(const std::vector<TermId>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ", ") + id;
  return out;
}

Status check_label_space(const OntologyRelease& release, const std::vector<TermId>& labels) {
  std::unordered_map<std::string_view, const Term*> by_id;
  for (const Term& t : release.terms) by_id.emplace(t.id, &t);
  const std::string rel = "release '" + release.info.name + "'";
  for (const TermId& id : labels) {
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      return Status::not_found("term " + id + " is not in " + rel +
                               ": map it first with `sccello ontology migrate " + id + "`");
    }
    if (it->second->obsolete) {
      const auto& r = it->second->replaced_by;
      return Status::invalid("term " + id + " is obsolete in " + rel +
                             (r.empty() ? "" : " (replaced_by " + join_ids(r) + ")") +
                             ": map it first with `sccello ontology migrate " + id + "`");
    }
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<TargetProvider>> make_target_provider(const std::string& spec_text,
                                                             const TargetContext& ctx) {
  TargetRegistry& registry = TargetRegistry::global();
  SCCELLO_ASSIGN_OR_RETURN(TargetSpec spec, registry.parse(spec_text));
  SCCELLO_ASSIGN_OR_RETURN(std::shared_ptr<const OntologyRelease> release, load_release(ctx));
  SCCELLO_RETURN_IF_ERROR(check_label_space(*release, ctx.label_space));
  TargetBinding binding;
  binding.release = std::move(release);
  binding.label_space = ctx.label_space;
  binding.store = ctx.use_cache ? ctx.store : nullptr;
  binding.use_cache = ctx.use_cache;
  binding.threads = ctx.threads;
  return registry.make(spec, binding);
}

std::vector<ProviderInfo> list_target_providers() { return TargetRegistry::global().list(); }

}  // namespace sccello
