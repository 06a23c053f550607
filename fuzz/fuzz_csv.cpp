// CSV columns of time series (io/csv.hpp): parse; what parses must format and parse again to
// the same samples, bit for bit, and the same header.
#include <cstring>

#include "fourierconv/io/csv.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::init();
  using namespace fourierconv;
  const std::string text(reinterpret_cast<const char*>(data), size);
  FUZZ_EXPECT_ONLY_ERRORS({
    io::CsvSignal a = io::parse_csv(text, "fuzz");
    std::string again;
    try {
      again = io::format_csv(a.signal, a.names);
    } catch (const Error&) {  // a header that cannot be written back (padded names, say)
      again = io::format_csv(a.signal);
      a.names.clear();
    }
    io::CsvSignal b = io::parse_csv(again, "round trip");
    if (b.names != a.names || b.signal.samples.shape() != a.signal.samples.shape() ||
        std::memcmp(b.signal.samples.data(), a.signal.samples.data(), a.signal.samples.size() * sizeof(float)) != 0)
      std::abort();
  });
  return 0;
}
