// EmbeddingStore: cell embeddings of one model kept in the store, per (model id, dataset import),
// so that every index over the same model shares them and a dataset is embedded once. Rows are
// float32 or float16 (half the bytes; ~1e-3 relative error), in the dataset's cell order.
// Keys (docs/STORE.md): emb/<model_id>/<dataset>/<generation>/meta (JSON) and
// .../r/<u32 BE chunk> (4,096 rows each). Does not own the Store; thread-safety as KvStore.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/status.h"

namespace sccello {

class Store;
class WriteBatch;

enum class VectorType { kFloat32, kFloat16 };
const char* vector_type_name(VectorType type);
Result<VectorType> parse_vector_type(const std::string& name);  // "float32" | "float16"

// IEEE 754 binary16 conversions (round to nearest even).
uint16_t float_to_half(float value);
float half_to_float(uint16_t half);

struct EmbeddingKey {
  std::string model_id;    // checkpoint identity (model_identity() in the model library)
  std::string dataset;     // corpus dataset name
  std::string generation;  // Corpus::generation(dataset): a replaced dataset is embedded anew
};

class EmbeddingStore {
 public:
  explicit EmbeddingStore(Store& store) : store_(&store) {}

  // True when the rows of this dataset import are stored for this model.
  Result<bool> contains(const EmbeddingKey& key) const;
  // Adds the rows (row-major, rows x dims) to `batch`; the caller commits it with its index record.
  static void put(const EmbeddingKey& key, const std::vector<float>& values, int64_t dims, VectorType type,
                  WriteBatch* batch);
  // The stored rows as float32; *dims receives the width.
  Result<std::vector<float>> get(const EmbeddingKey& key, int64_t* dims) const;
  // Deletes every stored embedding of one model.
  Status drop_model(const std::string& model_id);

  static std::string prefix_of(const EmbeddingKey& key);

 private:
  Store* store_;
};

}  // namespace sccello
