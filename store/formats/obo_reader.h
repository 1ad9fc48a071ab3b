// OBO 1.4 reader for Cell Ontology releases (cl-basic.obo): header tags, [Term] stanzas
// (id, name, def, synonym, xref, is_a, relationship, is_obsolete, replaced_by, consider);
// [Typedef] and other stanzas are skipped. Errors name file:line and what is wrong.
// Pure functions over text; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "graph/ontology.h"
#include "graph/status.h"

namespace sccello {

// Parses OBO text. `file_name` is used in messages and as info.source_file. The release name
// is the date in `data-version` (cl/releases/2022-12-15/cl-basic.owl -> 2022-12-15), else the
// whole data-version, else the file's base name without extension.
Result<OntologyRelease> parse_obo(std::string_view text, const std::string& file_name);

// Reads and parses an .obo file.
Result<OntologyRelease> read_obo_file(const std::string& path);

// First YYYY-MM-DD found in `text`, or "".
std::string find_iso_date(std::string_view text);

// Base name of a path ("data/x/cl.obo" -> "cl.obo").
std::string path_base_name(const std::string& path);

}  // namespace sccello
