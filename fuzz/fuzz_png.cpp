// PNG images (libpng underneath): decode, and what decodes must encode and decode again to
// the same shape.
#include "fourierconv/io/png.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::init();
  using namespace fourierconv;
  const std::vector<unsigned char> bytes(data, data + size);
  FUZZ_EXPECT_ONLY_ERRORS({
    Tensor t = io::decode_png(bytes, "fuzz");
    if (t.size() <= (1u << 20)) {
      Tensor u = io::decode_png(io::encode_png(t, 16), "round trip");
      if (u.shape() != t.shape()) std::abort();
    }
  });
  return 0;
}
