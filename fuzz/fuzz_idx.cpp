// IDX data sets (MNIST's format), raw and gzip'd. The first byte chooses: even, the rest is
// the file as given (raw, or gzip if it is gzip); odd, the rest is gzip-compressed first, so
// the fuzzer also explores IDX headers behind a valid gzip stream.
#include <zlib.h>

#include "fourierconv/io/idx.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::init();
  using namespace fourierconv;
  if (size == 0) return 0;
  std::string path;
  if (data[0] & 1) {
    const std::string p = fuzz::write_temp(nullptr, 0, ".idx.gz");
    gzFile g = gzopen(p.c_str(), "wb");
    if (!g) std::abort();
    if (size > 1) gzwrite(g, data + 1, unsigned(size - 1));
    gzclose(g);
    path = p;
  } else {
    path = fuzz::write_temp(data + 1, size - 1, ".idx");
  }
  FUZZ_EXPECT_ONLY_ERRORS(io::read_idx(path));
  return 0;
}
