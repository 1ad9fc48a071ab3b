// Table: rows of strings printed as aligned text, TSV (a header row) or JSON (an array of
// objects keyed by column). Every listing command builds one and prints it. Plain value.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli_context.h"

namespace sccello {

struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;

  void add_row(std::vector<std::string> row) { rows.push_back(std::move(row)); }
};

void print_table(const Table& table, OutputFormat format, std::ostream& out);

// A number printed with a printf spec ("%.4f" by default); NaN prints as "nan".
std::string format_number(double v, const char* spec = "%.4f");
// A number for JSON output; NaN becomes null (JSON has no NaN).
nlohmann::json json_number(double v);

}  // namespace sccello
