// convolve(), convolve_channels(), convolve_depthwise() and Convolver against the
// double-precision reference, for every mode x method on odd, prime, non-square and
// degenerate shapes, kernels larger than the input included. Tolerance: 2e-5 of the output's
// largest magnitude (float32 FFT rounding grows like log N; the worst seen here is ~3e-6).
#include <gtest/gtest.h>

#include <cmath>

#include "fourierconv/convolve.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/filters.hpp"
#include "fourierconv/io/npy.hpp"
#include "reference.hpp"

using namespace fourierconv;
using fctest::expect_close;
using fctest::random_tensor;
using fctest::ref_convolve;
using fctest::to_double;

namespace {

constexpr double kTol = 2e-5;

struct Case {
  std::size_t h, w, kh, kw;
};

std::string case_name(const Case& c) {
  return std::to_string(c.h) + "x" + std::to_string(c.w) + "_k" + std::to_string(c.kh) + "x" + std::to_string(c.kw);
}

const Case kCases[] = {
    {1, 1, 1, 1},   {1, 1, 3, 3},    {7, 5, 3, 3},     {7, 5, 2, 4},   {5, 7, 7, 5},    {6, 6, 9, 11},
    {13, 17, 5, 4}, {16, 16, 16, 16}, {31, 29, 30, 1}, {40, 33, 6, 7}, {127, 131, 3, 3}, {127, 131, 17, 13},
    {64, 64, 31, 31}, {3, 50, 2, 9},
};

bool valid_defined(const Case& c) {
  return (c.h >= c.kh && c.w >= c.kw) || (c.kh >= c.h && c.kw >= c.w);
}

using Param = std::tuple<Case, Mode, Method>;
class ConvolveAll : public ::testing::TestWithParam<Param> {};

TEST_P(ConvolveAll, MatchesDoubleReference) {
  auto [c, mode, method] = GetParam();
  unsigned seed = static_cast<unsigned>(c.h * 1000 + c.w * 10 + c.kh);
  SCOPED_TRACE("seed " + std::to_string(seed));
  Tensor x = random_tensor({c.h, c.w}, seed), k = random_tensor({c.kh, c.kw}, seed + 1);
  if (mode == Mode::Valid && !valid_defined(c)) {  // scipy raises too
    EXPECT_THROW(convolve(x, k, mode, method), Error);
    return;
  }
  long oh, ow;
  auto want = ref_convolve(to_double(x), c.h, c.w, to_double(k), c.kh, c.kw, to_string(mode), &oh, &ow);
  Tensor y = convolve(x, k, mode, method);
  ASSERT_EQ(y.shape(), (Shape{std::size_t(oh), std::size_t(ow)}));
  expect_close(y, want, kTol, to_string(mode) + "/" + to_string(method));
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConvolveAll,
    ::testing::Combine(::testing::ValuesIn(kCases),
                       ::testing::Values(Mode::Full, Mode::Same, Mode::Valid, Mode::Circular),
                       ::testing::Values(Method::Direct, Method::Fft, Method::OverlapAdd, Method::Auto)),
    [](const auto& info) {
      auto m = to_string(std::get<2>(info.param));
      for (auto& ch : m)
        if (ch == '-') ch = '_';
      return case_name(std::get<0>(info.param)) + "_" + to_string(std::get<1>(info.param)) + "_" + m;
    });

TEST(Convolve, OneDimensional) {
  for (auto [n, k] : {std::pair{31, 6}, {1, 1}, {5, 12}, {97, 3}, {200, 41}}) {
    Tensor x = random_tensor({std::size_t(n)}, n), kk = random_tensor({std::size_t(k)}, k + 100);
    for (Mode mode : {Mode::Full, Mode::Same, Mode::Valid, Mode::Circular})
      for (Method method : {Method::Direct, Method::Fft, Method::OverlapAdd, Method::Auto}) {
        long oh, ow;
        auto want = ref_convolve(to_double(x), 1, n, to_double(kk), 1, k, to_string(mode), &oh, &ow);
        Tensor y = convolve(x, kk, mode, method);
        ASSERT_EQ(y.rank(), 1u);
        ASSERT_EQ(y.dim(0), std::size_t(ow));
        expect_close(y, want, kTol, "1-D " + std::to_string(n) + "/" + std::to_string(k) + " " + to_string(mode) + " " + to_string(method));
      }
  }
}

// scipy.signal.convolve's own outputs (tests/fixtures/make_fixtures.py).
TEST(Convolve, MatchesScipyFixtures) {
  const std::string dir = std::string(FOURIERCONV_SOURCE_DIR) + "/tests/fixtures/";
  for (std::string tag : {"a", "b", "c1d"}) {
    Tensor x = io::read_npy(dir + "scipy_" + tag + "_x.npy"), k = io::read_npy(dir + "scipy_" + tag + "_k.npy");
    for (std::string mode : {"full", "same", "valid"}) {
      Tensor want = io::read_npy(dir + "scipy_" + tag + "_" + mode + ".npy");
      for (Method method : {Method::Direct, Method::Fft, Method::OverlapAdd}) {
        Tensor y = convolve(x, k, parse_mode(mode), method);
        ASSERT_EQ(y.shape(), want.shape()) << tag << " " << mode;
        expect_close(y, to_double(want), kTol, tag + " " + mode + " " + to_string(method));
      }
    }
  }
}

TEST(Convolve, CentredDeltaIsIdentityInCircularAndSame) {
  Tensor x = random_tensor({9, 12}, 3);
  for (std::size_t kh : {1, 3, 4, 5}) {
    Tensor d({kh, kh}, 0.0f);
    d[(kh / 2) * kh + kh / 2] = 1;
    Tensor y = convolve(x, d, Mode::Circular, Method::Fft);
    expect_close(y, to_double(x), 1e-6, "circular delta " + std::to_string(kh));
    if (kh % 2 == 1) expect_close(convolve(x, d, Mode::Same, Method::Fft), to_double(x), 1e-6, "same delta");
  }
}

TEST(Convolve, MagnitudeIsAbsOfReal) {
  Tensor x = random_tensor({10, 11}, 5), k = random_tensor({3, 3}, 6);
  Tensor r = convolve(x, k, Mode::Same, Method::Fft), m = convolve(x, k, Mode::Same, Method::Fft, Output::Magnitude);
  for (std::size_t i = 0; i < r.size(); ++i) EXPECT_FLOAT_EQ(m[i], std::fabs(r[i]));
}

TEST(Convolve, BadInputThrowsClearErrors) {
  Tensor x = random_tensor({5, 5}, 1), k = random_tensor({3, 3}, 2);
  EXPECT_THROW(convolve(Tensor({0, 5}), k), Error);
  EXPECT_THROW(convolve(x, Tensor({3})), Error);
  EXPECT_EQ(convolve(Tensor({2, 2, 2}, 1.0f), Tensor({2, 2, 2}, 1.0f)).shape(), (Shape{3, 3, 3}));  // N-D now

  try {
    convolve(random_tensor({4, 9}, 1), random_tensor({6, 3}, 2), Mode::Valid);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("valid"), std::string::npos) << e.what();
  }
  // Non-finite values flow through as IEEE arithmetic, as scipy's (the direct sum keeps them local).
  Tensor bad = x;
  bad[0] = NAN;
  Tensor y = convolve(bad, k, Mode::Full, Method::Direct);
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_FALSE(std::isnan(y[y.size() - 1]));
  EXPECT_THROW(parse_mode("reflect"), Error);
  EXPECT_THROW(parse_method("winograd"), Error);
}

