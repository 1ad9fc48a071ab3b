// Personalized PageRank: CSR walk construction and the blocked power iteration (see ppr.h).
#include "graph/ppr.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <thread>

namespace sccello {

Result<PprMode> parse_ppr_mode(const std::string& name) {
  if (name == "networkx") return PprMode::kNetworkx;
  if (name == "exact") return PprMode::kExact;
  return Status::invalid("unknown PPR mode '" + name + "': use networkx or exact");
}

const char* ppr_mode_name(PprMode mode) { return mode == PprMode::kExact ? "exact" : "networkx"; }

Status validate_ppr_options(const PprOptions& o) {
  if (!(o.alpha > 0.0 && o.alpha < 1.0)) {
    return Status::invalid("PPR alpha must lie in (0,1), got " + std::to_string(o.alpha));
  }
  if (!(o.tol > 0.0)) return Status::invalid("PPR tol must be > 0");
  if (o.max_iter < 1) return Status::invalid("PPR max_iter must be >= 1");
  if (!(o.exact_tol > 0.0)) return Status::invalid("PPR exact_tol must be > 0");
  return Status::ok();
}

int32_t ppr_level(double p, double threshold) {
  if (p < threshold) return 1;
  const double v = p / threshold + 1.0;
  // floor(log2(v)) is the binary exponent of v, except where libm's log2 may round up to the
  // next integer (v within ~1e-13 relative below a power of two): ask log2 itself there, so the
  // result equals Python's math.floor(math.log2(v)) bit for bit.
  const int e = std::ilogb(v);
  if (v < std::ldexp(1.0 - 1e-13, e + 1)) return e;
  return static_cast<int32_t>(std::floor(std::log2(v)));
}

// ---------------------------------------------------------------------------------------------
// PprGraph

PprGraph PprGraph::from_edges(size_t num_vertices, std::vector<std::pair<uint32_t, uint32_t>> edges,
                              bool directed) {
  PprGraph g;
  g.directed_ = directed;
  std::vector<std::pair<uint32_t, uint32_t>> arcs;  // walk steps (from, to), vertex ids
  arcs.reserve(edges.size() * (directed ? 1 : 2));
  for (auto [u, v] : edges) {
    if (u == v) continue;
    arcs.emplace_back(u, v);
    if (!directed) arcs.emplace_back(v, u);
  }
  std::sort(arcs.begin(), arcs.end());
  arcs.erase(std::unique(arcs.begin(), arcs.end()), arcs.end());

  g.vertex_node_.assign(num_vertices, -1);
  for (auto [u, v] : arcs) g.vertex_node_[u] = g.vertex_node_[v] = 0;
  for (uint32_t v = 0; v < num_vertices; ++v) {
    if (g.vertex_node_[v] < 0) continue;
    g.vertex_node_[v] = static_cast<int32_t>(g.node_vertex_.size());
    g.node_vertex_.push_back(v);
  }
  const size_t n = g.node_vertex_.size();
  g.out_degree_.assign(n, 0);
  std::vector<uint32_t> in_count(n + 1, 0);
  for (auto [u, v] : arcs) {
    ++g.out_degree_[g.vertex_node_[u]];
    ++in_count[g.vertex_node_[v] + 1];
  }
  g.in_offsets_.assign(n + 1, 0);
  for (size_t j = 0; j < n; ++j) g.in_offsets_[j + 1] = g.in_offsets_[j] + in_count[j + 1];
  g.in_nodes_.resize(arcs.size());
  g.in_weights_.resize(arcs.size());
  std::vector<uint32_t> fill(g.in_offsets_.begin(), g.in_offsets_.end() - 1);
  for (auto [u, v] : arcs) {  // sorted by u: each in-list comes out ascending
    int32_t i = g.vertex_node_[u], j = g.vertex_node_[v];
    g.in_nodes_[fill[j]] = i;
    g.in_weights_[fill[j]++] = 1.0 / g.out_degree_[i];
  }
  for (size_t i = 0; i < n; ++i) {
    if (g.out_degree_[i] == 0) g.dangling_.push_back(static_cast<int32_t>(i));
  }
  return g;
}

// ---------------------------------------------------------------------------------------------
// Blocked power iteration

namespace {

constexpr int kBlock = 8;  // sources iterated together: one N x 8 block, 64 bytes per node

// y = alpha * x W (pull form) for all kBlock columns; err[k] = sum_j |y - x| except source rows,
// which the caller finishes. Written for auto-vectorisation over k.
__attribute__((target_clones("avx2", "default")))
void sweep_block(const uint32_t* off, const int32_t* nodes, const double* w, size_t n, double alpha,
                 const double* x, double* y) {
  for (size_t j = 0; j < n; ++j) {
    double acc[kBlock] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (uint32_t e = off[j]; e < off[j + 1]; ++e) {
      const double* xi = x + static_cast<size_t>(nodes[e]) * kBlock;
      const double wi = w[e];
      for (int k = 0; k < kBlock; ++k) acc[k] += wi * xi[k];
    }
    double* yj = y + j * kBlock;
    for (int k = 0; k < kBlock; ++k) yj[k] = alpha * acc[k];
  }
}

__attribute__((target_clones("avx2", "default")))
void l1_change(size_t n, const double* x, const double* y, double* err) {
  double e[kBlock] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (size_t j = 0; j < n; ++j) {
    for (int k = 0; k < kBlock; ++k) e[k] += std::fabs(y[j * kBlock + k] - x[j * kBlock + k]);
  }
  for (int k = 0; k < kBlock; ++k) err[k] = e[k];
}

// Shared state of one batched run: the work queue, the output and the first failure.
struct BatchJob {
  const PprGraph& g;
  const std::vector<int32_t>& sources;
  double alpha;
  double stop;   // a column converges when its L1 change < stop
  int max_iter;
  double* out;
  size_t row_length;
  const uint32_t* column_of_node;
  std::vector<int>& iterations;
  BatchJob(const PprGraph& graph, const std::vector<int32_t>& src, double a, double stop_at, int iters,
           double* rows, size_t length, const uint32_t* columns, std::vector<int>& iters_out)
      : g(graph), sources(src), alpha(a), stop(stop_at), max_iter(iters), out(rows), row_length(length),
        column_of_node(columns), iterations(iters_out) {}

  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status status;

