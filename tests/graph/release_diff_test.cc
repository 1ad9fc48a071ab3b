// diff_releases and migrate_term on the two real OBO releases (2021-12-16 -> 2022-12-15).
// Expected counts were found with an independent script over the two .obo files.
#include "graph/release_diff.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/bundled_releases.h"

namespace sccello {
namespace {


const OntologyRelease& r2021() { return bundled_release("cl-basic-2021-12-16.obo"); }
const OntologyRelease& r2022() { return bundled_release("cl-basic-2022-12-15.obo"); }

TEST(ReleaseDiff, CountsBetweenTheTwoOboReleases) {
  ReleaseDiff d = diff_releases(r2021(), r2022());
  EXPECT_EQ(d.from, "2021-12-16");
  EXPECT_EQ(d.to, "2022-12-15");
  EXPECT_EQ(d.added.size(), 215u);
  EXPECT_EQ(d.removed, (std::vector<TermId>{"CL:0000111", "CL:0000328", "CL:0002609"}));
  EXPECT_EQ(d.newly_obsolete.size(), 17u);
  auto with_replacement = std::count_if(d.newly_obsolete.begin(), d.newly_obsolete.end(),
                                        [](const ObsoletedTerm& o) { return !o.replaced_by.empty(); });
  EXPECT_EQ(with_replacement, 15);
  EXPECT_EQ(d.parents_changed.size(), 68u);
  EXPECT_EQ(d.renamed.size(), 57u);
  EXPECT_TRUE(std::is_sorted(d.added.begin(), d.added.end()));
}

TEST(ReleaseDiff, PrefixRestrictsTheComparison) {
  DiffOptions cl;
  cl.prefix = "CL:";
  ReleaseDiff d = diff_releases(r2021(), r2022(), cl);
  EXPECT_EQ(d.added.size(), 215u);
  EXPECT_EQ(d.newly_obsolete.size(), 9u);  // the other 8 are CP: ids moved into CL:
  EXPECT_EQ(d.renamed.size(), 48u);
  EXPECT_EQ(d.parents_changed.size(), 68u);
}

TEST(ReleaseDiff, IdenticalReleasesHaveNoDifferences) {
  ReleaseDiff d = diff_releases(r2022(), r2022());
  EXPECT_TRUE(d.added.empty() && d.removed.empty() && d.renamed.empty());
  EXPECT_TRUE(d.newly_obsolete.empty() && d.parents_changed.empty());
}

TEST(TermMigration, ObsoletedTermFollowsItsReplacement) {
  // CL:0000663 "valve cell" was obsoleted in 2022-12-15, replaced_by CL:1000147.
  TermMigration m = migrate_term(r2022(), "CL:0000663");
  EXPECT_EQ(m.kind, TermMigration::Kind::kReplaced);
  EXPECT_EQ(m.to, "CL:1000147");
  EXPECT_EQ(m.chain, (std::vector<TermId>{"CL:0000663", "CL:1000147"}));
  TermMigration back = migrate_term(r2021(), "CL:0000663");
  EXPECT_EQ(back.kind, TermMigration::Kind::kLive);
  EXPECT_EQ(back.to, "CL:0000663");
  TermMigration cp = migrate_term(r2021(), r2022(), "CP:0000000");
  EXPECT_EQ(cp.kind, TermMigration::Kind::kReplaced);
  EXPECT_EQ(cp.to, "CL:0017500");
}

TEST(TermMigration, LiveUnmappedAndOutsideReplacement) {
  EXPECT_EQ(migrate_term(r2022(), "CL:0000236").kind, TermMigration::Kind::kLive);
  // Obsoleted without replacement.
  TermMigration none = migrate_term(r2022(), "CL:0008029");
  EXPECT_EQ(none.kind, TermMigration::Kind::kUnmapped);
  EXPECT_TRUE(none.to.empty());
  // Replaced by a PCL: term that is not part of the release: unmapped, the id offered to consider.
  TermMigration pcl = migrate_term(r2022(), "CL:4023034");
  EXPECT_EQ(pcl.kind, TermMigration::Kind::kUnmapped);
  EXPECT_EQ(pcl.consider, (std::vector<TermId>{"PCL:1000002"}));
  EXPECT_EQ(migrate_term(r2022(), "CL:9999999").kind, TermMigration::Kind::kUnmapped);
}

TEST(TermMigration, ChainsAndLoops) {
  OntologyRelease r;
  Term a{"CL:1", "a"}, b{"CL:2", "b"}, c{"CL:3", "c"}, x{"CL:8", "x"}, y{"CL:9", "y"};
  a.obsolete = b.obsolete = true;
  a.replaced_by = {"CL:2"};
  b.replaced_by = {"CL:3"};
  x.obsolete = y.obsolete = true;
  x.replaced_by = {"CL:9"};
  y.replaced_by = {"CL:8"};
  y.consider = {"CL:3"};
  r.terms = {a, b, c, x, y};
  TermMigration m = migrate_term(r, "CL:1");
  EXPECT_EQ(m.kind, TermMigration::Kind::kReplaced);
  EXPECT_EQ(m.to, "CL:3");
  EXPECT_EQ(m.chain.size(), 3u);
  TermMigration loop = migrate_term(r, "CL:8");
  EXPECT_EQ(loop.kind, TermMigration::Kind::kUnmapped);
  EXPECT_EQ(loop.consider, (std::vector<TermId>{"CL:3"}));
}

}  // namespace
}  // namespace sccello
