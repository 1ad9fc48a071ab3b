/* A test target plugin in plain C: raw(a, b) = 1 for b = a, `weight` for a direct is_a parent or
 * child, 0 otherwise; level 3 / 2 / 1. Built twice by CMakeLists.inc: as API version 1 and, with
 * NEIGHBOUR_PLUGIN_API_VERSION=999, as a plugin the loader must refuse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/target_plugin_api.h"

#ifndef NEIGHBOUR_PLUGIN_API_VERSION
#define NEIGHBOUR_PLUGIN_API_VERSION SCCELLO_TARGET_PLUGIN_API_VERSION
#endif

static const SccelloParam kParams[] = {{"weight", "0.5"}};

static double weight_of(const SccelloParam* params, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    if (strcmp(params[i].key, "weight") == 0) return atof(params[i].value);
  }
  return 0.5;
}

static int compute_row(const SccelloGraphView* g, const SccelloParam* params, uint32_t num_params,
                       uint32_t source, double* row, char* err, size_t err_len) {
  const double w = weight_of(params, num_params);
  if (w <= 0 || w >= 1) {
    snprintf(err, err_len, "weight must lie in (0,1), got %g", w);
    return 1;
  }
  for (uint32_t t = 0; t < g->num_terms; ++t) row[t] = 0.0;
  for (uint32_t e = g->parent_offsets[source]; e < g->parent_offsets[source + 1]; ++e) row[g->parents[e]] = w;
  for (uint32_t e = g->child_offsets[source]; e < g->child_offsets[source + 1]; ++e) row[g->children[e]] = w;
  row[source] = 1.0;
  return 0;
}

static int32_t level_of(double raw, const SccelloParam* params, uint32_t num_params) {
  (void)params;
  (void)num_params;
  return raw >= 1.0 ? 3 : raw > 0.0 ? 2 : 1;
}

int sccello_target_plugin_v1(uint32_t host_api_version, SccelloTargetPluginV1* plugin) {
  (void)host_api_version;
  plugin->api_version = NEIGHBOUR_PLUGIN_API_VERSION;
  plugin->name = "neighbours";
  plugin->version = "2";
  plugin->description = "test plugin: self 1, direct is_a neighbours `weight`, else 0";
  plugin->num_params = 1;
  plugin->params = kParams;
  plugin->compute_row = compute_row;
  plugin->level_of = level_of;
  return 0;
}
