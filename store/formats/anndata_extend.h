// Adds results to an AnnData .h5ad the way anndata (>= 0.8) writes them: obs columns
// (categorical, float64, bool, string), an obsm matrix and a uns dict of strings. The input file
// is never modified: extended_copy() writes a copy next to the output path, extends it and
// renames it into place, so a failure leaves nothing half-written. Stateless.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "graph/status.h"

namespace sccello {

struct ObsColumn {
  enum class Kind { kCategorical, kFloat, kBool, kString };
  std::string name;
  Kind kind = Kind::kCategorical;
  std::vector<std::string> text;   // kCategorical, kString
  std::vector<double> numbers;     // kFloat
  std::vector<uint8_t> flags;      // kBool
};

struct AnnDataAdditions {
  std::vector<ObsColumn> obs;      // replaces columns of the same name
  std::string obsm_key;            // "" = none
  std::vector<float> obsm;         // n_obs x obsm_dims
  int64_t obsm_dims = 0;
  std::string uns_key;             // "" = none
  std::vector<std::pair<std::string, std::string>> uns;  // string entries of uns/<uns_key>
};

// Number of cells (rows of obs) of an .h5ad.
Result<int64_t> h5ad_obs_count(const std::string& path);
// Extends `path` in place (a file this process owns, e.g. one it just wrote).
Status extend_h5ad(const std::string& path, const AnnDataAdditions& additions);
// Copies `input` to `output` with the additions. An existing output is refused unless `force`.
Status extended_copy(const std::string& input, const std::string& output, const AnnDataAdditions& additions,
                     bool force);

}  // namespace sccello
