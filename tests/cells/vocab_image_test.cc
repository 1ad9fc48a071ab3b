// The vocabulary's binary image (store/cells/vocab_image.h) against the text tables it caches
// (oracle: GeneVocab::load, which parses the text): every token id, median and token lookup,
// and the mapping of every symbol of both symbol tables plus misses, through a mapped image; a
// changed table makes a new image; a truncated or overwritten image is refused, not read.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>

#include "store/cells/vocab_image.h"
#include "store/text_lines.h"
#include "tests/cells/cells_test_util.h"

namespace sccello::testing {
namespace {

namespace fs = std::filesystem;

std::string fresh_dir(const std::string& name) {
  std::string dir = temp_path(name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// The one image file in a cache folder ("" when there is none).
std::string image_in(const std::string& cache) {
  std::string found;
  for (const auto& e : fs::directory_iterator(cache))
    if (e.path().extension() == ".img") found = e.path().string();
  return found;
}

// Every symbol of both tables (the first column of the TSV, the second of the GENCODE CSV),
// and strings no table holds.
std::vector<std::string> probe_ids() {
  std::vector<std::string> ids;
  std::string text;
  EXPECT_TRUE(read_text_file(data("vocab/gene_symbol_to_ensembl.tsv"), &text).is_ok());
  std::istringstream symbols(text);
  for (std::string line; std::getline(symbols, line);) ids.push_back(line.substr(0, line.find('\t')));
  EXPECT_TRUE(read_text_file(data("vocab/genes_homo_sapiens_gencode_v48.csv.gz"), &text).is_ok());
  std::istringstream gencode(text);
  for (std::string line; std::getline(gencode, line);) {
    size_t a = line.find(',');
    if (a != std::string::npos) ids.push_back(line.substr(a + 1, line.find(',', a + 1) - a - 1));
  }
  for (std::string miss : {"", "NOT-A-GENE", "cd3e", "ENSG00000000000", "CD3E ", "MT-", "\xff\xfe"}) ids.push_back(miss);
  // Ensembl ids as matrices name them: bare, with a version, and ones the vocabulary lacks.
  for (int32_t t = 2; t < vocab().size(); t += 7) {
    ids.push_back(vocab().gene_id(t));
    ids.push_back(vocab().gene_id(t) + "." + std::to_string(t % 13));
  }
  for (std::string other : {"ENSG00000000000.1", "ENSMUSG00000000001", "ENS", "ENSG"}) ids.push_back(other);
  EXPECT_GT(ids.size(), 100000u);
  return ids;
}

void expect_same(const GeneVocab& got, const GeneVocab& want, const std::vector<std::string>& probes) {
  for (int32_t t = 0; t < want.size(); ++t) {
    ASSERT_EQ(got.gene_id(t), want.gene_id(t)) << t;
    ASSERT_EQ(got.median(t), want.median(t)) << t;
    ASSERT_EQ(got.token_of(want.gene_id(t)), want.token_of(want.gene_id(t))) << t;
  }
  const std::vector<GeneMapping> batch = got.map_all(probes);  // the batched, prefetching form
  ASSERT_EQ(batch.size(), probes.size());
  for (size_t i = 0; i < probes.size(); ++i) {
    const std::string& id = probes[i];
    GeneMapping a = got.map(id), b = want.map(id);
    ASSERT_EQ(static_cast<int>(a.kind), static_cast<int>(b.kind)) << id;
    ASSERT_EQ(a.token, b.token) << id;
    ASSERT_EQ(a.ensembl_id, b.ensembl_id) << id;
    ASSERT_EQ(static_cast<int>(batch[i].kind), static_cast<int>(b.kind)) << id;
    ASSERT_EQ(batch[i].token, b.token) << id;
    ASSERT_EQ(batch[i].ensembl_id, b.ensembl_id) << id;
  }
}

TEST(cellsVocabImage, MappedImageEqualsTheTextTables) {
  const std::string cache = fresh_dir("vocab_cache");
  auto first = GeneVocab::load_cached(data("vocab"), cache);
  ASSERT_TRUE(first.is_ok()) << first.status().message();
  EXPECT_FALSE(first->mapped_from_image());  // parsed, and the image written
  ASSERT_FALSE(image_in(cache).empty());
  auto second = GeneVocab::load_cached(data("vocab"), cache);
  ASSERT_TRUE(second.is_ok()) << second.status().message();
  ASSERT_TRUE(second->mapped_from_image());
  const std::vector<std::string> probes = probe_ids();
  expect_same(*second, vocab(), probes);
  expect_same(*first, vocab(), probes);
  EXPECT_TRUE(second->symbol_tables_status().is_ok());
  EXPECT_EQ(second->symbol(second->token_of("ENSG00000198851")), vocab().symbol(vocab().token_of("ENSG00000198851")));
  EXPECT_EQ(GeneVocab::load_cached(data("vocab"), "").value().mapped_from_image(), false);  // no cache folder
}

TEST(cellsVocabImage, ChangedTableMakesANewImage) {
  const std::string dir = fresh_dir("vocab_copy"), cache = fresh_dir("vocab_cache_changed");
  for (const auto& e : fs::directory_iterator(data("vocab"))) fs::copy_file(e.path(), dir + "/" + e.path().filename().string());
  ASSERT_TRUE(GeneVocab::load_cached(dir, cache).is_ok());
  ASSERT_TRUE(GeneVocab::load_cached(dir, cache).value().mapped_from_image());
  // The median of one gene changes: the image made before must not answer for the new table.
  std::string medians;
  ASSERT_TRUE(read_text_file(dir + "/gene_median_dictionary.tsv", &medians).is_ok());
  std::istringstream lines(medians);
  std::string header, first;
  std::getline(lines, header);
  std::getline(lines, first);
  const std::string gene = first.substr(0, first.find('\t'));
  std::string rewritten = header + "\n" + gene + "\t123.5\n" + medians.substr(header.size() + first.size() + 2);
  std::ofstream(dir + "/gene_median_dictionary.tsv", std::ios::trunc) << rewritten;
  auto changed = GeneVocab::load_cached(dir, cache);
  ASSERT_TRUE(changed.is_ok()) << changed.status().message();
  EXPECT_FALSE(changed->mapped_from_image());
  const int32_t token = changed->token_of(gene);
  ASSERT_GE(token, 2);
  EXPECT_EQ(changed->median(token), 123.5);
  auto again = GeneVocab::load_cached(dir, cache);
  ASSERT_TRUE(again->mapped_from_image());
  EXPECT_EQ(again->median(token), 123.5);
}

TEST(cellsVocabImage, DamagedImageIsRefusedAndRebuilt) {
  const std::string cache = fresh_dir("vocab_cache_damaged");
  ASSERT_TRUE(GeneVocab::load_cached(data("vocab"), cache).is_ok());
  const std::string image = image_in(cache);
  const uint64_t key = vocab_tables_key(data("vocab"));
  ASSERT_NE(VocabImage::open(image, key), nullptr);
  EXPECT_EQ(VocabImage::open(image, key ^ 1), nullptr);  // written under another key
  const auto size = fs::file_size(image);
  auto damage = [&](const std::function<void(std::string*)>& how) {
    std::string bytes;
    {
      std::ifstream in(image, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    how(&bytes);
    std::ofstream(image, std::ios::binary | std::ios::trunc) << bytes;
  };
  damage([&](std::string* b) { b->resize(size / 2); });  // truncated
  EXPECT_EQ(VocabImage::open(image, key), nullptr);
  auto rebuilt = GeneVocab::load_cached(data("vocab"), cache);
  ASSERT_TRUE(rebuilt.is_ok());
  EXPECT_FALSE(rebuilt->mapped_from_image());
  ASSERT_NE(VocabImage::open(image, key), nullptr);  // the text rewrote it
  damage([&](std::string* b) { std::fill(b->begin() + 128, b->end(), '\xff'); });  // every offset out of range
  EXPECT_EQ(VocabImage::open(image, key), nullptr);
  auto again = GeneVocab::load_cached(data("vocab"), cache);
  ASSERT_TRUE(again.is_ok());
  EXPECT_FALSE(again->mapped_from_image());
  const std::vector<std::string> probes = probe_ids();
  expect_same(*again, vocab(), probes);
  expect_same(GeneVocab::load_cached(data("vocab"), cache).value(), vocab(), probes);
}

}  // namespace
}  // namespace sccello::testing
