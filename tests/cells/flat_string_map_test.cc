// FlatStringMap against std::unordered_map on the vocabulary's own keys (every Ensembl id and
// symbol of the bundled tables) plus misses, with and without reserve().
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <unordered_map>

#include "store/cells/flat_string_map.h"
#include "tests/cells/cells_test_util.h"

namespace sccello::testing {
namespace {

std::vector<std::string> table_keys() {
  std::ifstream in(data("vocab/gene_symbol_to_ensembl.tsv"));
  std::vector<std::string> keys;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string symbol, id;
    std::getline(fields, symbol, '\t');
    std::getline(fields, id, '\t');
    keys.push_back(symbol);  // symbols repeat with other ids: the first insert must win
    keys.push_back(id);
  }
  return keys;
}

void expect_same_as_unordered_map(bool reserve) {
  const std::vector<std::string> keys = table_keys();
  ASSERT_GT(keys.size(), 80000u);
  FlatStringMap<int32_t> flat;
  std::unordered_map<std::string_view, int32_t> oracle;
  if (reserve) flat.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i)
    ASSERT_EQ(flat.emplace(keys[i], static_cast<int32_t>(i)), oracle.emplace(keys[i], static_cast<int32_t>(i)).second);
  EXPECT_EQ(flat.size(), oracle.size());
  for (const auto& [key, value] : oracle) {
    const int32_t* got = flat.find(key);
    ASSERT_NE(got, nullptr) << key;
    EXPECT_EQ(*got, value) << key;
  }
  for (const char* miss : {"", "ENSG", "ENSG00000000000", "not-a-gene", "CD3E ", "cd3e"})
    EXPECT_EQ(flat.find(miss) != nullptr, oracle.count(miss) > 0) << miss;
}

TEST(FlatStringMap, EqualsUnorderedMapOnTheSymbolTable) { expect_same_as_unordered_map(true); }
TEST(FlatStringMap, GrowsPastItsReserve) { expect_same_as_unordered_map(false); }

// emplace_all (prefetching, in batches) against the same oracle, in two batches onto a map that
// already holds keys, so that the batch both inserts and meets keys already present.
TEST(FlatStringMap, EmplaceAllEqualsUnorderedMap) {
  const std::vector<std::string> keys = table_keys();
  std::vector<std::pair<std::string_view, int32_t>> pairs;
  for (size_t i = 0; i < keys.size(); ++i) pairs.emplace_back(keys[i], static_cast<int32_t>(i));
  FlatStringMap<int32_t> flat;
  std::unordered_map<std::string_view, int32_t> oracle;
  for (size_t i = 0; i < 100; ++i) {
    flat.emplace(pairs[i].first, -1);
    oracle.emplace(pairs[i].first, -1);
  }
  const size_t half = pairs.size() / 2;
  flat.emplace_all(pairs.begin(), pairs.begin() + half);
  flat.emplace_all(pairs.begin() + half, pairs.end());
  for (const auto& [key, value] : pairs) oracle.emplace(key, value);
  EXPECT_EQ(flat.size(), oracle.size());
  for (const auto& [key, value] : oracle) {
    const int32_t* got = flat.find(key);
    ASSERT_NE(got, nullptr) << key;
    EXPECT_EQ(*got, value) << key;
  }
}

TEST(FlatStringMap, EmptyMapFindsNothing) {
  FlatStringMap<int32_t> empty;
  EXPECT_EQ(empty.find("CD3E"), nullptr);
  FlatStringMap<int32_t> one;
  EXPECT_TRUE(one.emplace(std::string_view(), 7));  // the empty key (a null data pointer) is a key too
  ASSERT_NE(one.find(""), nullptr);
  EXPECT_EQ(*one.find(std::string_view()), 7);
  EXPECT_EQ(empty.size(), 0u);
}

}  // namespace
}  // namespace sccello::testing
