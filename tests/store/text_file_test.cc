// read_text_file: plain files as they are; a single-member gzip in one call (libdeflate when
// built with it), anything else through zlib's streaming reader. Oracle: zlib's gzgets, line by
// line (TextLines), and files written here with zlib's gzwrite.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "store/text_lines.h"

namespace sccello {
namespace {

namespace fs = std::filesystem;

const std::string kGencode = std::string(SCCELLO_DATA_DIR) + "/vocab/genes_homo_sapiens_gencode_v48.csv.gz";

class TextFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sccello_text_file_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // Appends one gzip member holding `text` to the file (zlib's writer).
  void append_gzip_member(const std::string& file, const std::string& text) const {
    gzFile f = gzopen(file.c_str(), "ab");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(gzwrite(f, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
    gzclose(f);
  }
  fs::path dir_;
};

std::string lines_of(const std::string& file) {
  TextLines lines;
  EXPECT_TRUE(lines.open(file).is_ok());
  std::string all, line;
  while (lines.next(&line)) all += line + "\n";
  EXPECT_TRUE(lines.error().is_ok());
  return all;
}

TEST_F(TextFileTest, GencodeTableEqualsZlibLineByLine) {
  std::string text;
  ASSERT_TRUE(read_text_file(kGencode, &text).is_ok());
  EXPECT_EQ(text.size(), 3644152u);  // the table's uncompressed size (zcat | wc -c)
  EXPECT_EQ(text, lines_of(kGencode));
  EXPECT_EQ(text.rfind("ENSG00000290825,DDX11L16,", 0), 0u);
}

TEST_F(TextFileTest, PlainFileIsReadAsItIs) {
  const std::string file = path("plain.tsv");
  std::ofstream(file) << "gene_symbol\tgene_id\nA1BG\tENSG00000121410\n";
  std::string text;
  ASSERT_TRUE(read_text_file(file, &text).is_ok());
  EXPECT_EQ(text, "gene_symbol\tgene_id\nA1BG\tENSG00000121410\n");
}

TEST_F(TextFileTest, TwoGzipMembersAreBothRead) {
  const std::string file = path("two.gz");
  append_gzip_member(file, "first,member\n");
  append_gzip_member(file, "second,member\n");
  std::string text;
  ASSERT_TRUE(read_text_file(file, &text).is_ok());
  EXPECT_EQ(text, "first,member\nsecond,member\n");
}

TEST_F(TextFileTest, TruncatedGzipIsAnErrorNamingTheFile) {
  std::string gz;
  {
    std::ifstream in(kGencode, std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string file = path("cut.csv.gz");
  std::ofstream(file, std::ios::binary).write(gz.data(), static_cast<std::streamsize>(gz.size() / 2));
  std::string text;
  Status st = read_text_file(file, &text);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("cut.csv.gz"), std::string::npos) << st.message();
}

TEST_F(TextFileTest, MissingFileIsNotFound) {
  std::string text;
  Status st = read_text_file(path("absent.tsv"), &text);
  EXPECT_EQ(st.code(), Status::Code::kNotFound);
  EXPECT_NE(st.message().find("absent.tsv"), std::string::npos);
}

}  // namespace
}  // namespace sccello
