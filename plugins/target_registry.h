// TargetRegistry: the named target providers ("ppr", "shortest_path", "ic", "lca_depth", "none"
// and those loaded from external plugins) with their parameters, and the factory that builds a
// provider from a spec "name:key=value,..." bound to a release and label space. The process-wide
// registry is filled once (std::call_once) on first use; it is safe to use from several threads.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "graph/ontology.h"
#include "plugins/target_provider.h"

namespace sccello {

struct ProviderParam {
  std::string name;
  std::string default_value;
  std::string description;
};

struct ProviderInfo {
  std::string name;
  std::string version;
  std::string description;
  std::vector<ProviderParam> params;  // in describe() order
  std::string origin = "builtin";     // or the plugin's path
};

// A parsed spec: every parameter of the provider, defaults filled, values normalised
// (numbers in shortest form, true/false as 1/0), in the provider's parameter order.
struct TargetSpec {
  std::string name;
  std::vector<std::pair<std::string, std::string>> params;

  const std::string& get(const std::string& key) const;  // REQUIRES: key is a parameter
  // "name/version:k=v,k=v" (the provider's describe()).
  std::string describe(const std::string& version) const;
};

// What a factory binds to: the release (shared, immutable), its label space, cache, threads.
struct TargetBinding {
  std::shared_ptr<const OntologyRelease> release;
  std::vector<TermId> label_space;  // validated: every term is live in the release (may be empty)
  Store* store = nullptr;           // null or read-only: no persistent cache writes
  bool use_cache = true;
  int threads = 1;
};

using ProviderFactory =
    std::function<Result<std::unique_ptr<TargetProvider>>(const TargetSpec&, const TargetBinding&)>;

class TargetRegistry {
 public:
  // The process-wide registry, with the built-ins registered on first use.
  static TargetRegistry& global();

  // A name that is already taken is an error.
  Status add(ProviderInfo info, ProviderFactory factory);
  std::vector<ProviderInfo> list() const;
  // Parses "name[:k=v,...]"; unknown names or keys are errors listing the valid ones.
  Result<TargetSpec> parse(const std::string& spec) const;
  Result<std::unique_ptr<TargetProvider>> make(const TargetSpec& spec, const TargetBinding& binding) const;

 private:
  struct Entry {
    ProviderInfo info;
    ProviderFactory factory;
  };
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
};

// Registers ppr, shortest_path, ic, lca_depth, none (plugins/builtin_providers.cc).
void register_builtin_providers(TargetRegistry& registry);

// The factory the trainer and the CLI call: parses `spec`, loads the release (ctx.release_data
// or ctx.release from ctx.store), checks the label space, binds the provider.
Result<std::unique_ptr<TargetProvider>> make_target_provider(const std::string& spec, const TargetContext& ctx);
std::vector<ProviderInfo> list_target_providers();

// Loads an external provider from a shared library (plugins/target_plugin_api.h) into the
// global registry. Checks the plugin's API version; errors name the path and what to do.
Result<ProviderInfo> load_target_plugin(const std::string& path);

}  // namespace sccello
