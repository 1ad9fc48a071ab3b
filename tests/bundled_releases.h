// The bundled Cell Ontology releases (data/ontology), read once per test binary and kept for its
// lifetime: `bundled_release(file)` as the reader gives it (its content hash filled in, as an
// import would), `bundled_graph(file)` built with the default GraphOptions (is_a, CL:).
// Not thread-safe; tests call it from the main thread.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "graph/ontology_graph.h"
#include "store/release_codec.h"
#include "store/release_store.h"

namespace sccello {

inline const OntologyRelease& bundled_release(const std::string& file) {
  static std::map<std::string, std::unique_ptr<OntologyRelease>> cache;
  auto& slot = cache[file];
  if (!slot) {
    auto rel = read_ontology_file(std::string(SCCELLO_DATA_DIR) + "/ontology/" + file, {});
    EXPECT_TRUE(rel.is_ok()) << rel.status().message();
    slot = std::make_unique<OntologyRelease>(rel.is_ok() ? std::move(rel).value() : OntologyRelease{});
    slot->info.content_hash = release_content_hash(*slot);
  }
  return *slot;
}

inline const OntologyGraph& bundled_graph(const std::string& file) {
  static std::map<std::string, std::unique_ptr<OntologyGraph>> cache;
  auto& slot = cache[file];
  if (!slot) {
    auto graph = OntologyGraph::build(bundled_release(file));
    EXPECT_TRUE(graph.is_ok()) << graph.status().message();
    slot = std::make_unique<OntologyGraph>(std::move(graph).value());
  }
  return *slot;
}

}  // namespace sccello
