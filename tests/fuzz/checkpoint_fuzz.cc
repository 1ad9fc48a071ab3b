// libFuzzer harness: the checkpoint reader (model/checkpoint.h) on the bytes of a file. The input
// is the body after the magic and version; the harness frames it as a version-1 file and appends
// the correct FNV-1a checksum (written here from the definition, not taken from the reader), so
// the fuzzer reaches the header, the metadata JSON and the tensor records instead of stopping at
// the checksum. An input whose first byte is 0xFF is passed unframed (magic, version, checksum
// themselves under test). Built by scripts/fuzz.sh (clang, ASan + UBSan, links LibTorch).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "model/checkpoint.h"

namespace {

// The format's checksum: FNV-1a 64 with the offset basis 1469598103934665603 (checkpoint.h).
uint64_t fnv1a_64(const std::string& bytes) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ULL;
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string file;
  if (size > 0 && data[0] == 0xFF) {
    file.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  } else {
    const uint32_t version = sccello::kCheckpointVersion;
    file.assign("SCCELLOC");
    file.append(reinterpret_cast<const char*>(&version), sizeof version);
    file.append(reinterpret_cast<const char*>(data), size);
    const uint64_t sum = fnv1a_64(file);
    file.append(reinterpret_cast<const char*>(&sum), sizeof sum);
  }
  auto ckpt = sccello::parse_checkpoint(file, "fuzz.ckpt");
  if (ckpt.is_ok()) {
    // What loading does next with a parsed file: look at every tensor's shape and bytes.
    int64_t elements = 0;
    for (const auto& [name, tensor] : ckpt->tensors) elements += tensor.numel() + static_cast<int64_t>(name.size());
    (void)elements;
  }
  return 0;
}
