// The .keras archive: a zip of metadata.json, config.json and model.weights.h5 (Keras 3's
// format, keras.md section 8), loaded whole by load_model.
#include "fourierconv/nn/saving.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::init();
  const std::string path = fuzz::write_temp(data, size, ".keras");
  FUZZ_EXPECT_ONLY_ERRORS(fourierconv::nn::load_model(path));
  return 0;
}
