#include "real_pairs.hpp"

#include <complex>

#include "simd.hpp"

namespace fourierconv::detail {

FC_MULTIVERSION void separate_pair(const Complex* Z, std::size_t lh, std::size_t lw, Complex* A, Complex* B) {
  const std::size_t wc = lw / 2 + 1;
  const float* z = reinterpret_cast<const float*>(Z);
  float* a = reinterpret_cast<float*>(A);
  float* b = reinterpret_cast<float*>(B);
  for (std::size_t u = 0; u < lh; ++u) {
    const std::size_t u2 = (lh - u) % lh;
    const Complex* zr = Z + u * lw;
    const Complex* zm = Z + u2 * lw;  // row -u
    auto one = [&](std::size_t v) {
      const Complex p = zr[v], q = std::conj(zm[(lw - v) % lw]);
      A[u * wc + v] = p + q;
      B[u * wc + v] = (p - q) * Complex(0, -1);
    };
    one(0);
    std::size_t v = 1;
    for (; v + 4 <= wc; v += 4) {  // columns -v .. -(v+3) are lw-v .. lw-v-3, read backwards
      const simd::v8 p = simd::loadu(z + 2 * (u * lw + v));
      const simd::v8 q = simd::conj(simd::reverse_complex(simd::loadu(z + 2 * (u2 * lw + lw - v - 3))));
      simd::storeu(a + 2 * (u * wc + v), p + q);
      simd::storeu(b + 2 * (u * wc + v), simd::times_minus_i(p - q));
    }
    for (; v < wc; ++v) one(v);
  }
}

FC_MULTIVERSION void combine_pair(const Complex* A, const Complex* B, std::size_t lh, std::size_t lw, Complex* W) {
  const std::size_t wc = lw / 2 + 1;
  const float* a = reinterpret_cast<const float*>(A);
  const float* b = reinterpret_cast<const float*>(B);
  float* w = reinterpret_cast<float*>(W);
  for (std::size_t u = 0; u < lh; ++u) {
    const std::size_t u2 = (lh - u) % lh;
    Complex* wr = W + u * lw;
    std::size_t v = 0;
    for (; v + 4 <= wc; v += 4) {
      const simd::v8 av = simd::loadu(a + 2 * (u * wc + v));
      simd::storeu(w + 2 * (u * lw + v), B ? av + simd::times_i(simd::loadu(b + 2 * (u * wc + v))) : av);
    }
    for (; v < wc; ++v) wr[v] = A[u * wc + v] + (B ? Complex(0, 1) * B[u * wc + v] : Complex(0, 0));
    // Columns wc .. lw-1 mirror columns lw-wc .. 1 of row -u.
    for (; v + 4 <= lw; v += 4) {
      const std::size_t v2 = lw - v - 3;  // the lowest mirrored column of the four
      const simd::v8 av = simd::conj(simd::reverse_complex(simd::loadu(a + 2 * (u2 * wc + v2))));
      simd::storeu(w + 2 * (u * lw + v),
                   B ? av + simd::times_i(simd::conj(simd::reverse_complex(simd::loadu(b + 2 * (u2 * wc + v2))))) : av);
    }
    for (; v < lw; ++v) {
      const std::size_t v2 = lw - v;
      wr[v] = std::conj(A[u2 * wc + v2]) + (B ? Complex(0, 1) * std::conj(B[u2 * wc + v2]) : Complex(0, 0));
    }
  }
}

}  // namespace fourierconv::detail
