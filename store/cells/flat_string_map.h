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
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    if (cap > slots_.size()) rehash(cap);
  }
  // Inserts key -> value unless the key is present; returns whether it inserted.
  bool emplace(std::string_view key, V value) {
    if (2 * (size_ + 1) > slots_.size()) rehash(slots_.empty() ? 16 : 2 * slots_.size());
    uint64_t h = hash(key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (!s.used) {
        s = Slot{h, key, value, true};
        ++size_;
        return true;
      }
      if (s.hash == h && s.key == key) return false;
    }
  }
  // The value of `key`, or nullptr.
  const V* find(std::string_view key) const {
    if (slots_.empty()) return nullptr;
    uint64_t h = hash(key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (!s.used) return nullptr;
      if (s.hash == h && s.key == key) return &s.value;
    }
  }
  size_t size() const { return size_; }

  // 64-bit multiply-xorshift over 8-byte words: a few ns for a gene id, well mixed in the low bits.
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
    std::memcpy(&tail, p, n);
    return mix(h ^ tail ^ (uint64_t{n} << 56));
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    std::string_view key;
    V value{};
    bool used = false;
  };
  static uint64_t mix(uint64_t x) {
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 31;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 29);
  }
  void rehash(size_t cap) {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    size_ = 0;
    for (const Slot& s : old)
      if (s.used) emplace_hashed(s);
  }
  void emplace_hashed(const Slot& from) {
    for (size_t i = from.hash & mask_;; i = (i + 1) & mask_)
      if (!slots_[i].used) {
        slots_[i] = from;
        ++size_;
        return;
      }
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0, size_ = 0;
};

}  // namespace sccello
