#include "model/eval/pca_baseline.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "model/eval/linalg.h"
#include "store/formats/h5ad_reader.h"

namespace sccello::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Row of each wanted cell in the file, or an error naming the first one missing.
Result<std::vector<int64_t>> wanted_rows(CellMatrixReader& reader, const std::vector<std::string>& cell_ids,
                                         const std::string& path) {
  SCCELLO_ASSIGN_OR_RETURN(std::vector<std::string> ids, reader.cell_ids(0, reader.num_cells()));
  std::unordered_map<std::string, int64_t> at;
  for (size_t i = 0; i < ids.size(); ++i) at.emplace(ids[i], static_cast<int64_t>(i));
  std::vector<int64_t> out(reader.num_cells(), -1);
  for (size_t i = 0; i < cell_ids.size(); ++i) {
    auto it = at.find(cell_ids[i]);
    if (it == at.end())
      return Status::not_found("cell '" + cell_ids[i] + "' of the embeddings is not in the counts file " + path +
                               ": give --counts the .h5ad the embeddings were made from");
    out[it->second] = static_cast<int64_t>(i);
  }
  return out;
}

// One row of `block`, normalised, as (column, value) pairs.
Status normalise_row(const RowBlock& block, int64_t r, const PcaOptions& options,
                     std::vector<std::pair<int32_t, double>>* row, const std::string& path) {
  double total = 0;
  for (int64_t p = block.indptr[r]; p < block.indptr[r + 1]; ++p) {
    const float v = block.data[p];
    if (!options.assume_normalized && v != std::floor(v))
      return Status::invalid("'" + path + "' does not hold raw counts (value " + std::to_string(v) +
                             "); if it is already log1p-normalised, pass --assume-normalized");
    total += v;
  }
  const double scale = options.assume_normalized ? 1.0 : options.target_sum / (total > 0 ? total : 1.0);
  row->clear();
  for (int64_t p = block.indptr[r]; p < block.indptr[r + 1]; ++p)
    row->push_back({block.indices[p], options.assume_normalized ? block.data[p] : std::log1p(block.data[p] * scale)});
  return Status::ok();
}

// Per-bin mean and standard deviation (ddof 1) of the finite dispersions; NaN where undefined.
void bin_stats(const std::vector<int32_t>& bin, const std::vector<double>& disp, int32_t bins,
               std::vector<double>* mean, std::vector<double>* sd) {
  std::vector<double> sum(bins, 0), sq(bins, 0);
  std::vector<int64_t> count(bins, 0);
  for (size_t g = 0; g < disp.size(); ++g)
    if (!std::isnan(disp[g])) sum[bin[g]] += disp[g], ++count[bin[g]];
  mean->assign(bins, kNaN);
  sd->assign(bins, kNaN);
  for (int32_t b = 0; b < bins; ++b)
    if (count[b] > 0) (*mean)[b] = sum[b] / count[b];
  for (size_t g = 0; g < disp.size(); ++g)
    if (!std::isnan(disp[g])) sq[bin[g]] += (disp[g] - (*mean)[bin[g]]) * (disp[g] - (*mean)[bin[g]]);
  for (int32_t b = 0; b < bins; ++b)
    if (count[b] > 1) (*sd)[b] = std::sqrt(sq[b] / (count[b] - 1));
}

// pandas.cut(values, bins): equal-width bins over [min, max], the first edge lowered by 0.1% of the range.
std::vector<int32_t> cut(const std::vector<double>& x, int32_t bins) {
  const double lo = *std::min_element(x.begin(), x.end()), hi = *std::max_element(x.begin(), x.end());
  std::vector<double> edges(bins + 1);
  for (int32_t b = 0; b <= bins; ++b) edges[b] = lo + (hi - lo) * b / bins;
  edges[0] -= (hi - lo) * 0.001;
  std::vector<int32_t> out(x.size());
  for (size_t g = 0; g < x.size(); ++g) {
    const auto it = std::lower_bound(edges.begin() + 1, edges.end(), x[g]);  // right-closed (a, b]
    out[g] = std::min<int32_t>(static_cast<int32_t>(it - edges.begin()) - 1, bins - 1);
  }
  return out;
}

// Normalised dispersion of every gene (NaN where scanpy leaves NaN).
std::vector<double> normalised_dispersion(const LogExpression& data, int32_t bins) {
  const int64_t n = data.cells, g_count = data.genes;
  std::vector<double> sum(g_count, 0), sq(g_count, 0);
  for (size_t p = 0; p < data.values.size(); ++p) {
    const double v = std::expm1(data.values[p]);
    sum[data.indices[p]] += v;
    sq[data.indices[p]] += v * v;
  }
  std::vector<double> mean(g_count), disp(g_count);
  for (int64_t g = 0; g < g_count; ++g) {
    double m = sum[g] / n;
    const double var = (sq[g] / n - m * m) * n / (n - 1.0);
    if (m == 0) m = 1e-12;
    const double d = var / m;
    disp[g] = d == 0 ? kNaN : std::log(d);
    mean[g] = std::log1p(m);
  }
  const std::vector<int32_t> bin = cut(mean, bins);
  std::vector<double> bmean, bsd;
  bin_stats(bin, disp, bins, &bmean, &bsd);
  for (int64_t g = 0; g < g_count; ++g) {
    const int32_t b = bin[g];
    const bool single = std::isnan(bsd[b]);  // one gene in the bin: scanpy sets its score to 1
    disp[g] = single ? disp[g] / bmean[b] : (disp[g] - bmean[b]) / bsd[b];
  }
  return disp;
}

}  // namespace

