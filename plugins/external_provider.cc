// External target providers: dlopen a plugin library, check its API version, register it in
// the global TargetRegistry; its rows are served through RowTargetProvider like the built-ins.
#include <dlfcn.h>

#include "plugins/row_provider.h"
#include "plugins/target_plugin_api.h"

namespace sccello {

namespace {

// The graph in the C view's layout; owns the arrays the view points into.
class GraphView {
 public:
  explicit GraphView(const OntologyGraph& g) {
    const uint32_t n = static_cast<uint32_t>(g.num_terms());
    for (TermIndex t = 0; t < n; ++t) ids_.push_back(g.id_of(t).c_str());
    parent_offsets_.push_back(0);
    child_offsets_.push_back(0);
    for (TermIndex t = 0; t < n; ++t) {
      for (TermIndex p : g.parents(t)) parents_.push_back(p);
      for (TermIndex c : g.children(t)) children_.push_back(c);
      parent_offsets_.push_back(static_cast<uint32_t>(parents_.size()));
      child_offsets_.push_back(static_cast<uint32_t>(children_.size()));
    }
    view_ = {n, ids_.data(), parent_offsets_.data(), parents_.data(), child_offsets_.data(), children_.data()};
  }
  const SccelloGraphView* view() const { return &view_; }
  bool has_edge(TermIndex t) const {
    return parent_offsets_[t + 1] > parent_offsets_[t] || child_offsets_[t + 1] > child_offsets_[t];
  }

 private:
  std::vector<const char*> ids_;
  std::vector<uint32_t> parent_offsets_, parents_, child_offsets_, children_;
  SccelloGraphView view_{};
};

class PluginKernel : public RowKernel {
 public:
  PluginKernel(SccelloTargetPluginV1 api, std::shared_ptr<const OntologyGraph> g, const TargetSpec& spec)
      : api_(api), graph_(std::move(g)), view_(*graph_), values_(spec.params) {
    for (const auto& [k, v] : values_) params_.push_back({k.c_str(), v.c_str()});
  }

  Result<std::vector<double>> compute(const std::vector<TermIndex>& sources, int) const override {
    const size_t n = graph_->num_terms();
    std::vector<double> out(sources.size() * n, 0.0);
    char err[512] = {0};
    for (size_t i = 0; i < sources.size(); ++i) {
      if (api_.compute_row(view_.view(), params_.data(), static_cast<uint32_t>(params_.size()), sources[i],
                           out.data() + i * n, err, sizeof(err)) != 0) {
        err[sizeof(err) - 1] = 0;
        return Status::internal(std::string("target plugin ") + api_.name + ": " + err);
      }
    }
    return out;
  }
  int32_t level(double raw) const override {
    return api_.level_of(raw, params_.data(), static_cast<uint32_t>(params_.size()));
  }
  bool is_node(TermIndex t) const override { return view_.has_edge(t); }

 private:
  SccelloTargetPluginV1 api_;
  std::shared_ptr<const OntologyGraph> graph_;
  GraphView view_;
  std::vector<std::pair<std::string, std::string>> values_;  // owns what params_ points to
  std::vector<SccelloParam> params_;
};

ProviderInfo info_of(const SccelloTargetPluginV1& api, const std::string& path) {
  ProviderInfo info;
  info.name = api.name ? api.name : "";
  info.version = api.version ? api.version : "";
  info.description = api.description ? api.description : "";
  for (uint32_t i = 0; i < api.num_params; ++i) info.params.push_back({api.params[i].key, api.params[i].value, ""});
  info.params.push_back({"edges", "is_a", "relations whose edges form the graph, joined by '+'"});
  info.origin = path;
  return info;
}

Result<SccelloTargetPluginV1> open_plugin(const std::string& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) return Status::io_error("cannot load target plugin " + path + ": " + dlerror());
  auto entry = reinterpret_cast<SccelloTargetPluginEntryFn>(dlsym(handle, SCCELLO_TARGET_PLUGIN_ENTRY));
  if (!entry) {
    dlclose(handle);
    return Status::invalid("target plugin " + path + " has no entry point " + SCCELLO_TARGET_PLUGIN_ENTRY +
                           " (build it against plugins/target_plugin_api.h)");
  }
  SccelloTargetPluginV1 api{};
  const int rc = entry(SCCELLO_TARGET_PLUGIN_API_VERSION, &api);
  if (rc != 0 || api.api_version != SCCELLO_TARGET_PLUGIN_API_VERSION) {
    dlclose(handle);
    return Status::unsupported("target plugin " + path + " speaks API version " + std::to_string(api.api_version) +
                               " (entry returned " + std::to_string(rc) + "); this sccello speaks version " +
                               std::to_string(SCCELLO_TARGET_PLUGIN_API_VERSION) + ": rebuild the plugin");
  }
  if (!api.name || !*api.name || !api.version || !api.compute_row || !api.level_of) {
    dlclose(handle);
    return Status::invalid("target plugin " + path + " leaves name, version, compute_row or level_of unset");
  }
  return api;  // the library stays loaded for the life of the process
}

}  // namespace

Result<ProviderInfo> load_target_plugin(const std::string& path) {
  for (const ProviderInfo& known : TargetRegistry::global().list()) {
    if (known.origin == path) return known;  // loaded before: dlopen would hand back the same library
  }
  SCCELLO_ASSIGN_OR_RETURN(SccelloTargetPluginV1 api, open_plugin(path));
  ProviderInfo info = info_of(api, path);
  ProviderFactory factory = [api](const TargetSpec& spec, const TargetBinding& b)
      -> Result<std::unique_ptr<TargetProvider>> {
    GraphOptions isa_options, options;
    options.relations = parse_relations(spec.get("edges"));
    SCCELLO_ASSIGN_OR_RETURN(OntologyGraph isa, OntologyGraph::build(*b.release, isa_options));
    SCCELLO_ASSIGN_OR_RETURN(OntologyGraph chosen, OntologyGraph::build(*b.release, options));
    auto kernel = std::make_unique<PluginKernel>(api, std::make_shared<const OntologyGraph>(std::move(chosen)), spec);
    return std::unique_ptr<TargetProvider>(new RowTargetProvider(
        spec.describe(api.version), std::make_shared<const OntologyGraph>(std::move(isa)), std::move(kernel), b));
  };
  SCCELLO_RETURN_IF_ERROR(TargetRegistry::global().add(info, factory));
  return info;
}

}  // namespace sccello
