// The per-bin complex products of the FFT convolution (src/conv/bin_gemm) against a
// double-precision loop: odd channel and filter counts (every register-block remainder), bin
// counts that leave a partial last block, and a block range split in two calls (as two threads).
#include <gtest/gtest.h>

#include <complex>
#include <random>
#include <vector>

#include "conv/bin_gemm.hpp"
#include "fourierconv/tensor.hpp"

using namespace fourierconv;
namespace detail = fourierconv::conv::detail;

namespace {

struct Shape {
  std::size_t T, C, F, nb;
};

class BinGemm : public ::testing::TestWithParam<Shape> {};

TEST_P(BinGemm, MatchesDoubleLoop) {
  const auto [T, C, F, nb] = GetParam();
  const std::size_t stride = (nb + detail::kBinBlock - 1) / detail::kBinBlock * detail::kBinBlock + detail::kBinBlock;
  std::mt19937 g(unsigned(T * 1000 + C * 100 + F * 10 + nb));
  std::uniform_real_distribution<float> d(-1, 1);
  AlignedVector<Complex> X(T * C * stride), Y(T * F * stride, Complex(NAN, NAN));
  for (auto& v : X) v = Complex(d(g), d(g));
  std::vector<std::vector<Complex>> K(C * F, std::vector<Complex>(nb));
  AlignedVector<float> packed(detail::packed_kernel_size(nb, C, F), NAN);
  const float scale = 0.5f;
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t f = 0; f < F; ++f) {
      for (auto& v : K[c * F + f]) v = Complex(d(g), d(g));
      detail::pack_kernel_spectrum(K[c * F + f].data(), nb, C, F, c, f, scale, packed.data());
    }
  const std::size_t blocks = (nb + detail::kBinBlock - 1) / detail::kBinBlock;
  detail::bin_gemm(X.data(), packed.data(), Y.data(), T, C, F, stride, 0, blocks / 2);
  detail::bin_gemm(X.data(), packed.data(), Y.data(), T, C, F, stride, blocks / 2, blocks);
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t f = 0; f < F; ++f)
      for (std::size_t b = 0; b < nb; ++b) {
        std::complex<double> want = 0;
        for (std::size_t c = 0; c < C; ++c)
          want += std::complex<double>(X[(t * C + c) * stride + b]) * std::complex<double>(K[c * F + f][b]) * double(scale);
        const Complex got = Y[(t * F + f) * stride + b];
        const double tol = 1e-5 * double(C) + 1e-6;
        ASSERT_NEAR(got.real(), want.real(), tol) << "t=" << t << " f=" << f << " bin=" << b;
        ASSERT_NEAR(got.imag(), want.imag(), tol) << "t=" << t << " f=" << f << " bin=" << b;
      }
}

INSTANTIATE_TEST_SUITE_P(Shapes, BinGemm,
                         ::testing::Values(Shape{1, 1, 1, 1}, Shape{3, 5, 7, 13}, Shape{2, 16, 16, 100},
                                           Shape{5, 3, 9, 8}, Shape{4, 8, 6, 17}, Shape{1, 2, 3, 64},
                                           // more channels than one kernel block (partial sums)
                                           Shape{3, 200, 10, 20}, Shape{2, 97, 5, 9}),
                         [](const auto& info) {
                           const Shape& s = info.param;
                           std::string name = "T";  // appended, not prepended (GCC 12's -Wrestrict false alarm)
                           name += std::to_string(s.T) + "_C" + std::to_string(s.C) + "_F" + std::to_string(s.F);
                           return name + "_bins" + std::to_string(s.nb);
                         });

TEST(BinGemm, PackedKernelPadsThePartialBlockWithZeros) {
  std::vector<Complex> spectrum(11, Complex(1, 2));
  AlignedVector<float> packed(detail::packed_kernel_size(11, 1, 1), NAN);
  detail::pack_kernel_spectrum(spectrum.data(), 11, 1, 1, 0, 0, 1.0f, packed.data());
  ASSERT_EQ(packed.size(), 128u);  // two blocks of 8 bins, real and imaginary parts, a group of 4 filters
  const std::size_t second = detail::packed_kernel_offset(1, 0, 0, 1, 1);
  ASSERT_EQ(second, 64u);
  for (std::size_t lane = 0; lane < detail::kBinBlock; ++lane) {
    const bool real_bin = 8 + detail::kLaneBin[lane] < 11;
    EXPECT_EQ(packed[second + lane], real_bin ? 1.0f : 0.0f) << lane;
    EXPECT_EQ(packed[second + 8 + lane], real_bin ? 2.0f : 0.0f) << lane;
  }
}

}  // namespace
