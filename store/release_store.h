// ReleaseStore: ontology releases kept in a Store (terms, edges, metadata) under `rel/`.
// Importing one release is one atomic WriteBatch. Does not own the Store; same thread-safety.
// Layout: rel/info/<name> (ReleaseInfo + import sequence), rel/content/<name> (one compact
// record of all terms and edges: loading a release is one read), rel/seq (last sequence).
#pragma once

#include <functional>
#include <string>
#include <unordered_set>
#include <vector>

#include "graph/ontology.h"
#include "graph/status.h"

namespace sccello {

class Store;

struct ImportOptions {
  std::string release_name;  // "" = from the file (OBO data-version date / JSON file name version)
  bool replace = false;      // allow different content under an existing name
  // Test hook: called after the import's batch is staged, before it is written; an error
  // aborts the import there (the store must be left unchanged).
  std::function<Status()> before_commit;
};

struct ImportOutcome {
  ReleaseInfo info;
  bool unchanged = false;      // identical content already stored under that name: nothing written
  int64_t dropped_edges = 0;   // is_a edges to undefined terms or to the term itself (warned, dropped)
  std::vector<std::string> warnings;
};

class ReleaseStore {
 public:
  explicit ReleaseStore(Store& store) : store_(&store) {}

  // Stores `release` (its info.name must be set). Refuses a different content under an
  // existing name unless options.replace.
  Result<ImportOutcome> put(OntologyRelease release, const ImportOptions& options);
  Result<std::vector<ReleaseInfo>> list() const;  // oldest import first
  // "" resolves to the newest imported release; an unknown name lists the known ones.
  Result<std::string> resolve(const std::string& name) const;
  Result<ReleaseInfo> info(const std::string& name) const;
  Result<OntologyRelease> load(const std::string& name) const;

 private:
  Store* store_;
};

// Every term id (live or obsolete) of release `name` ("" = newest), what `cells import` checks
// cell terms against; *have is false (and the set empty) when the store holds no release.
Result<std::unordered_set<std::string>> release_term_ids(Store& store, const std::string& name, bool* have);

// Parses a file by its extension (.obo, .json, .json.gz) into a release; the release name is
// taken from the file unless options.release_name is set.
Result<OntologyRelease> read_ontology_file(const std::string& path, const ImportOptions& options);

}  // namespace sccello
