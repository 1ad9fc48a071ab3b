#include "cli/table.h"

#include <cstdio>

#include <cmath>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "store/safe_text.h"

namespace sccello {
namespace {

// TSV cells must not contain tabs or newlines: escaped as \t, \n (store/safe_text.h).
std::string tsv_cell(const std::string& s) { return tsv_escape(s); }

void print_tsv(const Table& t, std::ostream& out) {
  for (size_t c = 0; c < t.columns.size(); ++c) out << (c ? "\t" : "") << t.columns[c];
  out << '\n';
  for (const auto& row : t.rows) {
    for (size_t c = 0; c < row.size(); ++c) out << (c ? "\t" : "") << tsv_cell(row[c]);
    out << '\n';
  }
}

void print_json(const Table& t, std::ostream& out) {
  nlohmann::json array = nlohmann::json::array();
  for (const auto& row : t.rows) {
    nlohmann::json obj = nlohmann::json::object();
    for (size_t c = 0; c < t.columns.size() && c < row.size(); ++c) obj[t.columns[c]] = row[c];
    array.push_back(std::move(obj));
  }
  out << json_dump(array, 2) << '\n';
}

// Display width of UTF-8 text (code points; good enough for ontology names).
size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

void print_text(const Table& t, std::ostream& out) {
  std::vector<size_t> width(t.columns.size());
  for (size_t c = 0; c < t.columns.size(); ++c) width[c] = display_width(t.columns[c]);
  for (const auto& row : t.rows)
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) width[c] = std::max(width[c], display_width(row[c]));
  auto print_row = [&](const std::vector<std::string>& row) {
    for (size_t c = 0; c < row.size(); ++c) {
      out << row[c];
      if (c + 1 < row.size()) out << std::string(width[c] - display_width(row[c]) + 2, ' ');
    }
    out << '\n';
  };
  print_row(t.columns);
  for (const auto& row : t.rows) print_row(row);
}

}  // namespace

void print_table(const Table& table, OutputFormat format, std::ostream& out) {
  switch (format) {
    case OutputFormat::kTsv: print_tsv(table, out); break;
    case OutputFormat::kJson: print_json(table, out); break;
    case OutputFormat::kText: print_text(table, out); break;
  }
}

std::string format_number(double v, const char* spec) {
  if (std::isnan(v)) return "nan";
  char buf[40];
  std::snprintf(buf, sizeof buf, spec, v);
  return buf;
}

nlohmann::json json_number(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }

}  // namespace sccello
