// TargetCache: key layout and value codec (see target_cache.h and docs/STORE.md).
#include "store/target_cache.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string_view>

#include "store/store.h"

namespace sccello {

namespace {

constexpr char kMagic[4] = {'S', 'C', 'T', 'R'};       // raw row, f64 values
constexpr char kLevelMagic[4] = {'S', 'C', 'T', 'L'};  // level row, u8 values
constexpr uint32_t kCodecVersion = 1;

void append_u32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }

bool read_u32(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  std::memcpy(v, in->data(), 4);
  in->remove_prefix(4);
  return true;
}

// Header (magic, codec version, describe(), row length) + payload.
std::string encode_value(const char* magic, const std::string& describe, size_t n, std::string_view payload) {
  std::string v(magic, 4);
  v.reserve(16 + describe.size() + payload.size());
  append_u32(&v, kCodecVersion);
  append_u32(&v, static_cast<uint32_t>(describe.size()));
  v += describe;
  append_u32(&v, static_cast<uint32_t>(n));
  v += payload;
  return v;
}

// The payload of a value written by `describe` for rows of n values, or nullopt when the value
// has another magic, codec version, describe() or row length (stale).
std::optional<std::string_view> decode_value(std::string_view in, const char* magic,
                                             const std::string& describe, size_t n) {
  uint32_t version = 0, len = 0, count = 0;
  if (in.size() < 4 || std::memcmp(in.data(), magic, 4) != 0) return std::nullopt;
  in.remove_prefix(4);
  if (!read_u32(&in, &version) || version != kCodecVersion) return std::nullopt;
  if (!read_u32(&in, &len) || in.size() < len || in.substr(0, len) != describe) return std::nullopt;
  in.remove_prefix(len);
  if (!read_u32(&in, &count) || count != n) return std::nullopt;
  return in;
}

void append_varint(std::string* out, uint32_t v) {
  for (; v >= 0x80; v >>= 7) out->push_back(static_cast<char>((v & 0x7f) | 0x80));
  out->push_back(static_cast<char>(v));
}

bool read_varint(std::string_view* in, uint32_t* v) {
  *v = 0;
  for (int shift = 0; shift < 35 && !in->empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    *v |= static_cast<uint32_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

// Level row payload: the row's most common level, the number of other entries, then each as
// (varint gap to the previous one's index + 1, level). A PPR row of CL 2022-12-15 holds ~235
// levels above 1 among 2,804 terms: ~0.5 kB instead of 2.8 kB.
std::string encode_level_payload(const uint8_t* row, size_t n) {
  size_t count[256] = {};
  for (size_t i = 0; i < n; ++i) ++count[row[i]];
  const auto background = static_cast<uint8_t>(std::max_element(count, count + 256) - count);
  std::string out(1, static_cast<char>(background));
  append_u32(&out, static_cast<uint32_t>(n - count[background]));
  size_t next = 0;  // index after the previous entry
  for (size_t i = 0; i < n; ++i) {
    if (row[i] == background) continue;
    append_varint(&out, static_cast<uint32_t>(i - next));
    out.push_back(static_cast<char>(row[i]));
    next = i + 1;
  }
  return out;
}

bool decode_level_payload(std::string_view in, size_t n, std::vector<uint8_t>* row) {
  uint32_t entries = 0, gap = 0;
  if (in.empty()) return false;
  row->assign(n, static_cast<uint8_t>(in.front()));
  in.remove_prefix(1);
  if (!read_u32(&in, &entries) || entries > n) return false;
  size_t next = 0;
  for (uint32_t e = 0; e < entries; ++e) {
    if (!read_varint(&in, &gap) || in.empty() || next + gap >= n) return false;
    (*row)[next + gap] = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    next += gap + 1;
  }
  return in.empty();
}

// Reads one value into `value`; kMiss when absent.
Result<CacheLookup> read_value(const Store& store, const std::string& k, std::string* value) {
  Status s = store.kv().get(k, value);
  if (s.is_not_found()) return CacheLookup::kMiss;
  SCCELLO_RETURN_IF_ERROR(s);
  return CacheLookup::kHit;
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

std::string TargetCache::level_key_of(const TargetCacheKey& key, const TermId& term) {
  return "cache/targets/" + key.content_hash + "/" + slot_of(key.describe) + "/#levels/" + term;
}

std::string TargetCache::encode(const std::string& describe, const double* row, size_t n) {
  return encode_value(kMagic, describe, n, {reinterpret_cast<const char*>(row), n * sizeof(double)});
}

std::string TargetCache::encode_levels(const std::string& describe, const uint8_t* row, size_t n) {
  return encode_value(kLevelMagic, describe, n, encode_level_payload(row, n));
}

Result<CacheLookup> TargetCache::get(const TargetCacheKey& key, const TermId& term,
                                     std::vector<double>* row) const {
  std::string value;
  SCCELLO_ASSIGN_OR_RETURN(CacheLookup found, read_value(*store_, key_of(key, term), &value));
  if (found != CacheLookup::kHit) return found;
  auto payload = decode_value(value, kMagic, key.describe, key.row_length);
  if (!payload || payload->size() != key.row_length * sizeof(double)) return CacheLookup::kStale;
  row->resize(key.row_length);
  std::memcpy(row->data(), payload->data(), payload->size());
  return CacheLookup::kHit;
}

Result<CacheLookup> TargetCache::get_levels(const TargetCacheKey& key, const TermId& term,
                                            std::vector<uint8_t>* row) const {
  std::string value;
  SCCELLO_ASSIGN_OR_RETURN(CacheLookup found, read_value(*store_, level_key_of(key, term), &value));
  if (found != CacheLookup::kHit) return found;
  auto payload = decode_value(value, kLevelMagic, key.describe, key.row_length);
  if (!payload || !decode_level_payload(*payload, key.row_length, row)) return CacheLookup::kStale;
  return CacheLookup::kHit;
}

Status TargetCache::scan_levels(const TargetCacheKey& key, const LevelWant& want, const LevelGot& got) const {
  const std::string prefix = level_key_of(key, "");
  std::vector<uint8_t> row;
  return store_->kv().scan(prefix, [&](std::string_view k, std::string_view value) {
    const std::string_view term = k.substr(prefix.size());
    if (!want(term)) return true;
    auto payload = decode_value(value, kLevelMagic, key.describe, key.row_length);
    const bool ok = payload && decode_level_payload(*payload, key.row_length, &row);
    got(term, ok ? CacheLookup::kHit : CacheLookup::kStale, &row);
    return true;
  });
}

Status TargetCache::put(const TargetCacheKey& key, const std::vector<TermId>& terms, const double* rows) {
  return put(key, terms, rows, nullptr);
}

Status TargetCache::put(const TargetCacheKey& key, const std::vector<TermId>& terms, const double* rows,
                        const uint8_t* levels) {
  if (store_->read_only()) return Status::ok();
  const size_t n = key.row_length;
  WriteBatch batch;
  for (size_t i = 0; i < terms.size(); ++i) {
    if (rows) batch.put(key_of(key, terms[i]), encode(key.describe, rows + i * n, n));
    if (levels) batch.put(level_key_of(key, terms[i]), encode_levels(key.describe, levels + i * n, n));
  }
  return store_->kv().write(batch);
}

Status TargetCache::put_levels(const TargetCacheKey& key, const std::vector<TermId>& terms,
                               const uint8_t* levels) {
  return put(key, terms, nullptr, levels);
}

Status TargetCache::drop_release(const std::string& content_hash) {
  WriteBatch batch;
  batch.delete_prefix("cache/targets/" + content_hash + "/");
  return store_->kv().write(batch);
}

}  // namespace sccello
