// OBO and cellxgene JSON readers on the real CL releases (counts found by scanning the files
// line by line here, independently of the parser) and on every malformed input.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "store/formats/cellxgene_json_reader.h"
#include "store/formats/obo_reader.h"
#include "store/release_store.h"

namespace sccello {
namespace {

const std::string kOnto = std::string(SCCELLO_DATA_DIR) + "/ontology/";

struct LineCounts {
  size_t terms = 0, obsolete = 0, edges = 0, is_a = 0, synonyms = 0;
};

// The obvious count: tag lines inside [Term] stanzas.
LineCounts count_obo_lines(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  bool in_term = false;
  LineCounts c;
  auto starts = [&](const char* p) { return line.rfind(p, 0) == 0; };
  while (std::getline(in, line)) {
    if (starts("[")) { in_term = line == "[Term]"; c.terms += in_term; continue; }
    if (!in_term) continue;
    c.obsolete += starts("is_obsolete: true");
    c.is_a += starts("is_a: ");
    // Relationship lines whose target is an IRI (dc-contributor ORCIDs, seeAlso links) are annotations.
    bool iri_target = starts("relationship: ") && line.substr(0, line.find_first_of("{!")).find("://") != std::string::npos;
    c.edges += starts("is_a: ") || (starts("relationship: ") && !iri_target);
    c.synonyms += starts("synonym: ");
  }
  return c;
}

TEST(OboReader, CountsMatchTheFilesLines) {
  for (const char* name : {"cl-basic-2021-12-16.obo", "cl-basic-2022-12-15.obo"}) {
    auto r = read_obo_file(kOnto + name);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    LineCounts c = count_obo_lines(kOnto + name);
    EXPECT_EQ(r->terms.size(), c.terms) << name;
    size_t obsolete = 0, synonyms = 0;
    for (const Term& t : r->terms) { obsolete += t.obsolete; synonyms += t.synonyms.size(); }
    EXPECT_EQ(obsolete, c.obsolete) << name;
    EXPECT_EQ(synonyms, c.synonyms) << name;
    EXPECT_EQ(r->edges.size(), c.edges) << name;
  }
  LineCounts c2022 = count_obo_lines(kOnto + "cl-basic-2022-12-15.obo");
  EXPECT_EQ(c2022.terms, 2804u);  // 2795 CL: + 9 CP:
  EXPECT_EQ(c2022.edges, 4498u);  // 5,630 is_a/relationship lines minus 1,132 with IRI targets
  EXPECT_EQ(c2022.is_a, 3705u);
}

TEST(OboReader, HeaderTermFieldsAndRelationships) {
  auto r = read_obo_file(kOnto + "cl-basic-2022-12-15.obo").value();
  EXPECT_EQ(r.info.name, "2022-12-15");
  EXPECT_EQ(r.info.data_version, "cl/releases/2022-12-15/cl-basic.owl");
  EXPECT_EQ(r.info.source_file, "cl-basic-2022-12-15.obo");
  EXPECT_EQ(r.info.source_format, "obo");
  const Term* b = nullptr;
  for (const Term& t : r.terms) if (t.id == "CL:0000236") b = &t;
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->name, "B cell");
  EXPECT_EQ(b->definition, "A lymphocyte of B lineage that is capable of B cell mediated immunity.");
  ASSERT_EQ(b->synonyms.size(), 3u);
  EXPECT_EQ(b->synonyms[0].text, "B lymphocyte");
  EXPECT_EQ(b->synonyms[0].scope, "EXACT");
  EXPECT_EQ(b->xrefs.front(), "BTO:0000776");
  std::vector<Edge> b_edges;
  for (const Edge& e : r.edges) if (e.child == "CL:0000236") b_edges.push_back(e);
  // is_a with a {qualifier} and ! comment; a relationship to a term outside CL.
  EXPECT_EQ(b_edges, (std::vector<Edge>{{"CL:0000236", "is_a", "CL:0000945"},
                                        {"CL:0000236", "present_in_taxon", "NCBITaxon:9606"}}));
  const Term* valve = nullptr;
  for (const Term& t : r.terms) if (t.id == "CL:0000663") valve = &t;
  ASSERT_NE(valve, nullptr);
  EXPECT_TRUE(valve->obsolete);
  EXPECT_EQ(valve->replaced_by, (std::vector<TermId>{"CL:1000147"}));
}

TEST(OboReader, EscapedQuotesInDefinitions) {
  auto r = read_obo_file(kOnto + "cl-basic-2022-12-15.obo").value();
  size_t with_quote = 0;
  for (const Term& t : r.terms) with_quote += t.definition.find("\"feet\"") != std::string::npos;
  EXPECT_GE(with_quote, 2u);  // podocyte definitions quote "feet"
}

Result<OntologyRelease> parse(const std::string& text) { return parse_obo(text, "bad.obo"); }

void expect_error(const std::string& text, const std::string& where, const std::string& what) {
  auto r = parse(text);
  ASSERT_FALSE(r.is_ok()) << text;
  EXPECT_NE(r.status().message().find(where), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
}

TEST(OboReader, MalformedInputsNameFileLineAndProblem) {
  const std::string head = "format-version: 1.2\ndata-version: x/2020-01-02/y\n\n";
  expect_error(head + "[Term]\nname: no id\n", "bad.obo:4", "without an 'id:'");
  expect_error(head + "[Term]\nid: CL:1\n\n[Term]\nid: CL:1\n", "bad.obo:7", "duplicate id CL:1");
  expect_error(head + "[Term]\nid: CL:1\ndef: \"never closed [X:1]\n", "bad.obo:6", "unterminated quoted");
  expect_error(head + "[Term]\nid: CL:1\nsynonym: \"open EXACT []\n", "bad.obo:6", "unterminated quoted");
  const char binary[] = "[Term]\nid: CL:1\nname: a\x01\x02\x00z\n";
  expect_error(head + std::string(binary, sizeof binary - 1), "bad.obo:6", "binary");
  expect_error(head + "[Term\nid: CL:1\n", "bad.obo:4", "unterminated stanza header");
  expect_error(head + "[Term]\nid: CL:1\njust words\n", "bad.obo:6", "expected 'tag: value'");
  expect_error(head + "[Term]\nid: CL:1\nrelationship: part_of\n", "bad.obo:6", "RELATION TARGET");
  expect_error("", "bad.obo", "no [Term] stanzas");
  std::string gz(std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00", 8));
  expect_error(gz, "bad.obo:1", "binary");
}

TEST(OboReader, TypedefsSkippedCommentsAndQualifiersStripped) {
  auto r = parse(
      "format-version: 1.4\n! a comment line\n\n[Typedef]\nid: part_of\nname: part of\nis_a: x\n\n"
      "[Term]\nid: CL:1\nname: one ! trailing comment\n\n"
      "[Term]\nid: CL:2\nname: two {with=\"brace\"}\ndef: \"says \\\"hi\\\" ! not a comment\" [X:1]\n"
      "is_a: CL:1 {is_inferred=\"true\"} ! one\nrelationship: part_of UBERON:9 ! limb\n\n[Instance]\nid: i1\n");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->terms.size(), 2u);
  EXPECT_EQ(r->terms[0].name, "one");
  EXPECT_EQ(r->terms[1].name, "two");
  EXPECT_EQ(r->terms[1].definition, "says \"hi\" ! not a comment");
  EXPECT_EQ(r->edges, (std::vector<Edge>{{"CL:2", "is_a", "CL:1"}, {"CL:2", "part_of", "UBERON:9"}}));
  EXPECT_EQ(r->info.name, "bad");  // no data-version: the file's base name
}

TEST(CellxgeneJsonReader, CountsMatchTheFile) {
  // 2,987 terms, 251 deprecated, 3,809 ancestors at distance 1 (python json over the file).
  auto r = read_cellxgene_json_file(kOnto + "CL-ontology-v2024-01-04.json.gz");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->info.name, "2024-01-04");
  EXPECT_EQ(r->info.source_format, "cellxgene-json");
  EXPECT_EQ(r->terms.size(), 2987u);
  size_t obsolete = 0;
  for (const Term& t : r->terms) obsolete += t.obsolete;
  EXPECT_EQ(obsolete, 251u);
  EXPECT_EQ(r->edges.size(), 3809u);
  EXPECT_EQ(r->terms.front().id, "CL:0000000");  // file order kept
  auto r25 = read_cellxgene_json_file(kOnto + "CL-ontology-v2025-01-08.json.gz").value();
  EXPECT_EQ(r25.info.name, "2025-01-08");
  EXPECT_EQ(r25.terms.size(), 3119u);
  EXPECT_EQ(r25.edges.size(), 4035u);
}

std::map<TermId, std::set<TermId>> live_parents(const OntologyRelease& r) {
  std::set<TermId> live;
  for (const Term& t : r.terms) if (!t.obsolete) live.insert(t.id);
  std::map<TermId, std::set<TermId>> out;
  for (const Edge& e : r.edges) if (e.relation == "is_a" && live.count(e.child)) out[e.child].insert(e.parent);
  for (const TermId& id : live) out[id];
  return out;
}

TEST(CellxgeneJsonReader, AgreesWithOboOfTheNearestReleaseOnParents) {
  auto obo = live_parents(read_obo_file(kOnto + "cl-basic-2022-12-15.obo").value());
  auto json = live_parents(read_cellxgene_json_file(kOnto + "CL-ontology-v2024-01-04.json.gz").value());
  size_t shared = 0, same = 0;
  for (const auto& [id, parents] : json) {
    auto it = obo.find(id);
    if (it == obo.end() || id.rfind("CL:", 0) != 0) continue;
    ++shared;
    same += it->second == parents;
  }
  // A year apart: 2,340 of 2,621 shared live terms keep identical parents; most differences are
  // the 2023 removal of "native cell" (CL:0000003) and "animal cell" (CL:0000548) as parents.
  EXPECT_EQ(shared, 2621u);
  EXPECT_EQ(same, 2340u);
  EXPECT_EQ(json["CL:0000236"], (std::set<TermId>{"CL:0000945"}));
  EXPECT_EQ(json["CL:0000624"], obo["CL:0000624"]);
  EXPECT_EQ(json["CL:0000625"], obo["CL:0000625"]);
}

class TempDir {
 public:
  TempDir() : path_(std::filesystem::temp_directory_path() / ("sccello_rr_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name, const std::string& bytes) const {
    std::string p = (path_ / name).string();
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  std::filesystem::path path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(CellxgeneJsonReader, TruncatedGzipIsAnError) {
  TempDir dir;
  std::string whole = slurp(kOnto + "CL-ontology-v2024-01-04.json.gz");
  std::string p = dir.file("CL-ontology-v2024-01-04.json.gz", whole.substr(0, whole.size() / 2));
  auto r = read_cellxgene_json_file(p);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("truncated or damaged gzip"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(p), std::string::npos);
}

TEST(CellxgeneJsonReader, WrongShapeAndSyntaxErrorsNameKeyOrLine) {
  auto expect = [](const std::string& text, const std::string& what) {
    auto r = parse_cellxgene_json(text, "x.json");
    ASSERT_FALSE(r.is_ok()) << text;
    EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
  };
  expect("[1, 2]", "not an object");
  expect("{\"CL:1\": 5}", "key 'CL:1'");
  expect("{\"CL:1\": {\"ancestors\": {}}}", "missing string 'label'");
  expect("{\"CL:1\": {\"label\": \"a\"}}", "missing object 'ancestors'");
  expect("{\"CL:1\": {\"label\": \"a\", \"ancestors\": {\"CL:0\": \"one\"}}}", "CL:1/ancestors/CL:0");
  expect("{\"CL:1\": {\"label\": \"a\", \"deprecated\": \"no\", \"ancestors\": {}}}", "CL:1/deprecated");
  expect("{\n\"CL:1\": {\n\"label\": \"a\",,\n}}", "x.json:3");
  expect("{}", "no terms");
}

TEST(ReadOntologyFile, DispatchesOnExtensionAndOverridesName) {
  ImportOptions options;
  options.release_name = "mine";
  auto r = read_ontology_file(kOnto + "cl-basic-2021-12-16.obo", options);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->info.name, "mine");
  auto bad = read_ontology_file(kOnto + "nothing.txt", {});
  EXPECT_NE(bad.status().message().find("unknown ontology format"), std::string::npos);
  auto missing = read_ontology_file(kOnto + "missing.obo", {});
  EXPECT_NE(missing.status().message().find("missing.obo"), std::string::npos);
}

}  // namespace
}  // namespace sccello
