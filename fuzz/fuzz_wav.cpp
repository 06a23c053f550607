// WAV audio (libsndfile underneath): decode, and what decodes must encode and decode again to
// the same shape and sample rate.
#include "fourierconv/io/wav.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::init();
  using namespace fourierconv;
  const std::vector<unsigned char> bytes(data, data + size);
  FUZZ_EXPECT_ONLY_ERRORS({
    io::Audio a = io::decode_wav(bytes, "fuzz");
    if (a.samples.size() <= (1u << 20)) {
      io::Audio b = io::decode_wav(io::encode_wav(a, "FLOAT"), "round trip");
      if (b.samples.shape() != a.samples.shape() || b.sample_rate != a.sample_rate) std::abort();
    }
  });
  return 0;
}
