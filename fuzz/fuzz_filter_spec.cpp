// Filter specs given as strings ("butterworth:0.1,2", include/fourierconv/filters.hpp), and
// the other names the CLI parses (paddings, PNG scalings, memory sizes, designed FIRs). A spec that parses
// must sample to a finite response and filter a small image.
#include <cmath>

#include "fourierconv/filters.hpp"
#include "fourierconv/fir_design.hpp"
#include "fourierconv/io/png.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::init();
  using namespace fourierconv;
  const std::string text(reinterpret_cast<const char*>(data), size);
  FUZZ_EXPECT_ONLY_ERRORS({
    Filter f = make_filter(text);
    (void)f.to_string();
    Tensor x({9, 8}, 1.0f);
    x[5] = -2.0f;
    Tensor y = apply_filter(x, f, FilterPadding::Wrap);
    if (y.shape() != x.shape()) std::abort();
  });
  FUZZ_EXPECT_ONLY_ERRORS({  // the signal side's designed FIRs, in Hz at 8 kHz (fir_design.hpp)
    const std::vector<float> h = design_fir(text, 8000.0);
    if (h.empty()) std::abort();
    for (float v : h)
      if (!std::isfinite(v)) std::abort();
  });
  FUZZ_EXPECT_ONLY_ERRORS(parse_filter_padding(text));
  FUZZ_EXPECT_ONLY_ERRORS(io::parse_png_scaling(text));
  FUZZ_EXPECT_ONLY_ERRORS(parse_memory_size(text, "fuzz"));
  return 0;
}
