// Release diff and term migration over plain OntologyRelease values.
#include "graph/release_diff.h"

#include <algorithm>
#include <map>
#include <set>

namespace sccello {
namespace {

bool has_prefix(const std::string& id, const std::string& prefix) {
  return id.compare(0, prefix.size(), prefix) == 0;
}

// id -> term, for the terms under the prefix; ordered so the diff comes out sorted.
std::map<TermId, const Term*> terms_by_id(const OntologyRelease& r, const std::string& prefix) {
  std::map<TermId, const Term*> out;
  for (const Term& t : r.terms) {
    if (has_prefix(t.id, prefix)) out.emplace(t.id, &t);
  }
  return out;
}

// child -> sorted set of parents over the chosen relations.
std::map<TermId, std::set<TermId>> parents_by_child(const OntologyRelease& r,
                                                   const std::vector<std::string>& relations) {
  std::map<TermId, std::set<TermId>> out;
  for (const Edge& e : r.edges) {
    if (std::find(relations.begin(), relations.end(), e.relation) != relations.end()) {
      out[e.child].insert(e.parent);
    }
  }
  return out;
}

std::vector<TermId> set_minus(const std::set<TermId>& x, const std::set<TermId>& y) {
  std::vector<TermId> out;
  std::set_difference(x.begin(), x.end(), y.begin(), y.end(), std::back_inserter(out));
  return out;
}

void diff_parents(const TermId& id, const Term& tb,
                  const std::map<TermId, std::set<TermId>>& pa,
                  const std::map<TermId, std::set<TermId>>& pb, ReleaseDiff* diff) {
  static const std::set<TermId> kNone;
  auto ia = pa.find(id);
  auto ib = pb.find(id);
  const std::set<TermId>& sa = ia == pa.end() ? kNone : ia->second;
  const std::set<TermId>& sb = ib == pb.end() ? kNone : ib->second;
  if (sa == sb) return;
  diff->parents_changed.push_back({id, tb.name, set_minus(sa, sb), set_minus(sb, sa)});
}

}  // namespace

ReleaseDiff diff_releases(const OntologyRelease& a, const OntologyRelease& b,
                          const DiffOptions& options) {
  ReleaseDiff diff;
  diff.from = a.info.name;
  diff.to = b.info.name;
  auto ta = terms_by_id(a, options.prefix);
  auto tb = terms_by_id(b, options.prefix);
  auto pa = parents_by_child(a, options.relations);
  auto pb = parents_by_child(b, options.relations);
  for (const auto& [id, term_a] : ta) {
    auto it = tb.find(id);
    if (it == tb.end()) {
      diff.removed.push_back(id);
      continue;
    }
    const Term& term_b = *it->second;
    if (term_a->name != term_b.name) diff.renamed.push_back({id, term_a->name, term_b.name});
    if (!term_a->obsolete && term_b.obsolete) {
      diff.newly_obsolete.push_back({id, term_b.name, term_b.replaced_by, term_b.consider});
    }
    if (!term_a->obsolete && !term_b.obsolete) diff_parents(id, term_b, pa, pb, &diff);
  }
  for (const auto& [id, term_b] : tb) {
    if (!ta.count(id)) diff.added.push_back(id);
  }
  return diff;
}

ReleaseDiff diff_releases(const OntologyRelease& a, const OntologyRelease& b) {
  return diff_releases(a, b, DiffOptions{});
}

const char* migration_kind_name(TermMigration::Kind kind) {
  switch (kind) {
    case TermMigration::Kind::kLive: return "live";
    case TermMigration::Kind::kReplaced: return "replaced";
    case TermMigration::Kind::kUnmapped: return "unmapped";
  }
  return "?";
}

TermMigrator::TermMigrator(const OntologyRelease& to) {
  by_id_.reserve(to.terms.size());
  for (const Term& t : to.terms) by_id_.emplace(t.id, &t);
}

const Term* TermMigrator::find(const TermId& id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

namespace {

void add_unique(std::vector<TermId>* out, const std::vector<TermId>& ids) {
  for (const TermId& id : ids) {
    if (std::find(out->begin(), out->end(), id) == out->end()) out->push_back(id);
  }
}

// Follows replaced_by from `id` while the records found (in `primary`, else `fallback`) are
// obsolete; stops at a live term of `primary`, a dead end, or a loop.
TermMigration follow(const TermId& id, const TermMigrator& primary, const TermMigrator* fallback) {
  TermMigration m;
  m.from = id;
  TermId cur = id;
  std::set<TermId> seen;
  while (seen.insert(cur).second) {
    m.chain.push_back(cur);
    const Term* t = primary.find(cur);
    if (t && !t->obsolete) {
      m.to = cur;
      m.kind = cur == id ? TermMigration::Kind::kLive : TermMigration::Kind::kReplaced;
      if (m.kind == TermMigration::Kind::kLive) m.chain.clear();
      m.consider.clear();
      return m;
    }
    if (!t && fallback) t = fallback->find(cur);
    if (!t) {
      if (cur != id) add_unique(&m.consider, {cur});  // replacement outside the target release
      break;
    }
    add_unique(&m.consider, t->consider);
    if (t->replaced_by.empty()) break;
    cur = t->replaced_by.front();
  }
  m.kind = TermMigration::Kind::kUnmapped;
  m.chain.clear();
  return m;
}

}  // namespace

TermMigration TermMigrator::migrate(const TermId& id) const { return follow(id, *this, nullptr); }

TermMigration TermMigrator::migrate(const TermId& id, const TermMigrator& from) const {
  return follow(id, *this, &from);
}

TermMigration migrate_term(const OntologyRelease& to, const TermId& id) {
  return TermMigrator(to).migrate(id);
}

TermMigration migrate_term(const OntologyRelease& from, const OntologyRelease& to, const TermId& id) {
  TermMigrator target(to);
  TermMigrator source(from);
  return target.migrate(id, source);
}

}  // namespace sccello
