// WAV audio (libsndfile underneath): decode, and what decodes must encode and decode again to
// the same shape and sample rate; and the same bytes read as a stream (WavStreamReader).
#include <fcntl.h>
#include <unistd.h>

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
  // The same bytes as a stream (io::WavStreamReader, what `stream --input wav` reads).
  FUZZ_EXPECT_ONLY_ERRORS({
    const std::string path = fuzz::write_temp(data, size, ".wav");
    struct Fd {
      int fd;
      ~Fd() { ::close(fd); }
    } f{::open(path.c_str(), O_RDONLY)};
    if (f.fd < 0) std::abort();
    io::WavStreamReader r(f.fd, "fuzz stream");
    std::vector<float> buf(64 * r.channels());
    std::size_t total = 0;
    while (std::size_t n = r.read(buf.data(), 64)) {
      total += n;
      if (total > (1u << 22)) break;
    }
    if (total <= (1u << 22)) r.finish();
  });
  return 0;
}
