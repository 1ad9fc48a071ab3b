// Single-cell pipeline benchmarks: tokenization throughput with 1 thread and every core, side by
// side with the numpy per-cell reference (bench/tokenize_numpy.py) on the same file and in the same
// run (BM_TokenizeVsNumpy), pbmc3k import end to end, sequential and random corpus reads, corpus
// bytes per token (records and compacted RocksDB directory), and the peak RSS of importing a 50k-cell h5ad resampled from pbmc3k (built by
// bench/make_resampled_h5ad.py into $TMPDIR on first use; not committed).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <benchmark/benchmark.h>
#include <rocksdb/db.h>

#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <thread>

#include "store/cells/cell_import.h"
#include "store/corpus.h"
#include "store/store.h"

namespace sccello {
namespace {

const std::string kData = SCCELLO_DATA_DIR;
const std::string kPbmc3k = kData + "/cells/pbmc3k_seurat/pbmc3k_seurat.h5ad";
const std::string kPbmc4k = kData + "/cells/pbmc4k_soupx/pbmc4k_soupx.h5ad";

// Debian's python3 (with python3-numpy/scipy/h5py) rather than a virtualenv's, when present.
std::string python() { return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3"; }

std::string tmp_dir() {
  const char* t = std::getenv("TMPDIR");
  return t && *t ? t : "/tmp";
}

const GeneVocab& vocab() {
  static GeneVocab v = GeneVocab::load(kData + "/vocab").value();
  return v;
}

// All of pbmc3k's rows in memory, so that only tokenization is timed.
struct Matrix {
  std::vector<std::string> genes;
  std::vector<RowBlock> blocks;
  int64_t cells = 0;
};

const Matrix& pbmc3k_rows() {
  static Matrix m = [] {
    Matrix out;
    auto reader = open_h5ad(kPbmc3k, {}).value();
    out.genes = reader->gene_ids();
    RowBlock b;
    while (reader->next_block(1024, &b)) out.blocks.push_back(b);
    out.cells = reader->num_cells();
    return out;
  }();
  return m;
}

int cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

// One pass of the import's tokenization (Tokenizer::tokenize_rows, `threads` threads per block)
// over pbmc3k's rows; returns the tokens made.
int64_t tokenize_all(const Tokenizer& tok, const Matrix& m, int threads, std::vector<TokenizedCell>* out) {
  int64_t tokens = 0;
  for (const RowBlock& b : m.blocks) {
    tok.tokenize_rows(b.indptr.data(), b.indices.data(), b.data.data(), b.num_rows(), threads, out);
    for (const TokenizedCell& c : *out) tokens += static_cast<int64_t>(c.tokens.size());
  }
  return tokens;
}

// Args = threads (the import's --threads: 1, and every core), and whether values are made (1:
// the training path; 0: the import's, whose records keep counts).
void BM_TokenizePbmc3k(benchmark::State& state) {
  const Matrix& m = pbmc3k_rows();
  TokenizerOptions options;
  options.values = state.range(1) != 0;
  Tokenizer tok(vocab(), m.genes, options);
  std::vector<TokenizedCell> out;
  int64_t total_tokens = 0;
  for (auto _ : state) total_tokens += tokenize_all(tok, m, static_cast<int>(state.range(0)), &out);
  state.SetItemsProcessed(state.iterations() * m.cells);
  state.counters["tokens_per_s"] = benchmark::Counter(static_cast<double>(total_tokens), benchmark::Counter::kIsRate);
  state.SetLabel(std::to_string(state.range(0)) + " thread(s)" + (options.values ? ", values" : ", counts"));
}
BENCHMARK(BM_TokenizePbmc3k)
    ->Args({1, 1})->Args({cores(), 1})->Args({1, 0})->Args({cores(), 0})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

// The numpy/scipy per-cell reference (bench/tokenize_numpy.py) on the same file; returns its
// cells/s (tokenization only, as it prints), 0 when python3 with numpy/scipy/h5py is missing.
double numpy_cells_per_s() {
  std::string script = std::string(SCCELLO_DATA_DIR) + "/../bench/tokenize_numpy.py";
  std::string cmd = python() + " " + script + " " + kPbmc3k + " " + kData + "/vocab " + tmp_dir() +
                    "/sccello_numpy_tokens.tsv 2>&1";
  double rate = 0;
  FILE* p = popen(cmd.c_str(), "r");
  char line[512];
  while (p && std::fgets(line, sizeof line, p)) {
    const char* eq = std::strstr(line, "= ");
    if (std::strstr(line, "cells/s") && eq) rate = std::atof(eq + 2);
  }
  if (p) pclose(p);
  return rate;
}

// Best cells/s of `reps` passes of the C++ tokenization over pbmc3k with `threads` threads.
double cpp_cells_per_s(int threads, int reps) {
  const Matrix& m = pbmc3k_rows();
  Tokenizer tok(vocab(), m.genes, TokenizerOptions{});
  std::vector<TokenizedCell> out;
  double best = 0;
  for (int i = 0; i < reps; ++i) {
    auto start = std::chrono::steady_clock::now();
    tokenize_all(tok, m, threads, &out);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, m.cells / s);
  }
  return best;
}

// Side by side on pbmc3k in one run: numpy (once: it takes a second or more), then the C++
// tokenizer with 1 thread and with every core (best of 20 passes each); ratios to numpy.
void BM_TokenizeVsNumpy(benchmark::State& state) {
  double numpy = 0, one = 0, all = 0;
  for (auto _ : state) {
    numpy = numpy_cells_per_s();
    one = cpp_cells_per_s(1, 20);
    all = cpp_cells_per_s(cores(), 20);
  }
  if (numpy == 0) {
    state.SkipWithError("python3 with numpy, scipy and h5py is needed (apt: python3-scipy python3-h5py)");
    return;
  }
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  state.counters["numpy_cells_per_s"] = numpy;
  state.counters["cpp_1thread_cells_per_s"] = one;
  state.counters["cpp_all_cells_per_s"] = all;
  state.counters["ratio_1thread"] = one / numpy;
  state.counters["ratio_all"] = all / numpy;
  state.counters["load1"] = load[0];
  state.SetLabel(std::to_string(cores()) + " cores");
}
BENCHMARK(BM_TokenizeVsNumpy)->Iterations(1)->Unit(benchmark::kMillisecond);

std::unique_ptr<Store> fresh_store(const std::string& name, Backend backend) {
  std::string path = tmp_dir() + "/" + name;
  std::filesystem::remove_all(path);
  StoreOptions o;
  o.path = path;
  o.backend = backend;
  return Store::open(o).value();
}

void BM_ImportPbmc3k(benchmark::State& state) {
  Backend backend = state.range(0) == 0 ? Backend::kRocksDb : Backend::kSqlite;
  vocab();
  for (auto _ : state) {
    auto store = fresh_store("sccello_bench_import", backend);
    CellImportOptions o;
    o.dataset = "pbmc3k";
    auto r = import_cells(*store, vocab(), kPbmc3k, o);
    if (!r) state.SkipWithError(r.status().message().c_str());
  }
  state.SetItemsProcessed(state.iterations() * 2638);
  state.SetLabel(backend_name(backend) + " (vocab loaded once)");
}
BENCHMARK(BM_ImportPbmc3k)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// pbmc4k (mean 1,252 tokens per cell) imported once per backend.
Store& read_store(Backend backend) {
  static std::unique_ptr<Store> stores[2];
  int i = backend == Backend::kRocksDb ? 0 : 1;
  if (!stores[i]) {
    stores[i] = fresh_store(std::string("sccello_bench_read_") + backend_name(backend), backend);
    CellImportOptions o;
    o.dataset = "pbmc4k";
    import_cells(*stores[i], vocab(), kPbmc4k, o).value();
  }
  return *stores[i];
}

void BM_CorpusSequential(benchmark::State& state) {
  Backend backend = state.range(0) == 0 ? Backend::kRocksDb : Backend::kSqlite;
  Corpus corpus(read_store(backend));
  int64_t cells = 0, tokens = 0;
  for (auto _ : state) {
    corpus.for_each("pbmc4k", [&](int64_t, const CellRecord& c) {
      ++cells;
      tokens += static_cast<int64_t>(c.tokens.size());
      return true;
    });
  }
  state.SetItemsProcessed(cells);
  state.counters["tokens_per_cell"] = static_cast<double>(tokens) / std::max<int64_t>(1, cells);
  state.SetLabel(backend_name(backend));
}
BENCHMARK(BM_CorpusSequential)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_CorpusRandom(benchmark::State& state) {
  Backend backend = state.range(0) == 0 ? Backend::kRocksDb : Backend::kSqlite;
  Corpus corpus(read_store(backend));
  int64_t n = corpus.dataset("pbmc4k")->num_cells;
  std::mt19937_64 rng(237);
  int64_t tokens = 0;
  for (auto _ : state) {
    auto c = corpus.cell("pbmc4k", static_cast<int64_t>(rng() % n));
    tokens += static_cast<int64_t>(c->tokens.size());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(backend_name(backend));
}
BENCHMARK(BM_CorpusRandom)->Arg(0)->Arg(1);

uint64_t directory_bytes(const std::string& dir) {
  uint64_t bytes = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) bytes += e.file_size();
  return bytes;
}

// Bytes per token of pbmc3k (2,167,991 tokens): the cell records' keys + values, and the RocksDB
// directory after the import, closed, reopened and fully compacted (LZ4, as the store opens it).
void BM_CorpusBytesPerTokenPbmc3k(benchmark::State& state) {
  std::string path = tmp_dir() + "/sccello_bench_disk";
  double raw = 0, disk = 0, tokens = 0;
  for (auto _ : state) {
    {
      auto store = fresh_store("sccello_bench_disk", Backend::kRocksDb);
      CellImportOptions o;
      o.dataset = "pbmc3k";
      auto r = import_cells(*store, vocab(), kPbmc3k, o);
      if (!r) return state.SkipWithError(r.status().message().c_str());
      tokens = static_cast<double>(r->info.num_tokens);
      raw = static_cast<double>(Corpus(*store).stored_bytes("pbmc3k").value());
    }
    rocksdb::Options options;
    options.compression = rocksdb::kLZ4Compression;
    rocksdb::DB* db = nullptr;
    if (!rocksdb::DB::Open(options, path, &db).ok()) return state.SkipWithError("reopening the store failed");
    db->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr);
    delete db;
    disk = static_cast<double>(directory_bytes(path));
  }
  state.counters["record_bytes_per_token"] = raw / tokens;
  state.counters["disk_bytes_per_token"] = disk / tokens;
  state.counters["disk_MB"] = disk / 1e6;
}
BENCHMARK(BM_CorpusBytesPerTokenPbmc3k)->Iterations(1)->Unit(benchmark::kMillisecond);

// The child of BM_Import50kPeakRss: a fresh exec of this program (fork alone would inherit the
// parent's RocksDB threads and locks) that imports $SCCELLO_BENCH_IMPORT into a new store and
// exits before main() runs.
int import_child() {
  const char* file = std::getenv("SCCELLO_BENCH_IMPORT");
  if (!file || !*file) return 0;
  auto store = fresh_store("sccello_bench_50k", Backend::kRocksDb);
  auto v = GeneVocab::load(kData + "/vocab");
  CellImportOptions o;
  o.dataset = "pbmc50k";
  _exit(v && import_cells(*store, *v, file, o) ? 0 : 1);
}
const int kImportChild = import_child();

// Peak RSS of a child process that imports the 50k-cell file (RocksDB store).
void BM_Import50kPeakRss(benchmark::State& state) {
  std::string file = tmp_dir() + "/sccello_pbmc50k.h5ad";
  if (!std::filesystem::exists(file)) {
    std::string cmd = python() + " " + std::string(SCCELLO_DATA_DIR) + "/../bench/make_resampled_h5ad.py " + kPbmc3k +
                      " " + file + " 50000 > /dev/null";
    if (std::system(cmd.c_str()) != 0) {
      state.SkipWithError("could not build the 50k h5ad (needs python3-numpy and python3-h5py)");
      return;
    }
  }
  double peak_mb = 0;
  for (auto _ : state) {
    pid_t pid = fork();
    if (pid == 0) {
      setenv("SCCELLO_BENCH_IMPORT", file.c_str(), 1);
      execl("/proc/self/exe", "cells_bench", static_cast<char*>(nullptr));
      _exit(2);
    }
    int status = 0;
    struct rusage usage;
    wait4(pid, &status, 0, &usage);
    if (status != 0) state.SkipWithError("the 50k import failed");
    peak_mb = usage.ru_maxrss / 1024.0;
  }
  state.SetItemsProcessed(state.iterations() * 50000);
  state.counters["peak_rss_MB"] = peak_mb;
}
BENCHMARK(BM_Import50kPeakRss)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sccello
