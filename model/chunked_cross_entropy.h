// Cross-entropy of the logits q·kᵀ without materialising them: rows of q are processed in chunks,
// and when a gradient is needed it is formed in the same pass (softmax − one-hot, then two matrix
// products), so no [M,V] tensor outlives a chunk. Stateless; an autograd node per call.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace sccello {

struct ChunkedCrossEntropy {
  at::Tensor loss;      // scalar fp32 with graph to q and keys: mean over rows of −log softmax(q·kᵀ)[target]
  int64_t correct = 0;  // rows whose argmax equals the target
};

// q [M,H] fp32, keys [V,H] fp32, targets [M] int64 in [0,V). bf16: the two products per chunk (and
// the two gradient products) run on bf16 copies of q and keys, with fp32 softmax and fp32 gradient
// accumulation. M must be > 0. `chunk_rows`: the most rows per chunk (chunks are balanced); 256 rows
// against a 25k vocabulary ran the products fastest (narrower chunks lose GEMM efficiency, the full
// [M,V] product is slower again: its 62 MB output leaves the cache).
ChunkedCrossEntropy chunked_linear_cross_entropy(const at::Tensor& q, const at::Tensor& keys,
                                                 const at::Tensor& targets, bool bf16, int64_t chunk_rows = 256);

}  // namespace sccello
