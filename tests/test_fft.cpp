// FftPlan tested by its properties (FFTW's self-test style): round trip, impulse response,
// linearity, shift, float against a double-precision DFT.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <numbers>

#include "fourierconv/error.hpp"
#include "fourierconv/fft.hpp"
#include "reference.hpp"

using namespace fourierconv;

namespace {

std::vector<std::complex<double>> dft2_half(const Tensor& x, std::size_t h, std::size_t w) {
  std::vector<std::complex<double>> out(h * (w / 2 + 1));
  for (std::size_t ky = 0; ky < h; ++ky)
    for (std::size_t kx = 0; kx <= w / 2; ++kx) {
      std::complex<double> s = 0;
      for (std::size_t y = 0; y < h; ++y)
        for (std::size_t xx = 0; xx < w; ++xx) {
          double a = -2 * std::numbers::pi * (double(ky * y) / h + double(kx * xx) / w);
          s += double(x[y * w + xx]) * std::complex<double>(std::cos(a), std::sin(a));
        }
      out[ky * (w / 2 + 1) + kx] = s;
    }
  return out;
}

struct Dims {
  std::size_t h, w;
};

class FftShapes : public ::testing::TestWithParam<Dims> {};

TEST_P(FftShapes, ForwardMatchesDoubleDft) {
  auto [h, w] = GetParam();
  Tensor x = fctest::random_tensor({h, w}, 11);
  auto plan = FftPlan::get({h, w}, 1);
  AlignedVector<Complex> spec(plan->spectrum_size(), Complex(NAN, NAN));
  plan->forward(x.data(), spec.data());
  auto want = dft2_half(x, h, w);
  double scale = std::sqrt(double(h * w));
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(spec[i].real(), want[i].real(), 2e-6 * scale * std::log2(h * w + 1.0)) << i;
    EXPECT_NEAR(spec[i].imag(), want[i].imag(), 2e-6 * scale * std::log2(h * w + 1.0)) << i;
  }
}

TEST_P(FftShapes, RoundTripIsIdentity) {
  auto [h, w] = GetParam();
  Tensor x = fctest::random_tensor({h, w}, 12);
  auto plan = FftPlan::get({h, w}, 1);
  AlignedVector<Complex> spec(plan->spectrum_size());
  Tensor y({h, w}, NAN);
  plan->forward(x.data(), spec.data());
  plan->inverse(spec.data(), y.data());
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], x[i], 1e-5) << i;
}

TEST_P(FftShapes, ImpulseHasFlatSpectrumAndShiftIsPhase) {
  auto [h, w] = GetParam();
  Tensor d({h, w}, 0.0f);
  std::size_t sy = h / 3, sx = w / 2;
  d[sy * w + sx] = 1.0f;
  auto plan = FftPlan::get({h, w}, 1);
  AlignedVector<Complex> spec(plan->spectrum_size());
  plan->forward(d.data(), spec.data());
  for (std::size_t ky = 0; ky < h; ++ky)
    for (std::size_t kx = 0; kx <= w / 2; ++kx) {
      double a = -2 * std::numbers::pi * (double(ky * sy) / h + double(kx * sx) / w);
      Complex z = spec[ky * (w / 2 + 1) + kx];
      EXPECT_NEAR(z.real(), std::cos(a), 1e-5);
      EXPECT_NEAR(z.imag(), std::sin(a), 1e-5);
    }
}

TEST_P(FftShapes, Linearity) {
  auto [h, w] = GetParam();
  Tensor a = fctest::random_tensor({h, w}, 13), b = fctest::random_tensor({h, w}, 14), c({h, w});
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = 2 * a[i] - 3 * b[i];
  auto plan = FftPlan::get({h, w}, 1);
  std::size_t n = plan->spectrum_size();
  AlignedVector<Complex> sa(n), sb(n), sc(n);
  plan->forward(a.data(), sa.data());
  plan->forward(b.data(), sb.data());
  plan->forward(c.data(), sc.data());
  for (std::size_t i = 0; i < n; ++i) EXPECT_LT(std::abs(sc[i] - (2.0f * sa[i] - 3.0f * sb[i])), 1e-4 * std::sqrt(h * w));
}

INSTANTIATE_TEST_SUITE_P(Shapes, FftShapes,
                         ::testing::Values(Dims{1, 1}, Dims{1, 16}, Dims{1, 13}, Dims{8, 8}, Dims{7, 5}, Dims{5, 12},
                                           Dims{17, 19}, Dims{32, 27}),
                         [](const auto& info) {
                           return std::to_string(info.param.h) + "x" + std::to_string(info.param.w);
                         });

