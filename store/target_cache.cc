// TargetCache: key layout and value codec (see target_cache.h and docs/STORE.md).
#include "store/target_cache.h"

#include <cstring>

#include "store/store.h"

namespace sccello {

namespace {

constexpr char kMagic[4] = {'S', 'C', 'T', 'R'};
constexpr uint32_t kCodecVersion = 1;

void append_u32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }

bool read_u32(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  std::memcpy(v, in->data(), 4);
  in->remove_prefix(4);
  return true;
}

}  // namespace

std::string TargetCache::slot_of(const std::string& describe) {
  const size_t colon = describe.find(':');
  const std::string head = describe.substr(0, colon);
  const std::string tail = colon == std::string::npos ? "" : describe.substr(colon);
  return head.substr(0, head.find('/')) + tail;
}

std::string TargetCache::key_of(const TargetCacheKey& key, const TermId& term) {
  return "cache/targets/" + key.content_hash + "/" + slot_of(key.describe) + "/" + term;
}

std::string TargetCache::encode(const std::string& describe, const double* row, size_t n) {
  std::string v(kMagic, 4);
  append_u32(&v, kCodecVersion);
  append_u32(&v, static_cast<uint32_t>(describe.size()));
  v += describe;
  append_u32(&v, static_cast<uint32_t>(n));
  v.append(reinterpret_cast<const char*>(row), n * sizeof(double));
  return v;
}

Result<CacheLookup> TargetCache::get(const TargetCacheKey& key, const TermId& term,
                                     std::vector<double>* row) const {
  std::string value;
  const std::string k = key_of(key, term);
  Status s = store_->kv().get(k, &value);
  if (s.is_not_found()) return CacheLookup::kMiss;
  SCCELLO_RETURN_IF_ERROR(s);
  std::string_view in(value);
  uint32_t version = 0, len = 0, n = 0;
  if (in.size() < 4 || std::memcmp(in.data(), kMagic, 4) != 0) return CacheLookup::kStale;
  in.remove_prefix(4);
  if (!read_u32(&in, &version) || version != kCodecVersion) return CacheLookup::kStale;
  if (!read_u32(&in, &len) || in.size() < len) return CacheLookup::kStale;
  if (in.substr(0, len) != key.describe) return CacheLookup::kStale;
  in.remove_prefix(len);
  if (!read_u32(&in, &n) || n != key.row_length || in.size() != n * sizeof(double)) {
    return CacheLookup::kStale;
  }
  row->resize(n);
  std::memcpy(row->data(), in.data(), in.size());
  return CacheLookup::kHit;
}

Status TargetCache::put(const TargetCacheKey& key, const std::vector<TermId>& terms, const double* rows) {
  if (store_->read_only()) return Status::ok();
  WriteBatch batch;
  for (size_t i = 0; i < terms.size(); ++i) {
    batch.put(key_of(key, terms[i]), encode(key.describe, rows + i * key.row_length, key.row_length));
  }
  return store_->kv().write(batch);
}

Status TargetCache::drop_release(const std::string& content_hash) {
  WriteBatch batch;
  batch.delete_prefix("cache/targets/" + content_hash + "/");
  return store_->kv().write(batch);
}

}  // namespace sccello
