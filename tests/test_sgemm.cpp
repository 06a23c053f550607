// The GEMM every layer's products go through (src/blas.hpp: OpenBLAS, or on AVX-512 CPUs our
// kernel in src/sgemm_avx512.cpp) against a double-precision triple loop: every row remainder
// of the 12-row micro-kernel, column counts around the 32-column strips, depths around the
// 256-deep blocks, A and B stored plain and transposed, leading dimensions wider than the matrices,
// C overwritten (whatever it held, NaN included) or added to.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <vector>

#include "blas.hpp"
#include "simd.hpp"

namespace detail = fourierconv::detail;

namespace {

struct Case {
  int m, n, k;
  bool tb;
  bool ta = false;
};

class Sgemm : public ::testing::TestWithParam<Case> {};

void check(const Case& cs, bool accumulate, bool wide) {
  const auto [m, n, k, tb, ta] = cs;
  const int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 7;
  std::mt19937 g(unsigned(m * 7919 + n * 131 + k * 17 + tb + 2 * ta));
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> a(std::size_t(ta ? k : m) * lda), b(std::size_t(tb ? n : k) * ldb), c(std::size_t(m) * ldc);
  for (auto& v : a) v = d(g);
  for (auto& v : b) v = d(g);
  for (auto& v : c) v = accumulate ? d(g) : NAN;
  std::vector<float> c0 = c;
  if (wide)
    detail::sgemm_wide(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, accumulate, c.data(), ldc);
  else
    detail::sgemm(ta, tb, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, accumulate ? 1.0f : 0.0f, c.data(), ldc);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < ldc; ++j) {
      const std::size_t at = std::size_t(i) * ldc + j;
      if (j >= n) {  // past the matrix: untouched
        ASSERT_TRUE(std::isnan(c0[at]) ? std::isnan(c[at]) : c[at] == c0[at]) << "row " << i << " column " << j;
        continue;
      }
      double want = accumulate ? c0[at] : 0.0, mag = std::fabs(want);
      for (int p = 0; p < k; ++p) {
        const double av = ta ? a[std::size_t(p) * lda + i] : a[std::size_t(i) * lda + p];
        const double bv = tb ? b[std::size_t(j) * ldb + p] : b[std::size_t(p) * ldb + j];
        want += av * bv;
        mag += std::fabs(av * bv);
      }
      // float32 sums of k products: a few ulps of the sum of magnitudes.
      ASSERT_NEAR(c[at], want, 1e-6 * (mag + 1) * 4) << "m " << m << " n " << n << " k " << k << " at (" << i << ", " << j << ")";
    }
}

TEST_P(Sgemm, MatchesDoubleLoop) {
  for (bool accumulate : {false, true}) {
    check(GetParam(), accumulate, false);
    if (detail::sgemm_wide_available()) check(GetParam(), accumulate, true);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, Sgemm,
                         ::testing::Values(Case{1, 1, 1, false}, Case{13, 1, 1, false}, Case{8, 1000, 3, false},
                                           Case{37, 33, 17, false}, Case{37, 33, 17, true}, Case{12, 32, 256, false},
                                           Case{11, 31, 257, true}, Case{25, 48, 513, false}, Case{100, 10, 600, true},
                                           Case{24, 530, 20, false}, Case{23, 545, 9, true}, Case{49, 64, 300, false},
                                           Case{9, 16, 0, false}, Case{37, 33, 17, false, true},
                                           Case{11, 31, 257, true, true}, Case{288, 32, 600, false, true},
                                           Case{25, 545, 513, false, true}, Case{13, 64, 3, true, true}));

TEST(Sgemm, WideKernelIsUsedWhereTheCpuHasAvx512) {
  // The choice is the instruction set's (not OpenBLAS's CPU model table); FOURIERCONV_SGEMM=openblas
  // turns it off.
  if (std::getenv("FOURIERCONV_SGEMM")) GTEST_SKIP() << "FOURIERCONV_SGEMM is set";
  EXPECT_EQ(detail::sgemm_wide_available(), fourierconv::simd::wide_vectors());
}

}  // namespace
