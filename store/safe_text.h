// Text from hostile input: one UTF-8 policy, TSV escaping and a JSON dump that cannot throw.
// Policy (docs/hostile-input.md): text read from input files (OBO, cellxgene JSON, h5ad obs,
// 10x barcodes/features, TSV tables) and names given on the command line must be valid UTF-8;
// anything else is refused with the file and line (or dataset and row) of the first bad byte.
// Nothing is repaired silently. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "graph/status.h"

namespace sccello {

// Byte offset of the first byte that does not start a well-formed UTF-8 sequence (overlong
// forms, surrogates and code points above U+10FFFF are ill-formed), or npos when `s` is valid.
size_t first_invalid_utf8(std::string_view s);
inline bool is_valid_utf8(std::string_view s) { return first_invalid_utf8(s) == std::string_view::npos; }

// ok, or Invalid "<where>: <what> is not valid UTF-8 (byte 0xNN at offset K); re-save the file
// as UTF-8". `where` names the file:line, dataset:row or option.
Status check_utf8(std::string_view s, const std::string& where, const std::string& what);

// A name given on the command line (dataset, release): non-empty, valid UTF-8, no control
// characters and no '/'. Errors say which `what` ("dataset name", "release name").
Status check_name(std::string_view name, const std::string& what);

// `s` with every ill-formed sequence replaced by U+FFFD: for messages that quote input.
std::string replace_invalid_utf8(std::string_view s);

// One TSV cell: backslash, TAB, LF and CR written as \\, \t, \n, \r (the escapes of the
// IANA text/tab-separated-values convention), so a label can never split a row or a column.
std::string tsv_escape(std::string_view s);

// json.dump(indent) that never throws: invalid UTF-8 in strings is replaced by U+FFFD.
std::string json_dump(const nlohmann::json& j, int indent = -1);
std::string json_dump(const nlohmann::ordered_json& j, int indent = -1);

}  // namespace sccello
