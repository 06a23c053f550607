// Named filters against numpy's irfft2(rfft2(x) * H) (fixtures from
// tests/fixtures/make_fixtures.py), padding modes and the odd-part/magnitude path.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <numbers>
#include <thread>
#include <vector>

#include "fourierconv/error.hpp"
#include "fourierconv/filters.hpp"
#include "fourierconv/io/npy.hpp"
#include "reference.hpp"

using namespace fourierconv;

namespace {

const std::string kDir = std::string(FOURIERCONV_SOURCE_DIR) + "/tests/fixtures/";

TEST(Filters, MatchNumpyFixtures) {
  Tensor x = io::read_npy(kDir + "filter_input.npy");
  std::ifstream list(kDir + "filters.txt");
  int n = 0;
  for (std::string spec, file; list >> spec >> file; ++n) {
    Tensor want = io::read_npy(kDir + file + ".npy");
    Tensor y = apply_filter(x, make_filter(spec), FilterPadding::Wrap);
    fctest::expect_close(y, fctest::to_double(want), 1e-5, spec);
  }
  EXPECT_EQ(n, 9);
}

TEST(Filters, CustomCallableEqualsNamed) {
  Tensor x = fctest::random_tensor({20, 24, 2}, 7);
  Filter custom = filter_custom([](float fy, float fx) { return std::exp(-(fx * fx + fy * fy) / (2 * 0.01f)); });
  Tensor a = apply_filter(x, custom), b = apply_filter(x, filter_gaussian_lowpass(0.1));
  fctest::expect_close(a, fctest::to_double(b), 1e-6, "custom vs named");
}

// apply_filter keeps the last named response it sampled: a second filter, another grid, a
// named Filter whose callable the user replaced, and a custom callable that changes between
// calls must each get their own response, as a fresh sampling would.
TEST(Filters, KeptResponseIsNeverAnotherFilters) {
  Tensor x = fctest::random_tensor({32, 40}, 3), x2 = fctest::random_tensor({33, 40}, 4);
  auto fresh = [](float sigma) {
    return filter_custom([sigma](float fy, float fx) { return std::exp(-(fx * fx + fy * fy) / (2 * sigma * sigma)); });
  };
  const Tensor a1 = apply_filter(x, make_filter("gaussian_lowpass:0.05"));
  const Tensor a2 = apply_filter(x, make_filter("gaussian_lowpass:0.05"));  // the kept response
  fctest::expect_close(a2, fctest::to_double(a1), 0.0, "kept response");
  fctest::expect_close(a1, fctest::to_double(apply_filter(x, fresh(0.05f))), 1e-6, "kept vs fresh 0.05");
  // Another argument, then another grid, right after the first.
  fctest::expect_close(apply_filter(x, make_filter("gaussian_lowpass:0.1")), fctest::to_double(apply_filter(x, fresh(0.1f))),
                       1e-6, "0.1 after 0.05");
  fctest::expect_close(apply_filter(x2, make_filter("gaussian_lowpass:0.1")),
                       fctest::to_double(apply_filter(x2, fresh(0.1f))), 1e-6, "another grid");
  // Padding changes the grid: reflect doubles it.
  fctest::expect_close(apply_filter(x, make_filter("gaussian_lowpass:0.1"), FilterPadding::Reflect),
                       fctest::to_double(apply_filter(x, fresh(0.1f), FilterPadding::Reflect)), 1e-6, "reflect grid");
  // A named Filter with the user's own callable: its callable, not the kept response.
  (void)apply_filter(x, make_filter("gaussian_lowpass:0.1"));
  Filter renamed = make_filter("gaussian_lowpass:0.1");
  renamed.response = fresh(0.02f).response;
  fctest::expect_close(apply_filter(x, renamed), fctest::to_double(apply_filter(x, fresh(0.02f))), 1e-6, "replaced callable");
  // User callables of one closure type under one name (a loop over sigmas): each its own.
  EXPECT_TRUE(make_filter("gaussian_lowpass:0.1").is_builtin());
  for (float sigma : {0.03f, 0.07f}) {
    Filter mine = filter_custom([sigma](float fy, float fx) { return std::exp(-(fx * fx + fy * fy) / (2 * sigma * sigma)); },
                                "mine");
    EXPECT_FALSE(mine.is_builtin());
    fctest::expect_close(apply_filter(x, mine), fctest::to_double(apply_filter(x, fresh(sigma))), 1e-6, "named custom");
  }
  // A custom callable that answers differently on each call is sampled each time.
  float gain = 1.0f;
  Filter varying = filter_custom([&gain](float, float) { return gain; });
  const Tensor v1 = apply_filter(x, varying);
  gain = 2.0f;
  const Tensor v2 = apply_filter(x, varying);
  for (std::size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(v2[i], 2.0f * v1[i], 1e-5f) << i;
}

// A built-in response copied into a user's Filter (filter_custom of its callable, or a Filter
// whose fields were changed) keeps its own identity: two such copies of different built-in
// responses never share a kept kernel. The magnitude of a response with an odd part (gabor at
// an angle, on an even grid) runs on the kept samples and equals a fresh sampling.
TEST(Filters, KeptKernelFollowsTheCallablesOwnIdentity) {
  Tensor x = fctest::random_tensor({24, 30}, 5);
  auto fresh = [](float sigma) {
    return filter_custom([sigma](float fy, float fx) { return std::exp(-(fx * fx + fy * fy) / (2 * sigma * sigma)); });
  };
  for (float sigma : {0.1f, 0.2f, 0.1f}) {
    Filter wrapped = filter_custom(filter_gaussian_lowpass(sigma).response);
    EXPECT_TRUE(wrapped.is_builtin());
    fctest::expect_close(apply_filter(x, wrapped), fctest::to_double(apply_filter(x, fresh(sigma))), 1e-6, "wrapped");
    Filter relabelled = filter_gaussian_lowpass(sigma);
    relabelled.name = "anything", relabelled.args = {};
    fctest::expect_close(apply_filter(x, relabelled), fctest::to_double(apply_filter(x, fresh(sigma))), 1e-6, "relabelled");
  }
  const Filter gabor = filter_gabor(0.2, 0.5, 0.05);
  Filter gabor_user = filter_custom([r = gabor.response](float fy, float fx) { return r(fy, fx); });
  EXPECT_FALSE(gabor_user.is_builtin());
  for (int call = 0; call < 2; ++call)
    fctest::expect_close(apply_filter(x, gabor, FilterPadding::Wrap, Output::Magnitude),
                         fctest::to_double(apply_filter(x, gabor_user, FilterPadding::Wrap, Output::Magnitude)), 1e-6,
                         "gabor magnitude");
}

// Several threads filtering at once, through one kept kernel or evicting each other's: each
// result equals the one computed alone (ThreadSanitizer runs this: tests/sanitize).
TEST(Filters, ConcurrentCallsEachGetTheirOwnFilter) {
  const Tensor x = fctest::random_tensor({40, 48, 2}, 6);
  const std::vector<std::string> specs = {"gaussian_lowpass:0.05", "butterworth:0.2,2", "gaussian_lowpass:0.05",
                                          "ideal_highpass:0.1"};
  std::vector<Tensor> alone;
  for (const auto& s : specs) alone.push_back(apply_filter(x, make_filter(s)));
  std::vector<std::thread> threads;
  std::vector<int> wrong(specs.size(), 0);
  for (std::size_t t = 0; t < specs.size(); ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 6; ++rep) {
        const Tensor y = apply_filter(x, make_filter(specs[t]));
        for (std::size_t i = 0; i < y.size(); ++i)
          if (std::fabs(y[i] - alone[t][i]) > 1e-6f * (1.0f + std::fabs(alone[t][i]))) ++wrong[t];
      }
    });
  for (auto& th : threads) th.join();
  for (std::size_t t = 0; t < specs.size(); ++t) EXPECT_EQ(wrong[t], 0) << specs[t];
}

