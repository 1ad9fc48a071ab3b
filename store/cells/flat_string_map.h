// FlatStringMap: an insert-only, open-addressing hash map from string_view keys to small values,
// for the gene vocabulary's tables (25k-80k entries built on every import). Keys view text
// owned elsewhere (the tables' file contents), so an insert allocates nothing; slots live in
// one array sized once by reserve(). std::unordered_map allocated a node per entry and was a
// tenth of a small import's time. The first insert of a key wins, as with emplace.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace sccello {

template <class V>
class FlatStringMap {
 public:
  // Room for `n` keys at a load factor of at most one half (grows by rehashing if exceeded).
  void reserve(size_t n) {
    entries_.reserve(n);
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    if (cap > slots_.size()) rehash(cap);
  }
  // Inserts key -> value unless the key is present; returns whether it inserted.
  bool emplace(std::string_view key, V value) { return insert_hashed(key, value, hash(key)); }
  // emplace() of every (key, value) pair of [first, last) in order, with the slot of the pair
  // kAhead places on prefetched: a table of 50k-80k keys outgrows the L2 cache, and a miss per
  // insert was most of a table's build time.
  template <class It>
  void emplace_all(It first, It last) {
    constexpr size_t kAhead = 8;
    const size_t n = static_cast<size_t>(last - first);
    reserve(entries_.size() + n);
    std::vector<uint64_t> hashes(n);
    for (size_t i = 0; i < n; ++i) hashes[i] = hash(first[i].first);
    for (size_t i = 0; i < n; ++i) {
      if (i + kAhead < n) __builtin_prefetch(&slots_[hashes[i + kAhead] & mask_]);
      insert_hashed(first[i].first, first[i].second, hashes[i]);
    }
  }
  // Starts loading the slot where find(key) begins, for a find a few keys later.
  void prefetch(std::string_view key) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[hash(key) & mask_]);
  }
  // The value of `key`, or nullptr.
  const V* find(std::string_view key) const {
    if (slots_.empty()) return nullptr;
    const uint64_t h = hash(key);
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      uint64_t slot = slots_[i];
      if (slot == 0) return nullptr;
      if ((slot >> 32) != tag) continue;
      const Entry& e = entries_[(slot & 0xffffffffu) - 1];
      if (e.key == key) return &e.value;
    }
  }
  size_t size() const { return entries_.size(); }
  // The table as it is, for writing it out (VocabImage): the probe array, each slot (hash high
  // half << 32) | (entry + 1) or 0 when empty, and the entries in insertion order.
  const std::vector<uint64_t>& slots() const { return slots_; }
  std::string_view key_at(size_t entry) const { return entries_[entry].key; }
  const V& value_at(size_t entry) const { return entries_[entry].value; }

  // 64-bit multiply-xorshift over 8-byte words: a few ns for a gene id, well mixed in all bits.
  static uint64_t hash(std::string_view key) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ key.size();
    const char* p = key.data();
    size_t n = key.size();
    for (; n >= 8; p += 8, n -= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      h = mix(h ^ w);
    }
    uint64_t tail = 0;
    if (n > 0) std::memcpy(&tail, p, n);  // an empty view may have no data pointer at all
    return mix(h ^ tail ^ (uint64_t{n} << 56));
  }

 private:
  struct Entry {
    std::string_view key;
    V value;
  };
  static uint64_t mix(uint64_t x) {
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 31;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 29);
  }
  bool insert_hashed(std::string_view key, V value, uint64_t h) {
    if (2 * (entries_.size() + 1) > slots_.size()) rehash(slots_.empty() ? 16 : 2 * slots_.size());
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      uint64_t slot = slots_[i];
      if (slot == 0) {
        entries_.push_back({key, value});
        slots_[i] = (uint64_t{tag} << 32) | entries_.size();
        return true;
      }
      if ((slot >> 32) == tag && entries_[(slot & 0xffffffffu) - 1].key == key) return false;
    }
  }
  void rehash(size_t cap) {
    slots_.assign(cap, 0);
    mask_ = cap - 1;
    for (size_t e = 0; e < entries_.size(); ++e) {
      const uint64_t h = hash(entries_[e].key);
      size_t i = h & mask_;
      while (slots_[i] != 0) i = (i + 1) & mask_;
      slots_[i] = (h >> 32 << 32) | (e + 1);
    }
  }
  // Probing touches only this array (8 bytes a slot: the hash's high half and entry index + 1,
  // 0 = empty); the entries, in insertion order, are read on a tag match only.
  std::vector<uint64_t> slots_;
  std::vector<Entry> entries_;
  size_t mask_ = 0;
};

}  // namespace sccello
