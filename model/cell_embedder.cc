#include "model/cell_embedder.h"

#include <fstream>

#include <ATen/Parallel.h>
#include <torch/nn/functional/normalization.h>

#include "store/sha256.h"

namespace sccello {
namespace {

Result<std::string> file_identity(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error("cannot read checkpoint " + path);
  Sha256 hash;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    hash.update(std::string_view(buffer.data(), static_cast<size_t>(in.gcount())));
  }
  return hash.hex_digest().substr(0, 16);
}

}  // namespace

Result<std::unique_ptr<CheckpointEmbedder>> CheckpointEmbedder::open(const std::string& checkpoint, int threads,
                                                                     const EmbedOptions& options) {
  try {
    at::set_num_threads(std::max(1, threads));
    configure_cpu_allocator();
    std::unique_ptr<CheckpointEmbedder> e(new CheckpointEmbedder());
    SCCELLO_ASSIGN_OR_RETURN(e->loaded_, load_model(checkpoint));
    e->options_ = options;
    if (e->options_.max_len <= 0) e->options_.max_len = e->loaded_.meta.config.train.max_len;
    ModelIdentity& id = e->identity_;
    SCCELLO_ASSIGN_OR_RETURN(id.id, file_identity(e->loaded_.path));
    id.checkpoint = checkpoint;
    id.release = e->loaded_.meta.release_name;
    id.release_hash = e->loaded_.meta.release_hash;
    id.vocab_hash = e->loaded_.meta.vocab_hash;
    id.dims = e->loaded_.meta.config.model.hidden;
    return e;
  } catch (const std::exception& ex) {
    return Status::internal(std::string("loading ") + checkpoint + " failed: " + ex.what());
  }
}

CellEmbedder CheckpointEmbedder::embedder() {
  return [this](const std::vector<std::vector<int32_t>>& cells) -> Result<std::vector<float>> {
    try {
      return embed_cells(loaded_.model, cells, options_);
    } catch (const std::exception& ex) {
      return Status::internal(std::string("embedding failed: ") + ex.what());
    }
  };
}

Result<std::vector<float>> CheckpointEmbedder::prototype_scores(const std::vector<float>& embeddings) const {
  try {
    const int64_t dims = identity_.dims;
    const int64_t rows = dims > 0 ? static_cast<int64_t>(embeddings.size()) / dims : 0;
    torch::NoGradGuard no_grad;
    auto z = torch::from_blob(const_cast<float*>(embeddings.data()), {rows, dims}, torch::kFloat32);
    namespace F = torch::nn::functional;
    z = F::normalize(z, F::NormalizeFuncOptions().dim(1));
    auto p = F::normalize(const_cast<LoadedModel&>(loaded_).model->prototypes()->weight.detach().to(torch::kFloat32),
                          F::NormalizeFuncOptions().dim(1));
    auto scores = torch::matmul(z, p.t()).contiguous();
    return std::vector<float>(scores.data_ptr<float>(), scores.data_ptr<float>() + scores.numel());
  } catch (const std::exception& ex) {
    return Status::internal(std::string("prototype scores failed: ") + ex.what());
  }
}

Result<std::vector<TermId>> CheckpointEmbedder::predicted_terms(const std::vector<float>& embeddings) const {
  SCCELLO_ASSIGN_OR_RETURN(std::vector<float> scores, prototype_scores(embeddings));
  const auto& labels = loaded_.meta.label_space;
  std::vector<TermId> out;
  if (labels.empty()) return std::vector<TermId>(embeddings.size() / std::max<int64_t>(1, identity_.dims));
  for (size_t start = 0; start + labels.size() <= scores.size(); start += labels.size()) {
    size_t best = 0;
    for (size_t j = 1; j < labels.size(); ++j)
      if (scores[start + j] > scores[start + best]) best = j;
    out.push_back(labels[best]);
  }
  return out;
}

Status check_same_model(const IndexInfo& index, const ModelIdentity& model) {
  if (index.model.id == model.id) return Status::ok();
  return Status::invalid("index '" + index.name + "' was built with checkpoint " + index.model.checkpoint + " (model " +
                         index.model.id + "); " + model.checkpoint + " is model " + model.id +
                         ": embed with the index's checkpoint, or build an index for this one");
}

}  // namespace sccello
