// ReleaseStore over the KvStore: one info record and one content record per release.
#include "store/release_store.h"

#include <algorithm>
#include <ctime>
#include <unordered_set>

#include "store/formats/cellxgene_json_reader.h"
#include "store/formats/obo_reader.h"
#include "graph/ontology_graph.h"
#include "store/release_codec.h"
#include "store/safe_text.h"
#include "store/store.h"
#include "store/text_lines.h"

namespace sccello {
namespace {

constexpr const char* kInfoPrefix = "rel/info/";
constexpr const char* kContentPrefix = "rel/content/";
constexpr const char* kSeqKey = "rel/seq";

std::string info_key(const std::string& name) { return kInfoPrefix + name; }
std::string content_key(const std::string& name) { return kContentPrefix + name; }

struct StoredInfo {
  ReleaseInfo info;
  uint64_t sequence = 0;
};

Result<std::vector<StoredInfo>> scan_infos(const KvStore& kv) {
  std::vector<StoredInfo> out;
  Status decode_status;
  Status st = kv.scan(kInfoPrefix, [&](std::string_view key, std::string_view value) {
    StoredInfo s;
    decode_status = decode_release_info(value, std::string(key), &s.info, &s.sequence);
    if (!decode_status.is_ok()) return false;
    out.push_back(std::move(s));
    return true;
  });
  SCCELLO_RETURN_IF_ERROR(st);
  SCCELLO_RETURN_IF_ERROR(decode_status);
  std::sort(out.begin(), out.end(), [](const StoredInfo& a, const StoredInfo& b) { return a.sequence < b.sequence; });
  return out;
}

// Drops is_a edges whose parent is not a term of the release, and is_a edges from a term to
// itself (the 2025-01-08 cellxgene JSON lists CL:4047034 among its own ancestors); returns how
// many, with one warning per kind.
int64_t drop_unusable_is_a(OntologyRelease* release, std::vector<std::string>* warnings) {
  std::unordered_set<std::string> defined;
  for (const Term& t : release->terms) defined.insert(t.id);
  int64_t undefined = 0, self = 0;
  std::string undefined_example, self_example;
  auto unusable = [&](const Edge& e) {
    if (e.relation != "is_a") return false;
    if (e.child == e.parent) {
      if (self++ == 0) self_example = e.child;
      return true;
    }
    if (defined.count(e.parent)) return false;
    if (undefined++ == 0) undefined_example = e.child + " is_a " + e.parent;
    return true;
  };
  auto& edges = release->edges;
  edges.erase(std::remove_if(edges.begin(), edges.end(), unusable), edges.end());
  const std::string& file = release->info.source_file;
  if (undefined > 0)
    warnings->push_back(std::to_string(undefined) + " is_a edge(s) point to terms not defined in '" + file +
                        "' and were dropped (first: " + undefined_example + ")");
  if (self > 0)
    warnings->push_back(std::to_string(self) + " is_a edge(s) from a term to itself in '" + file +
                        "' were dropped (first: " + self_example + ")");
  return undefined + self;
}

void fill_counts(OntologyRelease* release) {
  ReleaseInfo& info = release->info;
  info.num_terms = static_cast<int64_t>(release->terms.size());
  info.num_obsolete = std::count_if(release->terms.begin(), release->terms.end(),
                                    [](const Term& t) { return t.obsolete; });
  info.num_edges = static_cast<int64_t>(release->edges.size());
  info.content_hash = release_content_hash(*release);
  info.imported_at = static_cast<int64_t>(std::time(nullptr));
}

Status check_release_name(const std::string& name) {
  if (name.empty()) return Status::invalid("a release needs a name; pass --release NAME");
  return check_name(name, "release name");
}

// Refuses, before anything is written, a release that no graph query could load: an is_a
// cycle among live terms of any prefix, or a closure past the memory bound (GraphOptions).
Status check_loadable(const OntologyRelease& release) {
  GraphOptions options;
  options.prefix = "";
  Result<OntologyGraph> graph = OntologyGraph::build(release, options);
  if (graph.is_ok()) return Status::ok();
  return graph.status().with_context("'" + release.info.source_file + "': import refused, nothing written");
}

}  // namespace

Result<ImportOutcome> ReleaseStore::put(OntologyRelease release, const ImportOptions& options) {
  if (!options.release_name.empty()) release.info.name = options.release_name;
  const std::string name = release.info.name;
  SCCELLO_RETURN_IF_ERROR(check_release_name(name));
  SCCELLO_RETURN_IF_ERROR(check_utf8(release.info.source_file, "ontology import", "the file name"));
  ImportOutcome outcome;
  outcome.dropped_edges = drop_unusable_is_a(&release, &outcome.warnings);
  fill_counts(&release);
  SCCELLO_RETURN_IF_ERROR(check_loadable(release));
  SCCELLO_ASSIGN_OR_RETURN(std::vector<StoredInfo> known, scan_infos(store_->kv()));
  uint64_t sequence = 0;
  for (const StoredInfo& s : known) {
    sequence = std::max(sequence, s.sequence);
    if (s.info.name != name) continue;
    if (s.info.content_hash == release.info.content_hash) {
      outcome.info = s.info;
      outcome.unchanged = true;
      return outcome;
    }
    if (!options.replace)
      return Status::invalid("release '" + name + "' already holds different content (imported from " +
                             s.info.source_file + ", hash " + s.info.content_hash.substr(0, 12) +
                             "); pass --replace to overwrite it or --release NAME to import under another name");
  }
  WriteBatch batch;
  batch.put(content_key(name), encode_release_content(release));
  batch.put(info_key(name), encode_release_info(release.info, sequence + 1));
  batch.put(kSeqKey, std::to_string(sequence + 1));
  if (options.before_commit) SCCELLO_RETURN_IF_ERROR(options.before_commit());
  SCCELLO_RETURN_IF_ERROR(store_->kv().write(batch));
  outcome.info = release.info;
  return outcome;
}

Result<std::vector<ReleaseInfo>> ReleaseStore::list() const {
  SCCELLO_ASSIGN_OR_RETURN(std::vector<StoredInfo> known, scan_infos(store_->kv()));
  std::vector<ReleaseInfo> out;
  for (auto& s : known) out.push_back(std::move(s.info));
  return out;
}

Result<std::string> ReleaseStore::resolve(const std::string& name) const {
  SCCELLO_ASSIGN_OR_RETURN(std::vector<ReleaseInfo> known, list());
  if (known.empty())
    return Status::not_found("store '" + store_->path() +
                             "' holds no ontology release; import one with `sccello ontology import FILE`");
  if (name.empty()) return known.back().name;
  std::string names;
  for (const ReleaseInfo& r : known) {
    if (r.name == name) return name;
    names += (names.empty() ? "" : ", ") + r.name;
  }
  return Status::not_found("unknown release '" + name + "'; the store holds: " + names);
}

Result<ReleaseInfo> ReleaseStore::info(const std::string& name) const {
  SCCELLO_ASSIGN_OR_RETURN(std::string resolved, resolve(name));
  std::string value;
  SCCELLO_RETURN_IF_ERROR(store_->kv().get(info_key(resolved), &value));
  StoredInfo s;
  SCCELLO_RETURN_IF_ERROR(decode_release_info(value, info_key(resolved), &s.info, &s.sequence));
  return s.info;
}

Result<OntologyRelease> ReleaseStore::load(const std::string& name) const {
  SCCELLO_ASSIGN_OR_RETURN(std::string resolved, resolve(name));
  OntologyRelease release;
  std::string value;
  SCCELLO_RETURN_IF_ERROR(store_->kv().get(info_key(resolved), &value));
  uint64_t sequence = 0;
  SCCELLO_RETURN_IF_ERROR(decode_release_info(value, info_key(resolved), &release.info, &sequence));
  Status st = store_->kv().get(content_key(resolved), &value);
  if (st.is_not_found())
    return Status::corruption("store record '" + content_key(resolved) + "' is missing; re-import the release");
  SCCELLO_RETURN_IF_ERROR(st);
  SCCELLO_RETURN_IF_ERROR(decode_release_content(value, content_key(resolved), &release));
  return release;
}

Result<OntologyRelease> read_ontology_file(const std::string& path, const ImportOptions& options) {
  Result<OntologyRelease> release = Status::invalid(
      "'" + path + "': unknown ontology format; expected .obo, .json or .json.gz");
  if (ends_with(path, ".obo")) release = read_obo_file(path);
  else if (ends_with(path, ".json") || ends_with(path, ".json.gz")) release = read_cellxgene_json_file(path);
  if (release.is_ok() && !options.release_name.empty()) release->info.name = options.release_name;
  return release;
}

Result<std::unordered_set<std::string>> release_term_ids(Store& store, const std::string& name, bool* have) {
  ReleaseStore releases(store);
  SCCELLO_ASSIGN_OR_RETURN(auto list, releases.list());
  std::unordered_set<std::string> terms;
  *have = !list.empty();
  if (!*have) return terms;
  SCCELLO_ASSIGN_OR_RETURN(std::string resolved, releases.resolve(name));
  SCCELLO_ASSIGN_OR_RETURN(OntologyRelease release, releases.load(resolved));
  for (const Term& t : release.terms) terms.insert(t.id);
  return terms;
}

}  // namespace sccello