// Arguments print in the fewest digits that read back as the same double (saved models store
// the spec): no precision lost, 0.05 still "0.05".
TEST(Filters, SpecsRoundTripExactly) {
  EXPECT_EQ(make_filter("gaussian_lowpass:0.05").to_string(), "gaussian_lowpass:0.05");
  EXPECT_EQ(make_filter("butterworth:0.1,2").to_string(), "butterworth:0.1,2");
  for (double v : {0.0123456789, 1.0 / 3.0, 0.1 + 0.2, 1e-7}) {
    const Filter f = filter_gaussian_lowpass(v);
    const Filter back = make_filter(f.to_string());
    ASSERT_EQ(back.args.size(), 1u);
    EXPECT_EQ(back.args[0], v) << f.to_string();
  }
}

TEST(Filters, OddResponseMagnitudeMatchesComplexDft) {
  // H = sin(2 pi fx) + 0.5 is not even: the real output is Re(ifft2(X H)), the magnitude
  // |ifft2(X H)|. Reference: a direct complex double DFT.
  const std::size_t h = 6, w = 7;
  Tensor x = fctest::random_tensor({h, w}, 8);
  auto H = [](double fy, double fx) { return std::sin(2 * std::numbers::pi * fx) + 0.5 + fy; };
  Filter f = filter_custom([&](float fy, float fx) { return static_cast<float>(H(fy, fx)); });
  Tensor re = apply_filter(x, f, FilterPadding::Wrap, Output::Real);
  Tensor mag = apply_filter(x, f, FilterPadding::Wrap, Output::Magnitude);
  auto freq = [](std::size_t i, std::size_t n) { return (i < (n + 1) / 2 ? double(i) : double(i) - n) / n; };
  std::vector<std::complex<double>> X(h * w);
  for (std::size_t ky = 0; ky < h; ++ky)
    for (std::size_t kx = 0; kx < w; ++kx) {
      std::complex<double> s = 0;
      for (std::size_t a = 0; a < h; ++a)
        for (std::size_t b = 0; b < w; ++b)
          s += double(x[a * w + b]) * std::polar(1.0, -2 * std::numbers::pi * (double(ky * a) / h + double(kx * b) / w));
      X[ky * w + kx] = s * H(freq(ky, h), freq(kx, w));
    }
  for (std::size_t a = 0; a < h; ++a)
    for (std::size_t b = 0; b < w; ++b) {
      std::complex<double> s = 0;
      for (std::size_t ky = 0; ky < h; ++ky)
        for (std::size_t kx = 0; kx < w; ++kx)
          s += X[ky * w + kx] * std::polar(1.0, 2 * std::numbers::pi * (double(ky * a) / h + double(kx * b) / w));
      s /= double(h * w);
      EXPECT_NEAR(re[a * w + b], s.real(), 1e-5);
      EXPECT_NEAR(mag[a * w + b], std::abs(s), 1e-5);
    }
}

