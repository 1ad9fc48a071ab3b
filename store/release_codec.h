// Binary encoding of ontology releases for the store: one compact record for a release's
// content (terms + edges) and one for its ReleaseInfo. The content encoding is also what the
// content hash digests (SHA-256 of encode_release_content). Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "graph/ontology.h"
#include "graph/status.h"

namespace sccello {

// Terms and edges of `release` (not its info), in their stored order.
std::string encode_release_content(const OntologyRelease& release);
// Fills terms and edges of *release. `key` names the record in Corruption messages.
Status decode_release_content(std::string_view bytes, const std::string& key, OntologyRelease* release);

// ReleaseInfo plus the store's import sequence number (newest = largest).
std::string encode_release_info(const ReleaseInfo& info, uint64_t sequence);
Status decode_release_info(std::string_view bytes, const std::string& key, ReleaseInfo* info,
                           uint64_t* sequence);

// Hex SHA-256 of the canonical content encoding.
std::string release_content_hash(const OntologyRelease& release);

}  // namespace sccello