TEST(Fft, BatchedPlanTransformsEachPlane) {
  const std::size_t h = 6, w = 10, n = 3;
  Tensor x = fctest::random_tensor({n, h, w}, 15);
  auto batched = FftPlan::get({h, w}, n);
  auto single = FftPlan::get({h, w}, 1);
  AlignedVector<Complex> sb(batched->spectrum_size() * n), ss(single->spectrum_size());
  batched->forward(x.data(), sb.data());
  for (std::size_t p = 0; p < n; ++p) {
    AlignedVector<float> plane(x.data() + p * h * w, x.data() + (p + 1) * h * w);
    single->forward(plane.data(), ss.data());
    for (std::size_t i = 0; i < ss.size(); ++i) EXPECT_LT(std::abs(ss[i] - sb[p * ss.size() + i]), 1e-5);
  }
}

TEST(Fft, OneShotHelpersMatchThePlanAndRoundTrip) {
  Tensor x = fctest::random_tensor({9, 14}, 16);
  std::vector<Complex> spec = rfft2(x.data(), 9, 14);
  ASSERT_EQ(spec.size(), 9u * 8u);
  auto want = dft2_half(x, 9, 14);
  for (std::size_t i = 0; i < spec.size(); ++i) EXPECT_LT(std::abs(std::complex<double>(spec[i]) - want[i]), 1e-4);
  std::vector<float> back = irfft2(spec, 9, 14);
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(back[i], x[i], 1e-5);
  EXPECT_THROW(irfft2(spec, 10, 14), Error);  // 80 bins expected, 72 given
}

TEST(Fft, PlansAreCached) {
  EXPECT_EQ(FftPlan::get({12, 10}).get(), FftPlan::get({12, 10}).get());
  EXPECT_NE(FftPlan::get({12, 10}).get(), FftPlan::get({10, 12}).get());
}

TEST(Fft, NextFastSize) {
  EXPECT_EQ(next_fast_size(0), 1u);
  EXPECT_EQ(next_fast_size(1), 1u);
  EXPECT_EQ(next_fast_size(11), 12u);
  EXPECT_EQ(next_fast_size(13), 14u);
  EXPECT_EQ(next_fast_size(127), 128u);
  EXPECT_EQ(next_fast_size(131), 135u);
  EXPECT_EQ(next_fast_size(1031), 1050u);
  EXPECT_THROW(next_fast_size(std::size_t(1) << 62), Error);  // its search would overflow (it looped forever)
  for (std::size_t n = 1; n < 3000; ++n) {
    std::size_t m = next_fast_size(n), r = m;
    for (std::size_t p : {2, 3, 5, 7})
      while (r % p == 0) r /= p;
    ASSERT_EQ(r, 1u) << n;
    ASSERT_GE(m, n);
  }
}

// fast_sizes(lo, hi) is every 7-smooth size in [lo, hi], ascending: the same as stepping
// next_fast_size through the range (the overlap-save tile search's candidates).
TEST(Fft, FastSizesEnumeratesNextFastSizes) {
  EXPECT_EQ(fast_sizes(10, 30), (std::vector<std::size_t>{10, 12, 14, 15, 16, 18, 20, 21, 24, 25, 27, 28, 30}));
  EXPECT_TRUE(fast_sizes(31, 31).empty());
  EXPECT_TRUE(fast_sizes(20, 10).empty());
  EXPECT_EQ(fast_sizes(0, 3), (std::vector<std::size_t>{1, 2, 3}));
  for (std::size_t lo : {1, 257, 1000, 65536}) {
    std::vector<std::size_t> stepped;
    for (std::size_t m = next_fast_size(lo); m <= 4 * lo; m = next_fast_size(m + 1)) stepped.push_back(m);
    EXPECT_EQ(fast_sizes(lo, 4 * lo), stepped) << lo;
  }
  EXPECT_THROW(fast_sizes(1, std::size_t(1) << 62), Error);
}

TEST(Fft, BadDimensionsThrow) {
  EXPECT_THROW(FftPlan::get({}), Error);
  EXPECT_THROW(FftPlan::get({0, 4}), Error);
  EXPECT_THROW(FftPlan::get({2, 3, 4}), Error);
}

TEST(Fft, WisdomRoundTrip) {
  std::string path = ::testing::TempDir() + "/fc_wisdom.txt";
  FftPlan::get({16, 16}, 1, FftRigor::Estimate);
  EXPECT_TRUE(fft_save_wisdom(path));
  EXPECT_TRUE(fft_load_wisdom(path));
  EXPECT_FALSE(fft_load_wisdom(path + ".missing"));
}

}  // namespace