TEST(Filters, PaddingModes) {
  // An all-pass filter returns the input under every padding; a lowpass of a constant image
  // is the constant with reflect, mirror, nearest and wrap padding (no dark border), and with
  // constant padding only if cval is that constant.
  Tensor x = fctest::random_tensor({9, 14}, 9);
  Filter pass = filter_custom([](float, float) { return 1.0f; });
  const FilterPadding all[] = {FilterPadding::Wrap, FilterPadding::Reflect, FilterPadding::Mirror, FilterPadding::Nearest,
                               FilterPadding::Constant};
  for (auto p : all) fctest::expect_close(apply_filter(x, pass, p), fctest::to_double(x), 1e-6, to_string(p));
  Tensor c({16, 16}, 0.5f);
  for (auto p : all) {
    Tensor r = apply_filter(c, filter_gaussian_lowpass(0.05), p, Output::Real, p == FilterPadding::Constant ? 0.5f : 0.0f);
    for (float v : r) EXPECT_NEAR(v, 0.5f, 1e-5) << to_string(p);
  }
  Tensor z = apply_filter(c, filter_gaussian_lowpass(0.05), FilterPadding::Constant);
  EXPECT_LT(z[0], 0.45f);
  EXPECT_EQ(parse_filter_padding("circular"), FilterPadding::Wrap);
  EXPECT_EQ(parse_filter_padding("zero"), FilterPadding::Constant);
  EXPECT_THROW(parse_filter_padding("symmetric"), Error);
  EXPECT_THROW(apply_filter(c, pass, FilterPadding::Constant, Output::Real, std::nanf("")), Error);
}

TEST(Filters, PaddingModesMatchScipyNdimage) {
  // scipy.ndimage.convolve(x, k, mode=..., cval=0.75) for a centro-symmetric 5x5 kernel k,
  // whose real, even response is sum k[a, b] cos(2 pi (fy (a - 2) + fx (b - 2)))
  // (tests/fixtures/make_padding_fixtures.py). Sizes include a single row and 3 rows (the
  // kernel wider than the image: reflect and mirror fold more than once).
  Array k = io::read_npy_array(kDir + "ndimage/k.npy");
  const double* kd = static_cast<const double*>(k.data());
  Filter f = filter_custom([kd](float fy, float fx) {
    double h = 0;
    for (int a = 0; a < 5; ++a)
      for (int b = 0; b < 5; ++b) h += kd[a * 5 + b] * std::cos(2 * std::numbers::pi * (double(fy) * (a - 2) + double(fx) * (b - 2)));
    return float(h);
  });
  for (const char* name : {"a", "b", "c"}) {
    Tensor x = io::read_npy(kDir + "ndimage/" + name + "_x.npy");
    for (const char* mode : {"reflect", "mirror", "nearest", "wrap", "constant"}) {
      Array want = io::read_npy_array(kDir + "ndimage/" + name + "_" + mode + ".npy");
      const double* w = static_cast<const double*>(want.data());
      Tensor y = apply_filter(x, f, parse_filter_padding(mode), Output::Real, 0.75f);
      ASSERT_EQ(y.size(), want.size());
      for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], w[i], 1e-4) << name << " " << mode << " at " << i;
    }
  }
}

