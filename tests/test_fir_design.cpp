// firwin, window_function, resample_poly and design_fir against scipy.signal's outputs
// (tests/fixtures/make_fir_fixtures.py, scipy 1.17), and their errors.
#include <gtest/gtest.h>

#include "fourierconv/error.hpp"
#include "reference.hpp"
#include "fourierconv/fir_design.hpp"
#include "fourierconv/io/npy.hpp"
#include "fourierconv/array.hpp"

using namespace fourierconv;

namespace {
const std::string kDir = std::string(FOURIERCONV_SOURCE_DIR) + "/tests/fixtures/fir/";

std::vector<double> load(const std::string& name) {
  Array a = Array::copy_of(io::read_npy_array(kDir + name + ".npy").view(), DType::Float64);
  return {a.data_as<double>(), a.data_as<double>() + a.size()};
}

template <class T>
void expect_near_all(const std::vector<T>& got, const std::vector<double>& want, double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(double(got[i]), want[i], tol) << what << " [" << i << "]";
}

using fctest::message;
}  // namespace

TEST(FirDesign, FirwinMatchesScipyForEveryBandKindAndWindow) {
  expect_near_all(firwin(101, {0.2}), load("firwin_lowpass_101"), 1e-14, "lowpass");
  expect_near_all(firwin(51, {0.3}, false), load("firwin_highpass_51"), 1e-14, "highpass");
  expect_near_all(firwin(64, {0.1, 0.4}, false), load("firwin_bandpass_64"), 1e-14, "bandpass");
  expect_near_all(firwin(33, {0.2, 0.5}, true, "hann"), load("firwin_bandstop_33_hann"), 1e-14, "bandstop hann");
  expect_near_all(firwin(77, {0.1, 0.2, 0.5, 0.7}, false, "blackman"), load("firwin_multiband_77_blackman"), 1e-14, "multiband");
  expect_near_all(firwin(40, {0.35}, true, "kaiser:8"), load("firwin_lowpass_40_kaiser8"), 1e-13, "kaiser");
  expect_near_all(firwin(1, {0.5}), load("firwin_lowpass_1"), 1e-15, "one tap");
  expect_near_all(firwin(9, {0.25}, true, "boxcar", false), load("firwin_boxcar_noscale_9"), 1e-15, "unscaled boxcar");
}

TEST(FirDesign, ResamplePolyMatchesScipyAtEveryRatio) {
  const std::vector<double> xd = load("resample_x");
  const std::vector<float> x(xd.begin(), xd.end());
  for (auto [up, down] : std::vector<std::pair<int, int>>{{2, 3}, {3, 2}, {160, 147}, {147, 160}, {1, 4}, {5, 1}, {6, 4}}) {
    const std::string name = "resample_" + std::to_string(up) + "_" + std::to_string(down);
    expect_near_all(resample_poly(x, std::size_t(up), std::size_t(down)), load(name), 2e-6, name);
  }
  EXPECT_EQ(resample_poly(x, 3, 3), x);
  EXPECT_TRUE(resample_poly({}, 2, 3).empty());
}

TEST(FirDesign, SpecsInHertzAndTheirErrors) {
  expect_near_all(design_fir("lowpass:1000,63", 8000), load("design_lowpass_1000_63_at_8000"), 1e-7, "lowpass spec");
  expect_near_all(design_fir("bandstop:1000,2000", 8000), load("design_bandstop_1000_2000_at_8000"), 1e-7, "bandstop spec");
  EXPECT_EQ(design_fir("highpass:300", 8000).size(), 101u);
  for (const auto& [spec_, want] : std::vector<std::pair<const char*, const char*>>{
           {"lowpass", "no ':'"},
           {"notch:50", "unknown kind 'notch'"},
           {"lowpass:5000", "between 0 and the Nyquist frequency"},
           {"lowpass:abc", "'abc' is not a number"},
           {"lowpass:nan", "not a finite number"},
           {"bandpass:100", "expected 2 frequencies"},
           {"lowpass:100,2.5", "tap count must be an integer"},
           {"highpass:100,64", "needs an odd numtaps"},
           {"bandpass:2000,1000", "strictly increasing"}}) {
    const std::string spec = spec_;  // a lambda cannot capture a structured binding (clang 14)
    EXPECT_NE(message([&] { design_fir(spec, 8000); }).find(want), std::string::npos) << spec << ": " << message([&] { design_fir(spec, 8000); });
  }
  EXPECT_NE(message([] { window_function("triangle", 5); }).find("expected hamming, hann"), std::string::npos);
  EXPECT_NE(message([] { window_function("kaiser:-1", 5); }).find("kaiser:BETA"), std::string::npos);
  EXPECT_NE(message([] { resample_poly({1.0f}, 0, 2); }).find("up and down must be >= 1"), std::string::npos);
  EXPECT_NE(message([] { firwin(0, {0.5}); }).find("numtaps must be >= 1"), std::string::npos);
}
