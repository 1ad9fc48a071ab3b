// libFuzzer harness: the OBO reader, then the graph an import would build from its result
// (cycle check and the bounded closure). Built by scripts/fuzz.sh, not by CMake.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "graph/ontology_graph.h"
#include "store/formats/obo_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto release = sccello::parse_obo(text, "fuzz.obo");
  if (!release.is_ok()) return 0;
  sccello::GraphOptions options;
  options.prefix = "";
  options.max_closure_bytes = 16 << 20;
  auto graph = sccello::OntologyGraph::build(*release, options);
  if (graph.is_ok() && graph->num_terms() > 1) graph->lca({0, static_cast<sccello::TermIndex>(graph->num_terms() - 1)});
  return 0;
}