TEST(Convolve, AutoChoosesRightAtTheExtremes) {
  EXPECT_EQ(choose_method({64, 64}, {3, 3}, Mode::Same).method, Method::Direct);
  EXPECT_NE(choose_method({1024, 1024}, {31, 31}, Mode::Same).method, Method::Direct);
  EXPECT_EQ(choose_method({128, 128}, {128, 128}, Mode::Full).method, Method::Fft);
  EXPECT_EQ(choose_method({4096}, {3}, Mode::Full).method, Method::Direct);
  // A small kernel on a large plane: blocked FFT or direct, never one huge transform.
  EXPECT_NE(choose_method({2048, 2048}, {15, 15}, Mode::Same).method, Method::Fft);
  auto c = choose_method({64, 64}, {3, 3}, Mode::Same);
  EXPECT_NE(c.reason.find("direct"), std::string::npos);
  EXPECT_GT(c.fft_us, c.direct_us);
}

TEST(Convolve, ChannelsMatchesSumOfPairs) {
  const std::size_t H = 11, W = 9, C = 3, F = 4, kh = 3, kw = 5;
  Tensor x = random_tensor({H, W, C}, 21), bank = random_tensor({kh, kw, C, F}, 22);
  for (Mode mode : {Mode::Full, Mode::Same, Mode::Valid, Mode::Circular})
    for (Method method : {Method::Direct, Method::Fft, Method::OverlapAdd, Method::Auto}) {
      Tensor y = convolve_channels(x, bank, mode, method);
      long oh = 0, ow = 0;
      std::vector<double> want;
      for (std::size_t f = 0; f < F; ++f) {
        std::vector<double> acc;
        for (std::size_t c = 0; c < C; ++c) {
          std::vector<double> xp(H * W), kp(kh * kw);
          for (std::size_t i = 0; i < H * W; ++i) xp[i] = x[i * C + c];
          for (std::size_t i = 0; i < kh * kw; ++i) kp[i] = bank[(i * C + c) * F + f];
          auto r = ref_convolve(xp, H, W, kp, kh, kw, to_string(mode), &oh, &ow);
          if (acc.empty()) acc.assign(r.size(), 0.0);
          for (std::size_t i = 0; i < r.size(); ++i) acc[i] += r[i];
        }
        if (want.empty()) want.assign(acc.size() * F, 0.0);
        for (std::size_t i = 0; i < acc.size(); ++i) want[i * F + f] = acc[i];
      }
      ASSERT_EQ(y.shape(), (Shape{std::size_t(oh), std::size_t(ow), F}));
      expect_close(y, want, kTol, "channels " + to_string(mode) + " " + to_string(method));
    }
  EXPECT_THROW(convolve_channels(x, random_tensor({3, 3, 2, 4}, 1)), Error);
  EXPECT_THROW(convolve_channels(random_tensor({H, W}, 1), bank), Error);
}

