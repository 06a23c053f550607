// The FFT vectorized across transforms (src/tuple_fft) against a double-precision DFT
// written from the definition: every length 1..64 and some with large prime factors, each
// lane a different random sequence, both directions, strided layouts, the 2-D grid.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <random>

#include "tuple_fft.hpp"

using namespace fourierconv::detail;
using cd = std::complex<double>;

namespace {

std::vector<cd> dft(const std::vector<cd>& x, int sign) {
  const std::size_t n = x.size();
  std::vector<cd> y(n);
  for (std::size_t k = 0; k < n; ++k) {
    cd s = 0;
    for (std::size_t t = 0; t < n; ++t) s += x[t] * std::polar(1.0, sign * 2.0 * M_PI * double(t * k % n) / double(n));
    y[k] = s;
  }
  return y;
}

TEST(TupleFft, EveryLengthAgainstTheDefinition) {
  std::mt19937 g(5);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<std::size_t> lengths;
  for (std::size_t n = 1; n <= 64; ++n) lengths.push_back(n);
  for (std::size_t n : {77, 97, 121, 128, 169, 210, 289}) lengths.push_back(n);
  for (std::size_t n : lengths)
    for (bool inverse : {false, true}) {
      SCOPED_TRACE("n = " + std::to_string(n) + (inverse ? " inverse" : " forward"));
      // Three sequences of 8 lanes interleaved with stride 3 (count 3), as the column pass uses.
      const std::size_t count = 3;
      CVecBuffer data(n * count), work(n * count);
      std::vector<std::vector<cd>> want(count * kLanes, std::vector<cd>(n));
      for (std::size_t t = 0; t < n; ++t)
        for (std::size_t b = 0; b < count; ++b)
          for (std::size_t l = 0; l < kLanes; ++l) {
            const float re = d(g), im = d(g);
            data[t * count + b].re[l] = re;
            data[t * count + b].im[l] = im;
            want[b * kLanes + l][t] = cd(re, im);
          }
      TupleFft fft(n);
      fft.transform(data.data(), count, 1, count, inverse, work.data());
      double worst = 0;
      for (std::size_t b = 0; b < count; ++b)
        for (std::size_t l = 0; l < kLanes; ++l) {
          const auto y = dft(want[b * kLanes + l], inverse ? 1 : -1);
          for (std::size_t k = 0; k < n; ++k)
            worst = std::max(worst, std::abs(cd(data[k * count + b].re[l], data[k * count + b].im[l]) - y[k]));
        }
      // float32 FFT error grows like log(n) * eps * sqrt(n) * |x|; |x| <= sqrt(2).
      EXPECT_LT(worst, 2e-6 * std::sqrt(double(n)) * (1 + std::log2(double(n))) * 2) << "worst error " << worst;
    }
}

TEST(TupleFft, TwoDimensionalGridAndRoundTrip) {
  std::mt19937 g(9);
  std::uniform_real_distribution<float> d(-1, 1);
  for (auto [P, Q] : std::vector<std::pair<std::size_t, std::size_t>>{{28, 28}, {7, 12}, {1, 5}, {56, 56}, {13, 9}}) {
    SCOPED_TRACE(std::to_string(P) + "x" + std::to_string(Q));
    TupleFft2D fft(P, Q);
    CVecBuffer grid(P * Q), work(fft.work_size());
    for (auto& c : grid)
      for (std::size_t l = 0; l < kLanes; ++l) c.re[l] = d(g), c.im[l] = d(g);
    const CVecBuffer x = grid;
    fft.forward(grid.data(), work.data());
    // Lane 3 against a separable double DFT.
    const std::size_t l = 3;
    std::vector<cd> rows(P * Q);
    for (std::size_t i = 0; i < P; ++i) {
      std::vector<cd> r(Q);
      for (std::size_t j = 0; j < Q; ++j) r[j] = cd(x[i * Q + j].re[l], x[i * Q + j].im[l]);
      r = dft(r, -1);
      for (std::size_t j = 0; j < Q; ++j) rows[i * Q + j] = r[j];
    }
    double worst = 0;
    for (std::size_t j = 0; j < Q; ++j) {
      std::vector<cd> c(P);
      for (std::size_t i = 0; i < P; ++i) c[i] = rows[i * Q + j];
      c = dft(c, -1);
      for (std::size_t i = 0; i < P; ++i) worst = std::max(worst, std::abs(cd(grid[i * Q + j].re[l], grid[i * Q + j].im[l]) - c[i]));
    }
    EXPECT_LT(worst, 1e-4) << "forward";
    fft.inverse(grid.data(), work.data());
    worst = 0;
    for (std::size_t i = 0; i < P * Q; ++i)
      for (std::size_t k = 0; k < kLanes; ++k)
        worst = std::max({worst, std::fabs(grid[i].re[k] / double(P * Q) - x[i].re[k]),
                          std::fabs(grid[i].im[k] / double(P * Q) - x[i].im[k])});
    EXPECT_LT(worst, 1e-5) << "round trip";
  }
}

}  // namespace
