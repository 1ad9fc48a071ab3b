// libFuzzer harness: the h5ad reader (and the 10x HDF5 reader) on a fuzzed HDF5 file. Crashes
// inside libhdf5 itself are reported separately in docs/hostile-input.md.
#include "store/formats/h5ad_reader.h"
#include "store/formats/tenx_reader.h"
#include "tests/fuzz/matrix_fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = sccello::fuzz::scratch_dir() + "/fuzz.h5ad";
  sccello::fuzz::write_file(path, data, size);
  auto reader = sccello::open_h5ad(path, {});
  if (reader.is_ok()) sccello::fuzz::drain(**reader);
  auto tenx = sccello::open_tenx_h5(path);
  if (tenx.is_ok()) sccello::fuzz::drain(**tenx);
  return 0;
}
