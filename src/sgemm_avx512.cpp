// Single-precision GEMM on AVX-512 (declared in blas.hpp): C = A B (+ C), row-major, B packed
// per call into 32-column strips.
//
// Why our own: OpenBLAS chooses its kernel by CPU model, and Debian's 0.3.21 does not know
// AMD Zen 5 (family 0x1A): it runs its AVX2 "Haswell" kernel there, at half the FMA width
// (ResNet50's batch-32 inference, 73% sgemm: 1.08 s; with OPENBLAS_CORETYPE=SkylakeX 0.67 s).
// This kernel depends on the instruction set only (simd::wide_vectors()).
//
// The loops are the Goto/BLIS ones (Goto & van de Geijn, "Anatomy of high-performance matrix
// multiplication", ACM TOMS 34(3), 2008), with A read in place: for each block of kKc rows
// of B and kNc of its columns, packed into strips of 32 columns (kKc x 32 floats, contiguous),
// each micro-panel of kMr rows of A (kMr x kKc floats, in L1) meets every strip (in L2); the
// micro-kernel keeps the kMr x 32 block of C in 2 * kMr registers and per step of k loads
// two vectors of B and broadcasts kMr elements of A into 2 * kMr FMAs.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "blas.hpp"
#include "fourierconv/tensor.hpp"
#include "simd.hpp"

#if FC_WIDE_COMPILED && (defined(__GNUC__) && defined(__x86_64__))
#include <immintrin.h>
#define FC_SGEMM_WIDE 1
#else
#define FC_SGEMM_WIDE 0
#endif

namespace fourierconv::detail {

#if FC_SGEMM_WIDE
namespace {

constexpr int kMr = 12;   // rows of C per micro-kernel: 24 accumulators of 32 registers
constexpr int kNr = 32;   // columns: two 16-float vectors
constexpr int kKc = 256;  // depth of a packed block: a micro-panel of A is 12 KB (L1)
constexpr int kNc = 512;  // columns of a packed block: 512 KB of B (L2)

// The lane masks of a strip's two 16-float halves when only its first w (<= 32) columns exist.
inline std::pair<__mmask16, __mmask16> strip_masks(int w) {
  const __mmask16 m0 = w >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << w) - 1);
  const __mmask16 m1 = w >= 32 ? __mmask16(0xFFFF) : w > 16 ? __mmask16((1u << (w - 16)) - 1) : __mmask16(0);
  return {m0, m1};
}

// Packs B[k0, k0 + kc) x [j0, j0 + nc) into strips of kNr columns, zero-filled past nc.
// tb: B is stored transposed (n x k).
FC_TARGET_V4 void pack_b(const float* b, int ldb, bool tb, int k0, int kc, int j0, int nc, float* out) {
  for (int s = 0; s < nc; s += kNr) {
    const int w = std::min(kNr, nc - s);
    float* strip = out + std::size_t(s) * kc;
    if (!tb) {
      const auto [m0, m1] = strip_masks(w);
      for (int kk = 0; kk < kc; ++kk) {
        const float* src = b + std::size_t(k0 + kk) * ldb + j0 + s;
        _mm512_store_ps(strip + kk * kNr, _mm512_maskz_loadu_ps(m0, src));
        _mm512_store_ps(strip + kk * kNr + 16, _mm512_maskz_loadu_ps(m1, src + 16));
      }
    } else {
      for (int kk = 0; kk < kc; ++kk)
        for (int jj = 0; jj < kNr; ++jj)
          strip[kk * kNr + jj] = jj < w ? b[std::size_t(j0 + s + jj) * ldb + k0 + kk] : 0.0f;
    }
  }
}

// C[0, R) x [0, w) (+)= A[0, R) x [0, kc) times one packed strip; w <= 32 columns. A is read
// in place (element (i, kk) at a[i * lda + kk]) or, when kPackedA, from a micro-panel packed by
// pack_a (at a[kk * kMr + i]).
template <int R, bool kPackedA>
FC_TARGET_V4 void micro_kernel(const float* a, int lda, const float* strip, int kc, float* c, int ldc, bool accumulate,
                               int w) {
  __m512 acc0[R], acc1[R];
  const auto [m0, m1] = strip_masks(w);
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
    if (accumulate) {
      acc0[i] = _mm512_maskz_loadu_ps(m0, c + std::size_t(i) * ldc);
      acc1[i] = _mm512_maskz_loadu_ps(m1, c + std::size_t(i) * ldc + 16);
    } else {
      acc0[i] = _mm512_setzero_ps();
      acc1[i] = _mm512_setzero_ps();
    }
  }
  for (int kk = 0; kk < kc; ++kk) {
    const __m512 b0 = _mm512_load_ps(strip + kk * kNr), b1 = _mm512_load_ps(strip + kk * kNr + 16);
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const __m512 ai = _mm512_set1_ps(kPackedA ? a[kk * kMr + i] : a[std::size_t(i) * lda + kk]);
      acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i) {
    _mm512_mask_storeu_ps(c + std::size_t(i) * ldc, m0, acc0[i]);
    _mm512_mask_storeu_ps(c + std::size_t(i) * ldc + 16, m1, acc1[i]);
  }
}

