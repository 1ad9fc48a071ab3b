// Checkpoint loading into a model, vocabulary fingerprint, batched embedding.
#include "model/inference.h"

#include <malloc.h>

#include <algorithm>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <unordered_map>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "model/batching.h"
#include "model/torch_compat.h"
#include "store/cells/gene_vocab.h"
#include "store/cells/vocab_image.h"

namespace sccello {

void configure_cpu_allocator() {
#ifdef __GLIBC__
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
  });
#endif
}

NamedTensors model_tensors(ScCelloModel& model) {
  NamedTensors out;
  for (const auto& item : model->named_parameters()) out.emplace_back(item.key(), item.value());
  return out;
}

Status load_model_tensors(ScCelloModel& model, const NamedTensors& tensors, const std::string& source) {
  std::unordered_map<std::string, const at::Tensor*> by_name;
  for (const auto& [name, t] : tensors) by_name[name] = &t;
  at::NoGradGuard no_grad;
  for (auto& item : model->named_parameters()) {
    auto it = by_name.find(item.key());
    if (it == by_name.end()) return Status::corruption(source + ": parameter '" + item.key() + "' is missing");
    if (!it->second->sizes().equals(item.value().sizes()))
      return Status::corruption(source + ": parameter '" + item.key() + "' has shape " +
                                c10::str(it->second->sizes()) + ", the model expects " + c10::str(item.value().sizes()));
    item.value().copy_(*it->second);
  }
  return Status::ok();
}

namespace {

std::string compute_vocabulary_fingerprint(const ModelConfig& model) {
  std::string layout = "vocab=" + std::to_string(model.vocab_size) + ",pad=" + std::to_string(model.pad_id) +
                       ",mask=" + std::to_string(model.mask_id) + ",cls=" + std::to_string(model.cls_id);
  auto dir = GeneVocab::locate("");
  if (!dir.is_ok()) return "layout:" + fnv1a_hex(layout);
  auto vocab = GeneVocab::load_cached(*dir, user_cache_dir());
  if (!vocab.is_ok() || vocab->size() != model.vocab_size) return "layout:" + fnv1a_hex(layout);
  std::string ids = layout;
  for (int32_t t = 0; t < vocab->size(); ++t) ids += "\n" + vocab->gene_id(t);
  return "genes:" + fnv1a_hex(ids);
}

}  // namespace

// Cached per id layout: reading the vocabulary files takes a few hundred milliseconds.
std::string vocabulary_fingerprint(const ModelConfig& model) {
  static std::mutex mu;
  static std::map<std::string, std::string> cache;
  std::string key = std::to_string(model.vocab_size) + "/" + std::to_string(model.pad_id) + "/" +
                    std::to_string(model.mask_id) + "/" + std::to_string(model.cls_id);
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, compute_vocabulary_fingerprint(model)).first;
  return it->second;
}

Result<LoadedModel> load_model(const std::string& file_or_dir) {
  SCCELLO_ASSIGN_OR_RETURN(std::string path, resolve_checkpoint_path(file_or_dir));
  SCCELLO_ASSIGN_OR_RETURN(Checkpoint ckpt, read_checkpoint(path));
  SCCELLO_RETURN_IF_ERROR(validate(ckpt.meta.config).with_context(path));
  std::string vocab = vocabulary_fingerprint(ckpt.meta.config.model);
  if (vocab != ckpt.meta.vocab_hash)
    return Status::invalid(path + ": trained with vocabulary " + ckpt.meta.vocab_hash + ", this build uses " + vocab +
                           "; re-import the cells with the model's vocabulary");
  LoadedModel out;
  out.model = ScCelloModel(ckpt.meta.config.model, static_cast<int64_t>(ckpt.meta.label_space.size()));
  SCCELLO_RETURN_IF_ERROR(load_model_tensors(out.model, ckpt.tensors, path));
  out.model->eval();
  out.meta = std::move(ckpt.meta);
  out.path = path;
  return out;
}

Result<CellReadout> parse_cell_readout(const std::string& name) {
  if (name == "cls-head") return CellReadout::kClsHead;
  if (name == "gene-mean") return CellReadout::kGeneMean;
  if (name == "gene-mean-head") return CellReadout::kGeneMeanHead;
  return Status::invalid("--readout must be cls-head, gene-mean or gene-mean-head, not '" + name + "'");
}

Result<std::vector<float>> embed_cells(ScCelloModel& model, const std::vector<std::vector<int32_t>>& cells,
                                       const EmbedOptions& options) {
  const int64_t n = static_cast<int64_t>(cells.size()), h = model->config().hidden;
  const int64_t max_len = options.max_len > 0 ? options.max_len : model->config().max_positions;
  std::vector<CellExample> examples(n);
  std::vector<int32_t> lengths(n);
  for (int64_t i = 0; i < n; ++i) {
    size_t len = std::min<size_t>(cells[i].size(), static_cast<size_t>(max_len));
    if (len == 0) return Status::invalid("cell #" + std::to_string(i) + " has no tokens");
    examples[i].tokens.assign(cells[i].begin(), cells[i].begin() + len);
    lengths[i] = static_cast<int32_t>(len);
  }
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return lengths[a] > lengths[b]; });
  std::vector<float> out(n * h);
  model->eval();
  at::NoGradGuard no_grad;
  for (int64_t start = 0; start < n; start += options.batch_size) {
    std::vector<int64_t> members(order.begin() + start, order.begin() + std::min(n, start + options.batch_size));
    PaddedBatch batch = pad_batch(examples, members, model->config().pad_id);
    auto ids = at::from_blob(batch.ids.data(), {batch.batch, batch.length}, at::kLong).clone();
    at::Tensor z;
    {
      AutocastScope autocast(options.bf16, false);
      z = model->embed_cells(ids, options.readout);
    }
    z = z.to(at::kFloat).contiguous();
    for (size_t b = 0; b < members.size(); ++b)
      std::copy(z[b].data_ptr<float>(), z[b].data_ptr<float>() + h, out.begin() + members[b] * h);
    if (options.progress) options.progress(start + static_cast<int64_t>(members.size()), n);
  }
  return out;
}

}  // namespace sccello
