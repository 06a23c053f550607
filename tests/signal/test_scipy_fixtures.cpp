// scipy.signal's own outputs (tests/fixtures/make_signal_fixtures.py, scipy 1.18): every
// function, element type and mode, axes with scipy's broadcasting (and its same-mode centring
// of broadcast axes), many overlap-add blocks, convolve2d's boundaries and fill values,
// correlate2d's valid swap. Shapes and dtypes must match exactly; values exactly for integer
// and bool results, within the compute type's accuracy otherwise.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "fourierconv/io/file.hpp"
#include "fourierconv/io/npy.hpp"
#include "fourierconv/signal.hpp"

using namespace fourierconv;

namespace {

const std::string kDir = std::string(FOURIERCONV_SOURCE_DIR) + "/tests/fixtures/signal/";

Array npy_at(const std::vector<unsigned char>& blob, std::size_t off) {
  // A complete .npy stream starts at off; parse_npy_array reads its header and data only.
  return io::parse_npy_array(std::vector<unsigned char>(blob.begin() + std::ptrdiff_t(off), blob.end()), "fixture");
}

std::optional<std::vector<long>> parse_axes(const std::string& s) {
  if (s == "-") return std::nullopt;
  std::vector<long> a;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) a.push_back(std::stol(item));
  return a;
}

TEST(ScipyFixtures, EveryCaseMatchesScipy) {
  const auto blob = io::read_file(kDir + "cases.bin", "fixtures");
  std::ifstream f(kDir + "cases.txt");
  std::string line;
  int cases = 0;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string name, func, mode_s, extra;
    std::size_t o1, o2, o3;
    ls >> name >> func >> mode_s >> extra >> o1 >> o2 >> o3;
    SCOPED_TRACE(line);
    const Array a = npy_at(blob, o1), b = npy_at(blob, o2), want = npy_at(blob, o3);
    const Mode mode = parse_mode(mode_s);
    Array got;
    if (func == "convolve" || func == "correlate") {
      const Method m = parse_method(extra);
      got = func == "convolve" ? signal::convolve(a.view(), b.view(), mode, m) : signal::correlate(a.view(), b.view(), mode, m);
    } else if (func == "fftconvolve") {
      got = signal::fftconvolve(a.view(), b.view(), mode, parse_axes(extra));
    } else if (func == "oaconvolve") {
      got = signal::oaconvolve(a.view(), b.view(), mode, parse_axes(extra));
    } else {
      const auto colon = extra.find(':');
      const auto boundary = signal::parse_boundary(extra.substr(0, colon));
      const double fill = std::stod(extra.substr(colon + 1));
      got = func == "convolve2d" ? signal::convolve2d(a.view(), b.view(), mode, boundary, fill)
                                 : signal::correlate2d(a.view(), b.view(), mode, boundary, fill);
    }
    EXPECT_EQ(to_string(got.dtype()), to_string(want.dtype()));
    EXPECT_EQ(got.shape(), want.shape());
    if (got.shape() != want.shape()) continue;
    const Array g = Array::copy_of(got.view(), DType::Complex128), w = Array::copy_of(want.view(), DType::Complex128);
    const auto* gp = g.data_as<std::complex<double>>();
    const auto* wp = w.data_as<std::complex<double>>();
    // Scale: the largest possible |output| (inputs are N(0,1) or small integers).
    double scale = 1;
    const Array ad = Array::copy_of(a.view(), DType::Complex128), bd = Array::copy_of(b.view(), DType::Complex128);
    double ma = 0, mb = 0;
    for (std::size_t i = 0; i < ad.size(); ++i) ma = std::max(ma, std::abs(ad.data_as<std::complex<double>>()[i]));
    for (std::size_t i = 0; i < bd.size(); ++i) mb = std::max(mb, std::abs(bd.data_as<std::complex<double>>()[i]));
    scale = std::max(1.0, ma * mb * double(std::min(a.size(), b.size())));
    const bool exact = is_integer(want.dtype()) || want.dtype() == DType::Bool;
    // scipy transforms a float32 input in float32 even when the other input makes the result
    // float64: its reference then carries float32 rounding.
    auto single_type = [](DType t) { return t == DType::Float32 || t == DType::Complex64; };
    const bool single = single_type(want.dtype()) || single_type(a.dtype()) || single_type(b.dtype());
    const double tol = exact ? 0 : (single ? 1e-6 : 1e-14) * scale;
    double worst = 0;
    std::size_t at = 0;
    for (std::size_t i = 0; i < g.size(); ++i) {
      const double e = std::abs(gp[i] - wp[i]);
      if (!(e <= worst)) worst = std::isnan(e) ? INFINITY : e, at = i;
    }
    EXPECT_LE(worst, tol) << "at " << at << ": got " << gp[at] << " want " << wp[at];
    ++cases;
  }
  EXPECT_GT(cases, 1000);
}

}  // namespace