  void fail(Status s) {
    std::lock_guard<std::mutex> lock(mu);
    if (!failed.exchange(true)) status = std::move(s);
  }
};

// One worker: kBlock slots, each iterating its own source; a converged slot hands its column
// to the output and takes the next source from the queue (networkx's per-source criterion).
class BlockWorker {
 public:
  explicit BlockWorker(BatchJob& job)
      : job_(job), n_(job.g.num_nodes()), x_(n_ * kBlock), y_(n_ * kBlock) {}

  void run() {
    for (int k = 0; k < kBlock; ++k) load(k);
    while (active_ > 0 && !job_.failed.load(std::memory_order_relaxed)) {
      step();
      for (int k = 0; k < kBlock; ++k) {
        if (row_[k] >= 0) check(k);
      }
    }
  }

 private:
  void load(int k) {
    size_t r = job_.next.fetch_add(1);
    if (r >= job_.sources.size()) { row_[k] = -1; return; }
    row_[k] = static_cast<int64_t>(r);
    source_[k] = job_.sources[r];
    iter_[k] = 0;
    const double start = 1.0 / static_cast<double>(n_);
    for (size_t j = 0; j < n_; ++j) x_[j * kBlock + k] = start;
    ++active_;
  }

  // x <- alpha * (x W + dangling_sum * e_s) + (1 - alpha) * e_s, as networkx orders it.
  void step() {
    double dsum[kBlock] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int32_t d : job_.g.dangling()) {
      for (int k = 0; k < kBlock; ++k) dsum[k] += x_[d * kBlock + k];
    }
    const PprGraph& g = job_.g;
    sweep_block(g.in_offsets().data(), g.in_nodes().data(), g.in_weights().data(), n_, job_.alpha,
                x_.data(), y_.data());
    const double a = job_.alpha;
    for (int k = 0; k < kBlock; ++k) {
      if (row_[k] < 0) continue;
      const size_t s = static_cast<size_t>(source_[k]);
      y_[s * kBlock + k] = a * (pull(s, k) + dsum[k]) + (1.0 - a);
    }
    l1_change(n_, x_.data(), y_.data(), err_);
    std::swap(x_, y_);
  }

