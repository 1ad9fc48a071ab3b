#include "store/store.h"

#include <cstdlib>

namespace sccello {
namespace {
constexpr const char* kFormatKey = "meta/format_version";
}

std::string default_store_path() {
  const char* env = std::getenv("SCCELLO_STORE");
  return env && *env ? env : "sccello-store";
}

Result<std::unique_ptr<Store>> Store::open(const StoreOptions& options) {
  KvOpenOptions kv_options;
  kv_options.backend = options.backend;
  kv_options.read_only = options.read_only;
  SCCELLO_ASSIGN_OR_RETURN(std::unique_ptr<KvStore> kv, open_kv_store(options.path, kv_options));
  std::unique_ptr<Store> store(new Store(std::move(kv)));
  SCCELLO_RETURN_IF_ERROR(store->check_or_write_format());
  return store;
}

Status Store::check_or_write_format() {
  std::string value;
  Status st = kv_->get(kFormatKey, &value);
  if (st.is_not_found()) {
    if (kv_->read_only())
      return Status::invalid("'" + path() + "' holds no sccello format record; it is not a sccello store");
    bool empty = true;
    SCCELLO_RETURN_IF_ERROR(kv_->scan("", [&](std::string_view, std::string_view) { return empty = false; }));
    if (!empty)
      return Status::invalid("'" + path() + "' is a " + backend_name(backend()) + " database holding data but no "
                             "sccello format record: it is not a sccello store; choose another --store path");
    return kv_->put(kFormatKey, std::to_string(kFormatVersion));
  }
  SCCELLO_RETURN_IF_ERROR(st);
  int version = std::atoi(value.c_str());
  if (version > kFormatVersion)
    return Status::unsupported("store '" + path() + "' has format version " + value +
                               ", newer than this sccello reads (" + std::to_string(kFormatVersion) +
                               "); upgrade sccello to open it");
  if (version != kFormatVersion)
    return Status::unsupported("store '" + path() + "' has format version " + value + "; this sccello reads " +
                               std::to_string(kFormatVersion) + " only; re-import into a new store");
  return Status::ok();
}

}  // namespace sccello