using MicroKernel = void (*)(const float*, int, const float*, int, float*, int, bool, int);

template <bool kPackedA, int... R>
constexpr auto kernel_table(std::integer_sequence<int, R...>) {
  return std::array<MicroKernel, sizeof...(R)>{&micro_kernel<R + 1, kPackedA>...};
}

// Packs the micro-panel A[i0, i0 + r) x [k0, k0 + kc) of a transposed A (element (i, kk) at
// a[kk * lda + i]) as micro_kernel<R, true> reads it: kMr floats per step of k, rows past r zero.
FC_TARGET_V4 void pack_a_transposed(const float* a, int lda, int i0, int r, int k0, int kc, float* out) {
  const __mmask16 m = __mmask16((1u << r) - 1);
  for (int kk = 0; kk < kc; ++kk) {
    const __m512 v = _mm512_maskz_loadu_ps(m, a + std::size_t(k0 + kk) * lda + i0);
    _mm512_mask_storeu_ps(out + kk * kMr, __mmask16((1u << kMr) - 1), v);
  }
}

}  // namespace

bool sgemm_wide_available() {
  static const bool on = [] {
    const char* v = std::getenv("FOURIERCONV_SGEMM");  // "openblas": OpenBLAS everywhere (for A/B timings)
    return simd::wide_vectors() && !(v && std::strcmp(v, "openblas") == 0);
  }();
  return on;
}

FC_TARGET_V4 void sgemm_wide(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb,
                             bool accumulate, float* c, int ldc) {
  static constexpr auto in_place = kernel_table<false>(std::make_integer_sequence<int, kMr>{});
  static constexpr auto from_panel = kernel_table<true>(std::make_integer_sequence<int, kMr>{});
  thread_local AlignedVector<float> packed;
  thread_local AlignedVector<float> panel;  // a transposed A's micro-panel (kMr x kKc)
  try {  // callers run this inside OpenMP regions, where an exception would end the process
    packed.resize(std::size_t(kKc) * ((std::min(n, kNc) + kNr - 1) / kNr * kNr));
    if (ta) panel.resize(std::size_t(kKc) * kMr);
  } catch (const std::bad_alloc&) {  // no memory for the packed blocks (at most 536 KB): OpenBLAS, which packs in its own
    blas_single_thread();
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb,
                accumulate ? 1.0f : 0.0f, c, ldc);
    return;
  }
  for (int j0 = 0; j0 < n; j0 += kNc) {
    const int nc = std::min(kNc, n - j0);
    for (int k0 = 0; k0 < k; k0 += kKc) {
      const int kc = std::min(kKc, k - k0);
      const bool acc = accumulate || k0 > 0;
      pack_b(b, ldb, tb, k0, kc, j0, nc, packed.data());
      for (int i0 = 0; i0 < m; i0 += kMr) {
        const int r = std::min(kMr, m - i0);
        const float* ap = a + std::size_t(i0) * lda + k0;
        if (ta) {
          pack_a_transposed(a, lda, i0, r, k0, kc, panel.data());
          ap = panel.data();
        }
        const MicroKernel kernel = ta ? from_panel[r - 1] : in_place[r - 1];
        for (int s = 0; s < nc; s += kNr)
          kernel(ap, lda, packed.data() + std::size_t(s) * kc, kc, c + std::size_t(i0) * ldc + j0 + s, ldc, acc,
                 std::min(kNr, nc - s));
      }
    }
  }
  if (k == 0 && !accumulate)
    for (int i = 0; i < m; ++i) std::fill(c + std::size_t(i) * ldc, c + std::size_t(i) * ldc + n, 0.0f);
}

#else

bool sgemm_wide_available() { return false; }
void sgemm_wide(bool, bool, int, int, int, const float*, int, const float*, int, bool, float*, int) {}

#endif

}  // namespace fourierconv::detail