Result<LogExpression> read_log_expression(const std::string& path, const std::vector<std::string>& cell_ids,
                                          const PcaOptions& options) {
  SCCELLO_ASSIGN_OR_RETURN(auto reader, open_h5ad(path, H5adOptions{}));
  SCCELLO_ASSIGN_OR_RETURN(std::vector<int64_t> target, wanted_rows(*reader, cell_ids, path));
  LogExpression out;
  out.cells = static_cast<int64_t>(cell_ids.size());
  out.genes = reader->num_genes();
  out.gene_ids = reader->gene_ids();
  std::vector<std::vector<std::pair<int32_t, double>>> rows(out.cells);
  RowBlock block;
  while (reader->next_block(1024, &block)) {
    for (int64_t r = 0; r < block.num_rows(); ++r) {
      const int64_t to = target[block.first_row + r];
      if (to >= 0) SCCELLO_RETURN_IF_ERROR(normalise_row(block, r, options, &rows[to], path));
    }
  }
  SCCELLO_RETURN_IF_ERROR(reader->status());
  for (auto& row : rows) {
    for (const auto& [c, v] : row) out.indices.push_back(c), out.values.push_back(v);
    out.indptr.push_back(static_cast<int64_t>(out.indices.size()));
    std::vector<std::pair<int32_t, double>>().swap(row);
  }
  return out;
}

std::vector<int32_t> highly_variable_genes(const LogExpression& data, const PcaOptions& options) {
  const std::vector<double> norm = normalised_dispersion(data, options.n_bins);
  std::vector<double> finite;
  for (double d : norm)
    if (!std::isnan(d)) finite.push_back(d);
  std::vector<int32_t> out;
  if (finite.empty()) return out;
  std::sort(finite.begin(), finite.end(), std::greater<double>());
  const double cut_off = finite[std::min<size_t>(options.n_top_genes, finite.size()) - 1];
  for (int32_t g = 0; g < static_cast<int32_t>(norm.size()); ++g)
    if ((std::isnan(norm[g]) ? 0.0 : norm[g]) >= cut_off) out.push_back(g);
  return out;
}

std::vector<double> scaled_matrix(const LogExpression& data, const std::vector<int32_t>& hvg, double max_value) {
  const int64_t n = data.cells, h = static_cast<int64_t>(hvg.size());
  std::vector<int32_t> column_of(data.genes, -1);
  for (int64_t c = 0; c < h; ++c) column_of[hvg[c]] = static_cast<int32_t>(c);
  std::vector<double> x(n * h, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = data.indptr[i]; p < data.indptr[i + 1]; ++p)
      if (column_of[data.indices[p]] >= 0) x[i * h + column_of[data.indices[p]]] = data.values[p];
  for (int64_t c = 0; c < h; ++c) {
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < n; ++i) sum += x[i * h + c];
    const double mean = sum / n;
    for (int64_t i = 0; i < n; ++i) sq += (x[i * h + c] - mean) * (x[i * h + c] - mean);
    double sd = std::sqrt(sq / (n - 1.0));
    if (sd == 0) sd = 1;
    for (int64_t i = 0; i < n; ++i) x[i * h + c] = std::clamp((x[i * h + c] - mean) / sd, -max_value, max_value);
  }
  return x;
}

Result<PcaResult> pca_baseline(const LogExpression& data, const PcaOptions& options) {
  if (data.cells < 3) return Status::invalid("the PCA baseline needs at least 3 cells");
  PcaResult out;
  out.hvg = highly_variable_genes(data, options);
  for (int32_t g : out.hvg) out.hvg_ids.push_back(data.gene_ids[g]);
  const int64_t n = data.cells, h = static_cast<int64_t>(out.hvg.size());
  out.components = static_cast<int32_t>(std::min<int64_t>(options.n_components, std::min(n, h) - 1));
  if (out.components < 1) return Status::invalid("the PCA baseline found no variable genes");
  std::vector<double> x = scaled_matrix(data, out.hvg, options.max_value);
  for (int64_t c = 0; c < h; ++c) {  // clipping moved the means: centre again (as PCA does)
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += x[i * h + c];
    for (int64_t i = 0; i < n; ++i) x[i * h + c] -= sum / n;
  }
  std::vector<double> cov(h * h), values, vectors;
  gram_ata(n, h, x.data(), cov.data());
  double total = 0;
  for (int64_t c = 0; c < h; ++c) total += cov[c * h + c];
  if (!top_eigen(h, out.components, &cov, &values, &vectors)) return Status::internal("LAPACK dsyevr failed");
  for (double v : values) out.variance_ratio.push_back(v / total);
  std::vector<double> proj(n * out.components, 0);
  for (int64_t i = 0; i < n; ++i)  // proj = x * vectors (h x components)
    for (int64_t c = 0; c < h; ++c) {
      const double xv = x[i * h + c];
      if (xv != 0)
        for (int32_t k = 0; k < out.components; ++k) proj[i * out.components + k] += xv * vectors[c * out.components + k];
    }
  out.embedding.assign(proj.begin(), proj.end());
  return out;
}

}  // namespace sccello::eval
