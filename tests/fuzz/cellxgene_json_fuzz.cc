// libFuzzer harness: the cellxgene JSON reader (nlohmann parse errors, shapes, numbers).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "graph/ontology_graph.h"
#include "store/formats/cellxgene_json_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto release = sccello::parse_cellxgene_json(text, "fuzz.json");
  if (!release.is_ok()) return 0;
  sccello::GraphOptions options;
  options.prefix = "";
  options.max_closure_bytes = 16 << 20;
  sccello::OntologyGraph::build(*release, options);
  return 0;
}
