// Keras config JSON (config.json of a .keras file, model_config of a legacy .h5): building a
// model from it (model_from_json), then its summary and one prediction when it is small.
#include "fourierconv/nn/saving.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::init();
  using namespace fourierconv;
  // A model is built (its weights initialized) as far as the memory limit allows; under ASan
  // a legal 256 MiB model takes 24 s to initialize (slow-unit, not a fault), so this harness
  // works under 32 MiB: the refusal paths are the same, the legal models smaller.
  static const bool limited = (set_memory_limit(std::size_t(32) << 20), true);
  (void)limited;
  const std::string text(reinterpret_cast<const char*>(data), size);
  FUZZ_EXPECT_ONLY_ERRORS({
    nn::Model m = nn::model_from_json(text);
    (void)m.summary_text();
    if (m.built() && m.count_params() < 100000) {
      Shape in = m.input_shape();
      std::size_t n = 1;
      for (auto d : in) n *= d;
      if (n > 0 && n <= 4096) {
        in.insert(in.begin(), 1);
        (void)m.predict(Tensor(in, 0.5f));
      }
    }
  });
  return 0;
}
