// Reader for the cellxgene-ontology-guide JSON ({"CL:...": {label, synonyms, deprecated,
// replaced_by, consider, ancestors: {id: distance}}}), plain or gzip-compressed. Parents are
// the ancestors at distance 1 (stored as is_a edges). Errors name file[:line] and key.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "graph/ontology.h"
#include "graph/status.h"

namespace sccello {

// Parses JSON text. The release name is the version in the file name
// (CL-ontology-v2024-01-04.json.gz -> 2024-01-04), else its base name.
Result<OntologyRelease> parse_cellxgene_json(std::string_view text, const std::string& file_name);

// Reads a .json or .json.gz file (gzip detected by its magic bytes).
Result<OntologyRelease> read_cellxgene_json_file(const std::string& path);

// Whole file contents, gunzipped when it starts with the gzip magic. A truncated or damaged
// gzip stream is an error naming the file.
Result<std::string> read_maybe_gzip(const std::string& path);

}  // namespace sccello