TEST(Convolve, DepthwiseMatchesPerChannel) {
  const std::size_t H = 8, W = 13, C = 3;
  Tensor x = random_tensor({H, W, C}, 31), k = random_tensor({4, 3, C}, 32);
  for (Mode mode : {Mode::Full, Mode::Same, Mode::Valid, Mode::Circular})
    for (Method method : {Method::Direct, Method::Fft, Method::Auto}) {
      Tensor y = convolve_depthwise(x, k, mode, method);
      for (std::size_t c = 0; c < C; ++c) {
        std::vector<double> xp(H * W), kp(12);
        for (std::size_t i = 0; i < H * W; ++i) xp[i] = x[i * C + c];
        for (std::size_t i = 0; i < 12; ++i) kp[i] = k[i * C + c];
        long oh, ow;
        auto want = ref_convolve(xp, H, W, kp, 4, 3, to_string(mode), &oh, &ow);
        Tensor yc({std::size_t(oh), std::size_t(ow)});
        ASSERT_EQ(y.size(), yc.size() * C);
        for (std::size_t i = 0; i < yc.size(); ++i) yc[i] = y[i * C + c];
        expect_close(yc, want, kTol, "depthwise " + to_string(mode));
      }
    }
  EXPECT_THROW(convolve_depthwise(x, random_tensor({3, 3, 2}, 1)), Error);
}

TEST(Convolver, BatchMatchesConvolveAndWritesEveryElement) {
  for (Mode mode : {Mode::Circular, Mode::Same, Mode::Full, Mode::Valid}) {
    const std::size_t n = 5, h = 19, w = 23;
    Tensor x = random_tensor({n, h, w}, 41), k = random_tensor({5, 6}, 42);
    Convolver conv({h, w}, k, mode);
    Shape os = conv.output_plane_shape();
    Tensor y({n, os[0], os[1]}, NAN);  // poisoned: an unwritten element fails
    conv.execute(x.data(), y.data(), n);
    for (std::size_t p = 0; p < n; ++p) {
      Tensor plane({h, w});
      std::copy(x.data() + p * h * w, x.data() + (p + 1) * h * w, plane.data());
      long oh, ow;
      auto want = ref_convolve(to_double(plane), h, w, to_double(k), 5, 6, to_string(mode), &oh, &ow);
      Tensor yp({os[0], os[1]});
      std::copy(y.data() + p * yp.size(), y.data() + (p + 1) * yp.size(), yp.data());
      expect_close(yp, want, kTol, "Convolver " + to_string(mode));
    }
    Tensor y2 = conv(x);
    for (std::size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], y2[i]);
  }
}

TEST(Convolver, SeedCaseUsesTheInputGridAndShiftsAgainstTheSeed) {
  // The seed's fourier_convolution puts the kernel's corner at the origin: its output is ours
  // rolled by (kh/2, kw/2).
  const std::size_t n = 16;
  Tensor x = random_tensor({n, n}, 51), k = filter_sinc_kernel(n, 3.0);
  Convolver conv({n, n}, k, Mode::Circular);
  EXPECT_EQ(conv.grid_shape(), (Shape{n, n}));
  const Tensor x_before = x;
  Tensor ours = conv(x);  // aligned planes: transformed in place of copies
  for (std::size_t i = 0; i < x.size(); ++i) ASSERT_EQ(x[i], x_before[i]) << "the input was modified";
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double seed = 0;  // sum_u k[u] x[i-u] with no centre shift
      for (std::size_t u = 0; u < n; ++u)
        for (std::size_t v = 0; v < n; ++v) seed += k[u * n + v] * x[((i + n - u) % n) * n + (j + n - v) % n];
      EXPECT_NEAR(ours[((i + n - n / 2) % n) * n + (j + n - n / 2) % n], seed, 1e-4);
    }
  EXPECT_THROW(conv(random_tensor({n, n + 1}, 1)), Error);
  EXPECT_THROW(Convolver({4, 4}, random_tensor({5, 5}, 1), Mode::Valid), Error);
}

TEST(Convolver, MagnitudeOutput) {
  Tensor x = random_tensor({12, 12}, 61), k = random_tensor({3, 3}, 62);
  Convolver re({12, 12}, k, Mode::Same), mag({12, 12}, k, Mode::Same, Output::Magnitude);
  Tensor a = re(x), b = mag(x);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_FLOAT_EQ(b[i], std::fabs(a[i]));
}

}  // namespace
