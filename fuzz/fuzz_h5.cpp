// Raw bytes as HDF5 files: a legacy Keras 2 full-model .h5 (load_model) when the first byte
// is even, else a Keras 3 .weights.h5 loaded into the seed CNN (load_weights). HDF5 parses
// the bytes; this harness checks what fourierconv does with what it returns. Structured
// files (valid HDF5, fuzzed contents) are fuzz_h5_structured's job.
#include "fourierconv/nn/models.hpp"
#include "fourierconv/nn/saving.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::init();
  using namespace fourierconv;
  if (size == 0) return 0;
  if (data[0] & 1) {
    static nn::Sequential model = nn::make_model("seed-cnn");
    const std::string path = fuzz::write_temp(data + 1, size - 1, ".weights.h5");
    FUZZ_EXPECT_ONLY_ERRORS(nn::load_weights(model, path));
  } else {
    const std::string path = fuzz::write_temp(data + 1, size - 1, ".h5");
    FUZZ_EXPECT_ONLY_ERRORS(nn::load_model(path));
  }
  return 0;
}
