// SHA-256 (FIPS 180-4), written out for content hashes of ontology releases: a stable digest
// that does not depend on a library version. Incremental; one instance per digest, not shared.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace sccello {

class Sha256 {
 public:
  Sha256();
  void update(std::string_view bytes);
  // Lowercase hex of the 32-byte digest. Call once.
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);
  std::array<uint32_t, 8> h_;
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

std::string sha256_hex(std::string_view bytes);

}  // namespace sccello