  // The sweep's sum for one entry, recomputed in the same order (bit-identical).
  double pull(size_t j, int k) const {
    const PprGraph& g = job_.g;
    double acc = 0;
    for (uint32_t e = g.in_offsets()[j]; e < g.in_offsets()[j + 1]; ++e) {
      acc += g.in_weights()[e] * x_[static_cast<size_t>(g.in_nodes()[e]) * kBlock + k];
    }
    return acc;
  }

  void check(int k) {
    ++iter_[k];
    if (err_[k] < job_.stop) {
      double* out = job_.out + static_cast<size_t>(row_[k]) * job_.row_length;
      const uint32_t* col = job_.column_of_node;
      for (size_t j = 0; j < n_; ++j) {
        if (col[j] != kPprNoColumn) out[col[j]] = x_[j * kBlock + k];
      }
      job_.iterations[row_[k]] = iter_[k];
      --active_;
      load(k);
    } else if (iter_[k] >= job_.max_iter) {
      job_.fail(Status::invalid(
          "PPR from node " + std::to_string(source_[k]) + " did not converge in " +
          std::to_string(job_.max_iter) + " iterations (L1 change " + std::to_string(err_[k]) +
          "); raise max_iter or use mode=exact"));
      row_[k] = -1;
      --active_;
    }
  }

  BatchJob& job_;
  size_t n_;
  std::vector<double> x_, y_;
  double err_[kBlock] = {};
  int64_t row_[kBlock] = {};
  int32_t source_[kBlock] = {};
  int iter_[kBlock] = {};
  int active_ = 0;
};

int resolve_threads(int threads, size_t sources) {
  int t = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  size_t useful = (sources + kBlock - 1) / kBlock;
  return static_cast<int>(std::max<size_t>(1, std::min<size_t>(t, useful)));
}

}  // namespace

Status ppr_rows_into(const PprGraph& g, const std::vector<int32_t>& sources, const PprOptions& options,
                     double* out, size_t row_length, const uint32_t* column_of_node, PprStats* stats) {
  SCCELLO_RETURN_IF_ERROR(validate_ppr_options(options));
  const size_t n = g.num_nodes();
  for (int32_t s : sources) {
    if (s < 0 || static_cast<size_t>(s) >= n) {
      return Status::invalid("PPR source node " + std::to_string(s) + " out of range (graph has " +
                             std::to_string(n) + " nodes)");
    }
  }
  std::vector<int> iterations(sources.size(), 0);
  double stop = static_cast<double>(n) * options.tol;
  int max_iter = options.max_iter;
  if (options.mode == PprMode::kExact) {
    // The update is an alpha-contraction in L1: |x_t - p| <= alpha/(1-alpha) |x_t - x_{t-1}|,
    // and |x_t - x_{t-1}| <= 2 alpha^(t-1) bounds the iterations needed.
    stop = options.exact_tol * (1.0 - options.alpha) / options.alpha;
    max_iter = 3 + static_cast<int>(std::ceil(std::log(stop / 2.0) / std::log(options.alpha)));
  }
  BatchJob job(g, sources, options.alpha, stop, max_iter, out, row_length, column_of_node, iterations);
  const int threads = resolve_threads(options.threads, sources.size());
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back([&job] { BlockWorker(job).run(); });
  BlockWorker(job).run();
  for (auto& t : pool) t.join();
  if (job.failed) return job.status;
  if (stats) stats->iterations = std::move(iterations);
  return Status::ok();
}

Result<std::vector<double>> ppr_rows(const PprGraph& g, const std::vector<int32_t>& sources,
                                     const PprOptions& options, PprStats* stats) {
  const size_t n = g.num_nodes();
  std::vector<uint32_t> identity(n);
  for (size_t j = 0; j < n; ++j) identity[j] = static_cast<uint32_t>(j);
  std::vector<double> out(sources.size() * n);
  SCCELLO_RETURN_IF_ERROR(ppr_rows_into(g, sources, options, out.data(), n, identity.data(), stats));
  return out;
}

Result<std::vector<double>> ppr_row(const PprGraph& g, int32_t source, const PprOptions& options) {
  PprOptions one = options;
  one.threads = 1;
  return ppr_rows(g, {source}, one);
}

Result<std::vector<double>> ppr_all(const PprGraph& g, const PprOptions& options, PprStats* stats) {
  std::vector<int32_t> sources(g.num_nodes());
  for (size_t i = 0; i < sources.size(); ++i) sources[i] = static_cast<int32_t>(i);
  return ppr_rows(g, sources, options, stats);
}

}  // namespace sccello
