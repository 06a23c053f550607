// The real 2-D FFT of one plane on the tuple FFTs (src/plane_fft) against circular
// convolution written from the definition in double: odd and even multiples of the lane
// count, lengths with factors 3, 5, 7 and large primes, every output point on small planes,
// a sample of points on large ones.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <cstring>
#include <random>

#include "fourierconv/error.hpp"
#include "plane_fft.hpp"

using namespace fourierconv;
using namespace fourierconv::detail;

namespace {

// sum_{a,b} x[a][b] h[(i - a) mod P][(j - b) mod Q]
double circular_at(const std::vector<float>& x, const std::vector<float>& h, std::size_t P, std::size_t Q, std::size_t i,
                   std::size_t j) {
  double s = 0;
  for (std::size_t a = 0; a < P; ++a)
    for (std::size_t b = 0; b < Q; ++b) s += double(x[a * Q + b]) * double(h[((i + P - a) % P) * Q + (j + Q - b) % Q]);
  return s;
}

struct Planes {
  std::vector<float> x, h;
  Planes(std::size_t P, std::size_t Q, unsigned seed) : x(P * Q), h(P * Q) {
    std::mt19937 g(seed);
    std::uniform_real_distribution<float> d(-1, 1);
    for (auto& v : x) v = d(g);
    for (auto& v : h) v = d(g);
  }
};

}  // namespace

TEST(PlaneFft, CircularConvolutionAgainstTheDefinition) {
  const std::vector<std::pair<std::size_t, std::size_t>> shapes = {
      {8, 8}, {10, 8}, {8, 16}, {12, 24}, {14, 40}, {30, 56}, {22, 8}, {26, 104}, {64, 64}, {128, 128}, {96, 200}, {202, 48}, {256, 256}};
  for (auto [P, Q] : shapes) {
    SCOPED_TRACE(std::to_string(P) + " x " + std::to_string(Q));
    ASSERT_TRUE(PlaneFft::takes(P, Q));
    const Planes in(P, Q, unsigned(P * 1000 + Q));
    PlaneFft fft(P, Q);
    AlignedVector<float> work(fft.work_size(3));
    AlignedVector<std::complex<float>> kspec(fft.spectrum_size()), spec(fft.spectrum_size());
    fft.forward(in.h.data(), kspec.data(), work.data());
    std::vector<float> y(P * Q), y2(P * Q), y3(P * Q);
    fft.convolve(in.x.data(), kspec.data(), y.data(), work.data());
    // On 2 and 3 threads each column chunk and row block is computed as on one: the same bits.
    for (int threads : {2, 3}) {
      fft.convolve(in.x.data(), kspec.data(), y3.data(), work.data(), threads);
      ASSERT_EQ(std::memcmp(y.data(), y3.data(), y.size() * sizeof(float)), 0) << threads << " threads";
      AlignedVector<std::complex<float>> spec3(fft.spectrum_size());
      fft.forward(in.x.data(), spec3.data(), work.data(), threads);
      PlaneFft::multiply(spec3.data(), kspec.data(), spec3.size());
      fft.inverse(spec3.data(), y3.data(), work.data(), threads);
      ASSERT_EQ(std::memcmp(y.data(), y3.data(), y.size() * sizeof(float)), 0) << threads << " threads, forward/inverse";
    }
    // The same through forward, multiply, inverse.
    fft.forward(in.x.data(), spec.data(), work.data());
    PlaneFft::multiply(spec.data(), kspec.data(), spec.size());
    fft.inverse(spec.data(), y2.data(), work.data());
    const double n = double(P * Q);
    // Unnormalized: y = P Q (x circ h). Error of a float32 FFT ~ eps log2(n) sqrt(n) |x||h|.
    const double tol = 4e-7 * std::log2(n) * std::sqrt(n) * std::sqrt(n);
    std::mt19937 pick(7);
    const std::size_t points = P * Q <= 4096 ? P * Q : 300;
    double worst = 0;
    for (std::size_t s = 0; s < points; ++s) {
      const std::size_t idx = P * Q <= 4096 ? s : pick() % (P * Q);
      const double want = circular_at(in.x, in.h, P, Q, idx / Q, idx % Q);
      worst = std::max(worst, std::abs(y[idx] / n - want));
      ASSERT_NEAR(y2[idx], y[idx], 1e-5 * n) << "forward/multiply/inverse against convolve at " << idx;
    }
    EXPECT_LT(worst, tol) << "worst error " << worst;
  }
}

TEST(PlaneFft, ForwardThenInverseGivesThePlaneTimesItsSize) {
  for (auto [P, Q] : std::vector<std::pair<std::size_t, std::size_t>>{{8, 8}, {18, 24}, {128, 128}, {70, 80}}) {
    const Planes in(P, Q, 3);
    PlaneFft fft(P, Q);
    AlignedVector<float> work(fft.work_size());
    AlignedVector<std::complex<float>> spec(fft.spectrum_size());
    fft.forward(in.x.data(), spec.data(), work.data());
    std::vector<float> back(P * Q);
    fft.inverse(spec.data(), back.data(), work.data());
    for (std::size_t i = 0; i < P * Q; ++i) ASSERT_NEAR(back[i] / double(P * Q), in.x[i], 2e-6) << P << "x" << Q << " at " << i;
  }
}

TEST(PlaneFft, TheBinsPastTheHalfSpectrumAreZero) {
  // 10 rows: 6 bins on axis 0, one block of 8 lanes: lanes 6 and 7 must hold zeros, so that a
  // product with any kernel spectrum leaves them zero (no NaN from stale memory).
  PlaneFft fft(10, 16);
  const Planes in(10, 16, 9);
  AlignedVector<float> work(fft.work_size(), std::nanf(""));
  AlignedVector<std::complex<float>> spec(fft.spectrum_size());
  fft.forward(in.x.data(), spec.data(), work.data());
  const CVec* v = reinterpret_cast<const CVec*>(spec.data());
  for (std::size_t q = 0; q < 16; ++q)
    for (std::size_t l = 6; l < 8; ++l) {
      EXPECT_EQ(v[q].re[l], 0.0f);
      EXPECT_EQ(v[q].im[l], 0.0f);
    }
}

TEST(PlaneFft, RejectsGridsItCannotTransform) {
  EXPECT_FALSE(PlaneFft::takes(9, 16));
  EXPECT_FALSE(PlaneFft::takes(16, 12));
  EXPECT_FALSE(PlaneFft::takes(6, 8));
  try {
    PlaneFft bad(16, 20);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("16 x 20"), std::string::npos) << e.what();
  }
}
