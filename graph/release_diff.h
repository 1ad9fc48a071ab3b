// Release diff and term migration: pure functions over two OntologyRelease values (no store, no
// graph). diff_releases lists what changed between releases A and B; migrate_term maps a term id
// onto a release (itself if live, through replaced_by chains if obsolete, else unmapped with the
// `consider` hints). TermMigrator indexes one target release once for many lookups. Values only;
// a const TermMigrator may be shared across threads.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "graph/ontology.h"

namespace sccello {

struct DiffOptions {
  // Only terms whose id starts with this prefix are compared ("" = every term of the file,
  // e.g. the CP: ids that cl-basic obsoleted into CL:).
  std::string prefix;
  // Relations whose parents are compared for `parents_changed`.
  std::vector<std::string> relations = {"is_a"};
};

struct ObsoletedTerm {
  TermId id;
  std::string name;                 // name in B
  std::vector<TermId> replaced_by;  // empty: no replacement
  std::vector<TermId> consider;
};

struct RenamedTerm {
  TermId id;
  std::string old_name;
  std::string new_name;
};

struct ParentChange {
  TermId id;
  std::string name;                     // name in B
  std::vector<TermId> removed_parents;  // parents in A, not in B (sorted)
  std::vector<TermId> added_parents;    // parents in B, not in A (sorted)
};

// Every list is sorted by term id.
struct ReleaseDiff {
  std::string from;                          // A's release name
  std::string to;                            // B's release name
  std::vector<TermId> added;                 // in B, not in A
  std::vector<ObsoletedTerm> newly_obsolete; // live in A, obsolete in B
  std::vector<RenamedTerm> renamed;          // in both, names differ
  std::vector<ParentChange> parents_changed; // live in both, parent sets differ
  std::vector<TermId> removed;               // in A, not in B
};

ReleaseDiff diff_releases(const OntologyRelease& a, const OntologyRelease& b,
                          const DiffOptions& options);
ReleaseDiff diff_releases(const OntologyRelease& a, const OntologyRelease& b);

struct TermMigration {
  enum class Kind { kLive, kReplaced, kUnmapped };
  TermId from;                  // the id asked about
  TermId to;                    // the live term in the target release ("" when unmapped)
  Kind kind = Kind::kUnmapped;
  std::vector<TermId> consider; // hints when unmapped: `consider` of the obsolete records met,
                                // and replacements that are not terms of the target release
  std::vector<TermId> chain;    // replaced_by steps followed, starting at `from` (kReplaced)
};

// "live" | "replaced" | "unmapped".
const char* migration_kind_name(TermMigration::Kind kind);

// Indexes a target release once; migrate() is then a few hash lookups per replaced_by step.
// REQUIRES: the release passed to the constructor outlives the migrator (it is not copied).
class TermMigrator {
 public:
  explicit TermMigrator(const OntologyRelease& to);
  // Views `id` through the target release.
  TermMigration migrate(const TermId& id) const;
  // As above, but a term absent from the target release is first followed through `from`'s
  // replaced_by records (an id obsoleted and then dropped between releases).
  TermMigration migrate(const TermId& id, const TermMigrator& from) const;
  const Term* find(const TermId& id) const;

 private:
  std::unordered_map<TermId, const Term*> by_id_;  // points into the release passed in
};

// One-shot conveniences (index the release each call: use TermMigrator in loops).
TermMigration migrate_term(const OntologyRelease& to, const TermId& id);
TermMigration migrate_term(const OntologyRelease& from, const OntologyRelease& to, const TermId& id);

}  // namespace sccello
