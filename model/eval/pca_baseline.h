// The PCA-on-HVG baseline every evaluation prints beside the model (scanpy's standard recipe):
// counts of the same cells -> log1p(counts * 1e4 / total) -> top highly variable genes by
// scanpy's flavor="seurat" (mean and dispersion of expm1 of the log data, 20 equal-width mean
// bins, dispersion z-scored per bin) -> zero mean, unit variance, clipped to +-10 -> top PCs of
// the covariance (LAPACK). Stateless; result is a plain value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/status.h"

namespace sccello::eval {

struct PcaOptions {
  int32_t n_top_genes = 2000;     // highly variable genes (all usable genes when fewer)
  int32_t n_bins = 20;            // mean bins of the seurat dispersion method
  int32_t n_components = 50;      // principal components (at most min(cells, genes) - 1)
  double target_sum = 1e4;        // counts per cell after normalisation
  double max_value = 10;          // clip of the scaled values (both signs)
  bool assume_normalized = false; // the matrix already holds log1p(CP10k) values: skip normalisation
};

// Log-normalised expression, cells x genes, sparse rows (CSR, columns ascending).
struct LogExpression {
  int64_t cells = 0, genes = 0;
  std::vector<int64_t> indptr{0};
  std::vector<int32_t> indices;
  std::vector<double> values;
  std::vector<std::string> gene_ids;
};

struct PcaResult {
  std::vector<int32_t> hvg;             // gene columns chosen, ascending
  std::vector<std::string> hvg_ids;
  std::vector<float> embedding;         // cells x components
  int32_t components = 0;
  std::vector<double> variance_ratio;   // per component, of the scaled HVG matrix's total variance
};

// Reads the counts of `cell_ids` (in that order) from an .h5ad (raw/X when present, else X) and
// log-normalises them (or takes them as they are with assume_normalized). A missing cell is an
// error naming it. Counts that are not integers without assume_normalized are an error that
// points at --assume-normalized.
Result<LogExpression> read_log_expression(const std::string& path, const std::vector<std::string>& cell_ids,
                                          const PcaOptions& options);

// Highly variable genes (flavor "seurat") of log data: columns ascending. Genes whose normalised
// dispersion ties the cut-off are all kept (as scanpy does).
std::vector<int32_t> highly_variable_genes(const LogExpression& data, const PcaOptions& options);

// HVG selection, scaling and PCA.
Result<PcaResult> pca_baseline(const LogExpression& data, const PcaOptions& options);

// The scaled HVG matrix (cells x hvg.size(), clipped, not re-centred): what the PCA decomposes.
std::vector<double> scaled_matrix(const LogExpression& data, const std::vector<int32_t>& hvg, double max_value);

}  // namespace sccello::eval
