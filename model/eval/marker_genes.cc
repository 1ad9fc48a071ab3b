#include "model/eval/marker_genes.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>

#include "store/cells/gene_vocab.h"
#include "store/text_lines.h"

namespace sccello::eval {
namespace {

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

int column_of(const std::vector<std::string>& header, const std::string& name) {
  auto it = std::find(header.begin(), header.end(), name);
  return it == header.end() ? -1 : static_cast<int>(it - header.begin());
}

// The bundled table `which` ("accordion" / "panglao"), found beside the gene vocabulary.
Result<std::string> bundled_table(const std::string& which, const std::string& exe_hint) {
  SCCELLO_ASSIGN_OR_RETURN(std::string vocab_dir, GeneVocab::locate(exe_hint));
  const std::string dir = vocab_dir + "/../markers/";
  const std::string path = dir + (which == "accordion" ? "accordion_marker_slim.tsv.gz" : "PanglaoDB_markers_27_Mar_2020.tsv");
  if (!file_exists(path))
    return Status::not_found("marker table " + path + " not found (pass a path with --markers FILE)");
  return path;
}

struct Columns {
  int key = -1, gene = -1, species = -1, type = -1;
};

Status read_rows(TextLines& lines, const Columns& c, bool accordion, const MarkerTableOptions& o, MarkerTable* t) {
  std::string line;
  const int needed = std::max({c.key, c.gene, c.species, c.type});
  while (lines.next(&line)) {
    const std::vector<std::string> f = split_fields(line, '\t');
    if (static_cast<int>(f.size()) <= needed) continue;
    if (accordion) {
      if (f[c.species] != o.species || (o.positive_only && c.type >= 0 && f[c.type] != "positive")) continue;
      if (f[c.key].rfind("CL:", 0) != 0) continue;
      t->markers[f[c.key]].insert(upper(f[c.gene]));
    } else {
      const bool human = o.species == "Human" ? f[c.species].find("Hs") != std::string::npos
                                              : f[c.species].find(o.species) != std::string::npos;
      if (!human) continue;
      t->markers[normalise_type_name(f[c.key])].insert(upper(f[c.gene]));
    }
  }
  if (!lines.error().is_ok()) return lines.error();
  return Status::ok();
}

}  // namespace

std::string normalise_type_name(const std::string& name) {
  std::string s;
  for (char ch : name) s += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  if (s.size() > 3 && s.back() == 's' && s[s.size() - 2] != 's') s.pop_back();
  return s;
}

Result<MarkerTable> load_marker_table(const std::string& which, const MarkerTableOptions& options,
                                      const std::string& exe_hint) {
  std::string path = which;
  if (which == "accordion" || which == "panglao") {
    SCCELLO_ASSIGN_OR_RETURN(path, bundled_table(which, exe_hint));
  }
  TextLines lines;
  SCCELLO_RETURN_IF_ERROR(lines.open(path));
  std::string header_line;
  if (!lines.next(&header_line)) return Status::invalid(path + ": empty marker table");
  const std::vector<std::string> header = split_fields(header_line, '\t');
  MarkerTable table;
  Columns c;
  const bool accordion = column_of(header, "CL_ID") >= 0;
  if (accordion) {
    c = {column_of(header, "CL_ID"), column_of(header, "marker"), column_of(header, "species"),
         column_of(header, "marker_type")};
    table.source = which == path ? path : "accordion";
  } else {
    c = {column_of(header, "cell type"), column_of(header, "official gene symbol"), column_of(header, "species"), -1};
    table.source = which == path ? path : "panglao";
    table.by_cl_id = false;
  }
  if (c.key < 0 || c.gene < 0 || c.species < 0)
    return Status::invalid(path + ": not a marker table: expected the Cell Marker Accordion columns (CL_ID, marker, "
                                  "species) or PanglaoDB's ('cell type', 'official gene symbol', species)");
  SCCELLO_RETURN_IF_ERROR(read_rows(lines, c, accordion, options, &table));
  if (table.markers.empty())
    return Status::invalid(path + ": no marker rows for species '" + options.species + "'");
  return table;
}

const std::unordered_set<std::string>* markers_for(const MarkerTable& table, const std::string& term_id,
                                                   const std::vector<std::string>& names) {
  if (table.by_cl_id) {
    auto it = table.markers.find(term_id);
    return it == table.markers.end() ? nullptr : &it->second;
  }
  for (const std::string& name : names) {
    if (name.empty()) continue;
    auto it = table.markers.find(normalise_type_name(name));
    if (it != table.markers.end()) return &it->second;
  }
  return nullptr;
}

double auroc(const std::vector<double>& scores, const std::vector<bool>& positive) {
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double rank_sum = 0, positives = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double average_rank = (i + 1 + j) / 2.0;  // ranks i+1..j
    for (size_t k = i; k < j; ++k)
      if (positive[order[k]]) rank_sum += average_rank, positives += 1;
    i = j;
  }
  const double negatives = static_cast<double>(n) - positives;
  if (positives == 0 || negatives == 0) return std::nan("");
  return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

}  // namespace sccello::eval
