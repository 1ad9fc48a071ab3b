// libFuzzer harness: the 10x MTX reader on a fuzzed matrix.mtx (4 genes, 3 barcodes).
#include "store/formats/tenx_reader.h"
#include "tests/fuzz/matrix_fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    std::string d = sccello::fuzz::scratch_dir() + "/mtx";
    std::string cmd = "mkdir -p " + d;
    if (std::system(cmd.c_str()) != 0) std::abort();
    const char features[] = "ENSG00000075624\tACTB\nENSG00000111640\tGAPDH\nENSG00000167996\tFTH1\nG4\tG4\n";
    const char barcodes[] = "a\nb\nc\n";
    sccello::fuzz::write_file(d + "/features.tsv", reinterpret_cast<const uint8_t*>(features), sizeof features - 1);
    sccello::fuzz::write_file(d + "/barcodes.tsv", reinterpret_cast<const uint8_t*>(barcodes), sizeof barcodes - 1);
    return d;
  }();
  sccello::fuzz::write_file(dir + "/matrix.mtx", data, size);
  auto reader = sccello::open_tenx_mtx(dir);
  if (reader.is_ok()) sccello::fuzz::drain(**reader);
  return 0;
}
