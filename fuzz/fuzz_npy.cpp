// .npy arrays of every dtype: parse, and what parses must write back and re-read to the same
// array (numpy's format, include/fourierconv/io/npy.hpp).
#include <cstring>

#include "fourierconv/io/npy.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::init();
  using namespace fourierconv;
  const std::vector<unsigned char> bytes(data, data + size);
  FUZZ_EXPECT_ONLY_ERRORS({
    Array a = io::parse_npy_array(bytes, "fuzz");
    Array b = io::parse_npy_array(io::encode_npy(a), "round trip");
    if (a.dtype() != b.dtype() || a.shape() != b.shape() || a.nbytes() != b.nbytes() ||
        (a.nbytes() && std::memcmp(a.data(), b.data(), a.nbytes()) != 0))
      std::abort();  // a finding: the written file does not read back as the same array
  });
  FUZZ_EXPECT_ONLY_ERRORS(io::parse_npy(bytes, "fuzz"));  // the float32 Tensor path
  return 0;
}