TEST(Filters, ConstantPaddingMatchesADoubleDftOfThePaddedImage) {
  // Reference: build the padded grid by hand (the image centred with a margin of 8 per side,
  // cval outside), apply a Gaussian H (an infinite impulse response) by a complex double DFT,
  // crop.
  const std::size_t h = 5, w = 6, P = 21, Q = 24;  // next_fast_size(5 + 16) = 21, next_fast_size(22) = 24
  Tensor x = fctest::random_tensor({h, w}, 10);
  auto H = [](double fy, double fx) { return std::exp(-(fx * fx + fy * fy) / (2 * 0.15 * 0.15)); };
  Filter f = filter_gaussian_lowpass(0.15);
  auto freq = [](std::size_t i, std::size_t n) { return (i < (n + 1) / 2 ? double(i) : double(i) - n) / n; };
  const float cval = 0.3f;
  {
    const long top = (P - h) / 2, left = (Q - w) / 2;
    std::vector<double> g(P * Q, cval);
    for (long i = 0; i < long(P); ++i)
      for (long j = 0; j < long(Q); ++j) {
        long si = i - top, sj = j - left;
        if (si < 0 || sj < 0 || si >= long(h) || sj >= long(w)) continue;
        g[i * Q + j] = x[si * w + sj];
      }
    std::vector<std::complex<double>> X(P * Q);
    for (std::size_t ky = 0; ky < P; ++ky)
      for (std::size_t kx = 0; kx < Q; ++kx) {
        std::complex<double> s = 0;
        for (std::size_t a = 0; a < P; ++a)
          for (std::size_t b = 0; b < Q; ++b)
            s += g[a * Q + b] * std::polar(1.0, -2 * std::numbers::pi * (double(ky * a) / P + double(kx * b) / Q));
        X[ky * Q + kx] = s * H(freq(ky, P), freq(kx, Q));
      }
    Tensor y = apply_filter(x, f, FilterPadding::Constant, Output::Real, cval);
    std::vector<double> want(h * w);
    for (std::size_t a = 0; a < h; ++a)
      for (std::size_t b = 0; b < w; ++b) {
        std::complex<double> s = 0;
        for (std::size_t ky = 0; ky < P; ++ky)
          for (std::size_t kx = 0; kx < Q; ++kx)
            s += X[ky * Q + kx] * std::polar(1.0, 2 * std::numbers::pi * (double(ky * (a + top)) / P + double(kx * (b + left)) / Q));
        want[a * w + b] = s.real() / double(P * Q);
      }
    fctest::expect_close(y, want, 1e-5, "constant padding");
  }
}

TEST(Filters, SincKernelIsTheSeedsSeparableSinc) {
  Tensor k = filter_sinc_kernel(8, 2.0);
  auto sinc = [](double t) { return t == 0 ? 1.0 : std::sin(std::numbers::pi * t) / (std::numbers::pi * t); };
  for (std::size_t i = 0; i < 8; ++i)
    for (std::size_t j = 0; j < 8; ++j) EXPECT_NEAR(k[i * 8 + j], sinc((i - 4.0) / 2) * sinc((j - 4.0) / 2), 1e-7);
  EXPECT_FLOAT_EQ(k[4 * 8 + 4], 1.0f);
  EXPECT_THROW(filter_sinc_kernel(0, 1), Error);
  EXPECT_THROW(filter_sinc_kernel(8, 0), Error);
}

TEST(Filters, BadSpecsGiveClearErrors) {
  auto message = [](const std::string& spec) {
    try {
      make_filter(spec);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("nosuch").find("unknown name 'nosuch'"), std::string::npos);
  EXPECT_NE(message("gaussian_lowpass").find("expected 1 argument"), std::string::npos);
  EXPECT_NE(message("gaussian_lowpass:-1").find("sigma must be > 0"), std::string::npos);
  EXPECT_NE(message("gaussian_lowpass:abc").find("must be a number"), std::string::npos);
  EXPECT_NE(message("ideal_bandpass:0.3,0.1").find("high"), std::string::npos);
  EXPECT_NE(message("butterworth:0.1,2.5").find("order"), std::string::npos);
  EXPECT_NE(message("ideal_lowpass:0.9").find("cutoff"), std::string::npos);
  EXPECT_EQ(make_filter("butterworth:0.1,2").to_string(), "butterworth:0.1,2");
  Filter nan = filter_custom([](float, float) { return NAN; });
  EXPECT_THROW(apply_filter(Tensor({4, 4}, 1.0f), nan), Error);
  Tensor bad({4, 4}, 1.0f);
  bad[3] = INFINITY;
  EXPECT_THROW(apply_filter(bad, filter_gaussian_lowpass(0.1)), Error);
  EXPECT_THROW(parse_filter_padding("symmetric"), Error);
}

}  // namespace
