/* The C ABI of external target providers: a shared library exports ONE entry point,
 * `sccello_target_plugin_v1`, that fills a SccelloTargetPluginV1 describing the provider. The
 * loader (load_target_plugin, `--plugin PATH`) refuses a plugin whose api_version differs from
 * SCCELLO_TARGET_PLUGIN_API_VERSION. compute_row may be called from several threads at once. */
#ifndef SCCELLO_PLUGINS_TARGET_PLUGIN_API_H_
#define SCCELLO_PLUGINS_TARGET_PLUGIN_API_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SCCELLO_TARGET_PLUGIN_API_VERSION 1u
#define SCCELLO_TARGET_PLUGIN_ENTRY "sccello_target_plugin_v1"

/* The release's graph as the host sees it: terms by index (live terms of the prefix, release
 * order) and the directed edges of the chosen relations (child -> parent), as CSR both ways. */
typedef struct SccelloGraphView {
  uint32_t num_terms;
  const char* const* term_ids;      /* "CL:0000236", ... */
  const uint32_t* parent_offsets;   /* num_terms + 1 */
  const uint32_t* parents;
  const uint32_t* child_offsets;    /* num_terms + 1 */
  const uint32_t* children;
} SccelloGraphView;

typedef struct SccelloParam {
  const char* key;
  const char* value;  /* the default in SccelloTargetPluginV1::params; the user's value in calls */
} SccelloParam;

typedef struct SccelloTargetPluginV1 {
  uint32_t api_version;       /* the plugin sets SCCELLO_TARGET_PLUGIN_API_VERSION it was built with */
  const char* name;           /* provider name used in specs: "name:key=value" */
  const char* version;        /* written into describe(), caches and checkpoints */
  const char* description;
  uint32_t num_params;
  const SccelloParam* params; /* keys with their defaults, in describe() order */
  /* Raw similarity of `source` to every term: row[num_terms]. Returns 0, or non-zero after
   * writing a message (NUL-terminated, at most err_len bytes) into err. */
  int (*compute_row)(const SccelloGraphView* graph, const SccelloParam* params, uint32_t num_params,
                     uint32_t source, double* row, char* err, size_t err_len);
  /* Integer level (>= 1) of a raw value. */
  int32_t (*level_of)(double raw, const SccelloParam* params, uint32_t num_params);
} SccelloTargetPluginV1;

/* The entry point: host_api_version is what the loader speaks. Returns 0 after filling *plugin. */
typedef int (*SccelloTargetPluginEntryFn)(uint32_t host_api_version, SccelloTargetPluginV1* plugin);

#ifdef __cplusplus
}
#endif

#endif /* SCCELLO_PLUGINS_TARGET_PLUGIN_API_H_ */
