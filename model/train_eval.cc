#include "model/train_eval.h"

#include <chrono>
#include <memory>

#include <nlohmann/json.hpp>

#include "model/eval/clustering_eval.h"
#include "model/eval/eval_inputs.h"
#include "model/inference.h"
#include "store/kv_store.h"  // WriteBatch, complete for the corpus types
#include "store/cells/tokenized_file.h"

namespace sccello {
namespace {

// The fixed sample: tokens and label codes of evenly spaced labelled cells.
struct EvalSample {
  std::vector<std::vector<int32_t>> tokens;
  std::vector<int32_t> label;
  int32_t labels = 0;
};

Result<EvalSample> load_sample(const TrainEvalOptions& o) {
  TokenizeFileOptions t;
  t.import.label_column = o.label_column;
  SCCELLO_ASSIGN_OR_RETURN(TokenizedFile file, tokenize_cell_file(o.data, t));
  std::vector<int64_t> labelled;
  for (size_t i = 0; i < file.labels.size(); ++i)
    if (!eval::is_missing_label(file.labels[i]) && file.tokens[i].size() > 1) labelled.push_back(i);
  const int64_t n = std::min<int64_t>(o.cells, static_cast<int64_t>(labelled.size()));
  EvalSample s;
  std::vector<std::string> names, labels;
  for (int64_t k = 0; k < n; ++k) {
    const int64_t i = labelled[k * static_cast<int64_t>(labelled.size()) / n];
    s.tokens.push_back(std::move(file.tokens[i]));
    labels.push_back(file.labels[i]);
  }
  s.label = eval::encode_values(labels, &names);
  s.labels = static_cast<int32_t>(names.size());
  if (n <= 15 || s.labels < 2)
    return Status::invalid(o.data + ": --eval-label-column '" + o.label_column + "' gives " + std::to_string(n) +
                           " labelled cells in " + std::to_string(s.labels) +
                           " labels; train-time evaluation needs more than 15 cells and at least 2 labels");
  return s;
}

}  // namespace

Status install_train_eval(const TrainEvalOptions& options, TrainRequest* request) {
  if (options.every <= 0) return Status::invalid("--eval-every must be a positive number of steps");
  if (options.label_column.empty()) return Status::invalid("--eval-data needs --eval-label-column NAME");
  SCCELLO_ASSIGN_OR_RETURN(EvalSample sample, load_sample(options));
  auto shared = std::make_shared<EvalSample>(std::move(sample));
  request->step_hook_every = options.every;
  request->step_hook = [shared, options](ScCelloModel& model, int64_t step) -> Result<std::string> {
    const auto start = std::chrono::steady_clock::now();
    EmbedOptions eo;
    eo.batch_size = options.batch_size;
    eo.max_len = options.max_len;
    SCCELLO_ASSIGN_OR_RETURN(std::vector<float> z, embed_cells(model, shared->tokens, eo));
    eval::ClusteringOptions co;
    co.threads = options.threads;
    co.seed = options.seed;
    const int64_t dims = model->config().hidden;
    SCCELLO_ASSIGN_OR_RETURN(eval::ClusteringScores s,
                             eval::score_embedding(z, dims, shared->label, shared->labels, {}, 0, co));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    nlohmann::json j = {{"type", "eval"}, {"step", step}, {"nmi", s.nmi}, {"ari", s.ari}, {"asw_label", s.asw_label},
                        {"avg_bio", s.avg_bio}, {"n_clusters", s.n_clusters}, {"best_resolution", s.best_resolution},
                        {"cells", s.n_cells}, {"seconds", seconds}};
    return j.dump();
  };
  return Status::ok();
}

}  // namespace sccello
