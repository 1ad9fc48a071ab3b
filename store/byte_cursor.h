// ByteCursor: reads fixed-size values and length-prefixed strings from bytes in memory (a mapped
// or loaded file) with every read bounds-checked first: a crafted size can neither read past the
// end nor wrap the check (`n > remaining()`, never `pos + n > end`). The checkpoint reader and the
// HNSW index loader both parse untrusted files with it. Does not own the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace sccello {

class ByteCursor {
 public:
  ByteCursor(const char* bytes, size_t size) : bytes_(bytes), size_(size) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }  // pos_ <= size_ always
  bool at_end() const { return pos_ == size_; }
  const char* here() const { return bytes_ + pos_; }

  bool get(void* out, size_t n) {
    if (n > remaining()) return false;
    if (n > 0) std::memcpy(out, bytes_ + pos_, n);
    pos_ += n;
    return true;
  }
  template <typename T>
  bool get(T* v) {
    return get(static_cast<void*>(v), sizeof *v);
  }
  // A string prefixed by its length as uint32 (or uint64 when `wide`).
  bool get_string(std::string* s, bool wide) {
    uint64_t n = 0;
    uint32_t n32 = 0;
    if (wide ? !get(&n) : !get(&n32)) return false;
    if (!wide) n = n32;
    if (n > remaining()) return false;
    s->assign(bytes_ + pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return true;
  }
  bool skip(size_t n) {
    if (n > remaining()) return false;
    pos_ += n;
    return true;
  }

 private:
  const char* bytes_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace sccello