namespace {

// ComplexFftPlan against a double-precision DFT on odd and even shapes, and its round trip.
TEST(ComplexFftPlan, MatchesDoubleDftAndRoundTrips) {
  for (auto [h, w] : std::vector<std::pair<std::size_t, std::size_t>>{{1, 1}, {5, 6}, {7, 7}, {1, 9}, {12, 10}}) {
    auto plan = fourierconv::ComplexFftPlan::get(h, w, fourierconv::FftRigor::Estimate);
    fourierconv::AlignedVector<fourierconv::Complex> x(h * w), X(h * w), back(h * w);
    std::mt19937 g(unsigned(h * 31 + w));
    std::uniform_real_distribution<float> d(-1, 1);
    for (auto& v : x) v = {d(g), d(g)};
    plan->forward(x.data(), X.data());
    for (std::size_t ku = 0; ku < h; ++ku)
      for (std::size_t kv = 0; kv < w; ++kv) {
        std::complex<double> want = 0;
        for (std::size_t u = 0; u < h; ++u)
          for (std::size_t v = 0; v < w; ++v)
            want += std::complex<double>(x[u * w + v]) *
                    std::polar(1.0, -2 * M_PI * (double(ku * u) / double(h) + double(kv * v) / double(w)));
        EXPECT_NEAR(X[ku * w + kv].real(), want.real(), 1e-4) << h << "x" << w;
        EXPECT_NEAR(X[ku * w + kv].imag(), want.imag(), 1e-4) << h << "x" << w;
      }
    plan->backward_unscaled(X.data(), back.data());
    for (std::size_t i = 0; i < h * w; ++i) {
      EXPECT_NEAR(back[i].real() / float(h * w), x[i].real(), 1e-5);
      EXPECT_NEAR(back[i].imag() / float(h * w), x[i].imag(), 1e-5);
    }
  }
  EXPECT_THROW(fourierconv::ComplexFftPlan::get(0, 4), fourierconv::Error);
}

}  // namespace

TEST(SplitFftPlan, MatchesTheInterleavedTransformAndInvertsIt) {
  for (std::size_t n : {1, 2, 3, 4, 6, 14, 15, 56, 64, 100, 2048, 4098}) {
    SCOPED_TRACE(n);
    auto split = SplitFftPlan::get(n, FftRigor::Estimate);
    auto plain = FftPlan::get({n}, 1, FftRigor::Estimate);
    ASSERT_EQ(split->bins(), n / 2 + 1);
    ASSERT_EQ(split->stride() % 16, 0u);
    AlignedVector<float> x(n), spec(2 * split->stride() + 16, -7.0f), y(n);
    AlignedVector<Complex> c(n / 2 + 1);
    for (std::size_t i = 0; i < n; ++i) x[i] = float(std::sin(1.3 * double(i)) + double(i % 3));
    plain->forward(x.data(), c.data());
    AlignedVector<float> scratch = x;  // forward destroys its input
    split->forward(scratch.data(), spec.data());
    for (std::size_t k = 0; k < split->bins(); ++k) {
      EXPECT_NEAR(spec[k], c[k].real(), 1e-4 * double(n));
      EXPECT_NEAR(spec[split->stride() + k], c[k].imag(), 1e-4 * double(n));
    }
    for (std::size_t k = split->bins(); k < split->stride(); ++k) {  // the padding is zeroed
      EXPECT_EQ(spec[k], 0.0f);
      EXPECT_EQ(spec[split->stride() + k], 0.0f);
    }
    EXPECT_EQ(spec[2 * split->stride()], -7.0f);  // nothing past the spectrum is written
    split->inverse_unscaled(spec.data(), y.data());
    for (std::size_t i = 0; i < n; ++i) EXPECT_NEAR(y[i] / float(n), x[i], 1e-5);
  }
}

// Against a direct DFT in long double (not FFTW): the even sizes go through the half-length
// complex FFT and its unpacking, whose twiddles and index pairs (k, M - k) this pins down.
// Tolerance: float32 FFT error, ~1e-6 * log2(n) * sqrt(sum x^2) per bin.
TEST(SplitFftPlan, MatchesADirectDftInLongDouble) {
  for (std::size_t n : {2, 8, 10, 30, 128, 254, 1000, 1026, 4096}) {
    SCOPED_TRACE(n);
    auto split = SplitFftPlan::get(n, FftRigor::Estimate);
    AlignedVector<float> x(n), scratch(n), spec(2 * split->stride()), y(n);
    long double energy = 0;
    for (std::size_t i = 0; i < n; ++i) {
      x[i] = float(std::cos(0.37 * double(i * i % 101)) - 0.2);
      energy += (long double)x[i] * x[i];
    }
    scratch = x;
    split->forward(scratch.data(), spec.data());
    const double tol = 4e-7 * std::log2(double(n) + 1) * std::sqrt(double(energy)) + 1e-6;
    for (std::size_t k = 0; k < split->bins(); ++k) {
      long double re = 0, im = 0;
      for (std::size_t t = 0; t < n; ++t) {
        const long double a = -2.0L * 3.14159265358979323846264338327950288L * (long double)((k * t) % n) / (long double)n;
        re += x[t] * cosl(a);
        im += x[t] * sinl(a);
      }
      EXPECT_NEAR(spec[k], double(re), tol) << "bin " << k;
      EXPECT_NEAR(spec[split->stride() + k], double(im), tol) << "bin " << k;
    }
    // The inverse of a spectrum that is not of a real signal's form is not defined; of this
    // one it is n x.
    split->inverse_unscaled(spec.data(), y.data());
    for (std::size_t i = 0; i < n; ++i) EXPECT_NEAR(y[i], double(n) * x[i], tol * std::sqrt(double(n))) << "sample " << i;
  }
}
