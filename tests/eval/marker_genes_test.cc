// Marker tables (the bundled Cell Marker Accordion and PanglaoDB files) and the AUROC of a gene
// ranking, against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "model/eval/marker_genes.h"

namespace sccello::eval {
namespace {

TEST(MarkerAuroc, HandComputedValues) {
  // Positives 0.9 and 0.7 against negatives 0.8, 0.6, 0.5: 0.9 beats 3, 0.7 beats 2 -> 5 / 6.
  EXPECT_NEAR(auroc({0.9, 0.8, 0.7, 0.6, 0.5}, {true, false, true, false, false}), 5.0 / 6.0, 1e-12);
  // A tie between a positive and a negative counts one half: (0.5 + 1) / 2.
  EXPECT_NEAR(auroc({0.5, 0.5, 0.2}, {true, false, false}), 0.75, 1e-12);
  // Markers ranked last.
  EXPECT_NEAR(auroc({0.1, 0.3, 0.2}, {true, false, false}), 0.0, 1e-12);
  EXPECT_TRUE(std::isnan(auroc({0.1, 0.2}, {false, false})));
  EXPECT_TRUE(std::isnan(auroc({0.1, 0.2}, {true, true})));
}

TEST(MarkerTables, AccordionByClId) {
  setenv("SCCELLO_DATA_DIR", SCCELLO_DATA_DIR, 1);
  auto table = load_marker_table("accordion", MarkerTableOptions{});
  ASSERT_TRUE(table.is_ok()) << table.status().message();
  EXPECT_TRUE(table->by_cl_id);
  EXPECT_EQ(table->markers.size(), 728u);  // human CL ids with positive markers
  const auto* b = markers_for(*table, "CL:0000236", {});
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->size(), 1215u);
  EXPECT_EQ(b->count("MS4A1"), 1u);
  EXPECT_EQ(b->count("CD79A"), 1u);
  EXPECT_EQ(markers_for(*table, "CL:9999999", {"B cell"}), nullptr);
}

TEST(MarkerTables, PanglaoByName) {
  setenv("SCCELLO_DATA_DIR", SCCELLO_DATA_DIR, 1);
  auto table = load_marker_table("panglao", MarkerTableOptions{});
  ASSERT_TRUE(table.is_ok()) << table.status().message();
  EXPECT_FALSE(table->by_cl_id);
  EXPECT_EQ(normalise_type_name("B cells"), "b cell");
  EXPECT_EQ(normalise_type_name("Monocytes"), "monocyte");
  const auto* b = markers_for(*table, "CL:0000236", {"", "B cell"});
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->size(), 98u);
  EXPECT_EQ(b->count("MS4A1"), 1u);
}

TEST(MarkerTables, ErrorsNameTheFile) {
  auto missing = load_marker_table("/nonexistent/markers.tsv", MarkerTableOptions{});
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/markers.tsv"), std::string::npos);
  auto wrong = load_marker_table(std::string(SCCELLO_DATA_DIR) + "/vocab/token_dictionary.tsv", MarkerTableOptions{});
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_NE(wrong.status().message().find("not a marker table"), std::string::npos) << wrong.status().message();
}

}  // namespace
}  // namespace sccello::eval
