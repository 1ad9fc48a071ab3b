#include "model/search/embedding_store.h"

#include <cstring>

#include <nlohmann/json.hpp>

#include "store/kv_store.h"
#include "store/store.h"

namespace sccello {
namespace {

constexpr int64_t kRowsPerChunk = 4096;

std::string chunk_key(const std::string& prefix, uint32_t chunk) {
  std::string key = prefix + "r/";
  for (int shift = 24; shift >= 0; shift -= 8) key.push_back(static_cast<char>((chunk >> shift) & 0xff));
  return key;
}

std::string encode_rows(const float* rows, int64_t count, VectorType type) {
  std::string out;
  if (type == VectorType::kFloat32) {
    out.resize(static_cast<size_t>(count) * sizeof(float));
    std::memcpy(out.data(), rows, out.size());
    return out;
  }
  out.resize(static_cast<size_t>(count) * sizeof(uint16_t));
  for (int64_t i = 0; i < count; ++i) {
    const uint16_t h = float_to_half(rows[i]);
    std::memcpy(out.data() + i * 2, &h, 2);
  }
  return out;
}

void decode_rows(const std::string& bytes, VectorType type, std::vector<float>* out) {
  if (type == VectorType::kFloat32) {
    const size_t n = bytes.size() / sizeof(float), at = out->size();
    out->resize(at + n);
    std::memcpy(out->data() + at, bytes.data(), n * sizeof(float));
    return;
  }
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) {
    uint16_t h;
    std::memcpy(&h, bytes.data() + i, 2);
    out->push_back(half_to_float(h));
  }
}

}  // namespace

const char* vector_type_name(VectorType type) { return type == VectorType::kFloat16 ? "float16" : "float32"; }

Result<VectorType> parse_vector_type(const std::string& name) {
  if (name == "float32" || name == "f32") return VectorType::kFloat32;
  if (name == "float16" || name == "f16") return VectorType::kFloat16;
  return Status::invalid("vector type must be float32 or float16, not '" + name + "'");
}

uint16_t float_to_half(float value) {
  uint32_t x;
  std::memcpy(&x, &value, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t mag = x & 0x7fffffffu;
  if (mag >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (mag > 0x7f800000u ? 0x200u : 0));
  if (mag >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (mag < 0x38800000u) {                                                // subnormal or zero
    if (mag < 0x33000000u) return static_cast<uint16_t>(sign);
    const uint32_t e = mag >> 23, m = (mag & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;  // 14..24
    uint32_t h = m >> shift;
    const uint32_t rest = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (h & 1))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = ((mag - 0x38000000u) >> 13);
  const uint32_t rest = mag & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1))) ++h;
  return static_cast<uint16_t>(sign | h);
}

float half_to_float(uint16_t half) {
  const uint32_t sign = (half & 0x8000u) << 16;
  uint32_t exp = (half >> 10) & 0x1f, man = half & 0x3ffu, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else {  // subnormal: normalise
    exp = 113;
    while (!(man & 0x400u)) man <<= 1, --exp;
    bits = sign | (exp << 23) | ((man & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::string EmbeddingStore::prefix_of(const EmbeddingKey& key) {
  return "emb/" + key.model_id + "/" + key.dataset + "/" + key.generation + "/";
}

Result<bool> EmbeddingStore::contains(const EmbeddingKey& key) const {
  std::string value;
  Status st = store_->kv().get(prefix_of(key) + "meta", &value);
  if (st.is_not_found()) return false;
  SCCELLO_RETURN_IF_ERROR(st);
  return true;
}

void EmbeddingStore::put(const EmbeddingKey& key, const std::vector<float>& values, int64_t dims, VectorType type,
                         WriteBatch* batch) {
  const std::string prefix = prefix_of(key);
  const int64_t rows = dims > 0 ? static_cast<int64_t>(values.size()) / dims : 0;
  batch->delete_prefix(prefix);
  for (int64_t start = 0, chunk = 0; start < rows; start += kRowsPerChunk, ++chunk) {
    const int64_t n = std::min(kRowsPerChunk, rows - start);
    batch->put(chunk_key(prefix, static_cast<uint32_t>(chunk)), encode_rows(values.data() + start * dims, n * dims, type));
  }
  nlohmann::json meta = {{"rows", rows}, {"dims", dims}, {"type", vector_type_name(type)}};
  batch->put(prefix + "meta", meta.dump());
}

Result<std::vector<float>> EmbeddingStore::get(const EmbeddingKey& key, int64_t* dims) const {
  const std::string prefix = prefix_of(key);
  std::string meta_bytes;
  Status st = store_->kv().get(prefix + "meta", &meta_bytes);
  if (st.is_not_found())
    return Status::not_found("no stored embeddings of dataset '" + key.dataset + "' for model " + key.model_id);
  SCCELLO_RETURN_IF_ERROR(st);
  nlohmann::json meta = nlohmann::json::parse(meta_bytes, nullptr, false);
  if (meta.is_discarded() || !meta.is_object()) return Status::corruption("unreadable embedding record " + prefix + "meta");
  const int64_t rows = meta.value("rows", int64_t{0});
  *dims = meta.value("dims", int64_t{0});
  SCCELLO_ASSIGN_OR_RETURN(VectorType type, parse_vector_type(meta.value("type", std::string())));
  std::vector<float> out;
  out.reserve(static_cast<size_t>(rows * *dims));
  SCCELLO_RETURN_IF_ERROR(store_->kv().scan(prefix + "r/", [&](std::string_view, std::string_view v) {
    decode_rows(std::string(v), type, &out);
    return true;
  }));
  if (static_cast<int64_t>(out.size()) != rows * *dims)
    return Status::corruption("embedding rows of " + prefix + " are incomplete (" + std::to_string(out.size()) +
                              " values, expected " + std::to_string(rows * *dims) + ")");
  return out;
}

Status EmbeddingStore::drop_model(const std::string& model_id) {
  WriteBatch batch;
  batch.delete_prefix("emb/" + model_id + "/");
  return store_->kv().write(batch);
}

}  // namespace sccello
