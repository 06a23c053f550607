#include "conv/bin_gemm.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "fourierconv/tensor.hpp"
#include "simd.hpp"

namespace fourierconv::conv::detail {
namespace {

using simd::fma;
using simd::fnma;
using simd::load;
using simd::store;
using simd::v8;

// Channels per kernel block: 96 channels x 4 filters x 64 bytes = 24 KB, within L1 with room for X.
constexpr std::size_t kChannelBlock = 96;

// Two registers of interleaved bins (r0 i0 r1 i1 r2 i2 r3 i3 | r4 i4 ... r7 i7) -> real and
// imaginary parts in the lane order kLaneBin (vshufps within 128-bit lanes), and back
// (vunpcklps / vunpckhps).
FC_INLINE void deinterleave(v8 lo, v8 hi, v8& re, v8& im) {
  re = __builtin_shufflevector(lo, hi, 0, 2, 8, 10, 4, 6, 12, 14);
  im = __builtin_shufflevector(lo, hi, 1, 3, 9, 11, 5, 7, 13, 15);
}
FC_INLINE void interleave(v8 re, v8 im, v8& lo, v8& hi) {
  lo = __builtin_shufflevector(re, im, 0, 8, 1, 9, 4, 12, 5, 13);
  hi = __builtin_shufflevector(re, im, 2, 10, 3, 11, 6, 14, 7, 15);
}

// FB filters of one tile and one bin block over channels [c0, c0 + n):
//   acc[q] (+)= sum_c x[c] * K[c][f0 + q]
// from deinterleaved x (re, im pairs), starting from `in` (deinterleaved partial sums) unless it
// is null, ending in `out` (partial sums) or, when `y` is set, interleaved in Y's planes. With
// `ahead`, the kernel lines `ahead` floats on (the next filters' block) are requested too: the
// kernel block streams from memory once per group, in 256-byte pieces too short for the
// hardware prefetcher to follow.
template <int FB>
FC_INLINE void filters_block(const v8* x, const float* k, std::size_t n, const v8* in, v8* out, float* y,
                             std::size_t ystride, std::size_t ahead) {
  v8 ar[FB], ai[FB];
  for (int q = 0; q < FB; ++q) ar[q] = in ? in[2 * q] : v8{}, ai[q] = in ? in[2 * q + 1] : v8{};
  for (std::size_t c = 0; c < n; ++c, k += kFilterGroup * 2 * kBinBlock) {
    if (ahead)
      for (int q = 0; q < FB; ++q) __builtin_prefetch(k + ahead + q * 2 * kBinBlock);
    const v8 a = x[2 * c], b = x[2 * c + 1];
    for (int q = 0; q < FB; ++q) {
      v8 kr = load(k + q * 2 * kBinBlock), ki = load(k + q * 2 * kBinBlock + kBinBlock);
#if defined(__AVX__)
      // (-march=native builds only: the "x" constraint cannot hold 32 bytes in the baseline
      // clone of a multiversioned function.) Keep them in registers: GCC folds each load into both of its FMAs, which doubles the
      // loads and made the loop load-bound (10% slower when the spectra are in cache).
      asm("" : "+x"(kr), "+x"(ki));
#endif
      ar[q] = fnma(b, ki, fma(a, kr, ar[q]));
      ai[q] = fma(b, kr, fma(a, ki, ai[q]));
    }
  }
  for (int q = 0; q < FB; ++q) {
    if (!y) {
      out[2 * q] = ar[q], out[2 * q + 1] = ai[q];
      continue;
    }
    v8 lo, hi;
    interleave(ar[q], ai[q], lo, hi);
    float* dst = y + q * ystride;
    store(dst, lo);
    store(dst + kBinBlock, hi);
  }
}

// FB filters of channel c and one bin block: D[c][f0 + q] += sum_t X[t][c] conj(G[t][f0 + q]),
// from deinterleaved X (xs) and G (gs); FB independent accumulator pairs keep the FMA units
// busy when there are few tiles.
template <int FB>
FC_INLINE void conj_tiles_block(const v8* xs, const v8* gs, std::size_t T, std::size_t C, std::size_t F, std::size_t c,
                             std::size_t f0, float* d, std::size_t dpstride) {
  v8 ar[FB], ai[FB];
  for (int q = 0; q < FB; ++q) ar[q] = ai[q] = v8{};
  for (std::size_t t = 0; t < T; ++t) {
    const v8 xr = xs[2 * (t * C + c)], xi = xs[2 * (t * C + c) + 1];
    for (int q = 0; q < FB; ++q) {
      // (xr + i xi)(gr - i gi) = xr gr + xi gi + i (xi gr - xr gi)
      const v8 gr = gs[2 * (t * F + f0 + q)], gi = gs[2 * (t * F + f0 + q) + 1];
      ar[q] = fma(xi, gi, fma(xr, gr, ar[q]));
      ai[q] = fnma(xr, gi, fma(xi, gr, ai[q]));
    }
  }
  for (int q = 0; q < FB; ++q) {
    v8 lo, hi;
    interleave(ar[q], ai[q], lo, hi);
    float* dq = d + q * dpstride;
    store(dq, load(dq) + lo);
    store(dq + kBinBlock, load(dq + kBinBlock) + hi);
  }
}

}  // namespace

FC_MULTIVERSION void pack_kernel_spectrum(const Complex* spectrum, std::size_t nb, std::size_t C, std::size_t F, std::size_t c,
                          std::size_t f, float scale, float* K) {
  const std::size_t blocks = (nb + kBinBlock - 1) / kBinBlock;
  for (std::size_t j = 0; j < blocks; ++j) {
    float* dst = K + packed_kernel_offset(j, c, f, C, F);
    for (std::size_t lane = 0; lane < kBinBlock; ++lane) {
      const std::size_t b = j * kBinBlock + kLaneBin[lane];
      const Complex v = b < nb ? spectrum[b] * scale : Complex(0, 0);
      dst[lane] = v.real();
      dst[kBinBlock + lane] = v.imag();
    }
  }
}

FC_MULTIVERSION void bin_gemm(const Complex* X, const float* K, Complex* Y, std::size_t T, std::size_t C, std::size_t F,
              std::size_t stride, std::size_t j0, std::size_t j1) {
  constexpr std::size_t kBlockFloats = 2 * kBinBlock;
  const std::size_t pstride = 2 * stride;  // floats between planes
  // Blocked as a GEMM of T x C by C x F whose elements are 8-bin vectors: a block of kc
  // channels x 4 filters of the kernel (24 KB) stays in L1 while every tile of the group passes
  // over it, and the group's deinterleaved X for those channels stays in L2. Each tile reading
  // all C x F kernel blocks in turn (16 MB for 512 -> 512) went to memory once per tile: a
  // 7x7x512 layer ran 8x slower than its im2col GEMM.
  const std::size_t kc = std::min(C, kChannelBlock);
  static thread_local AlignedVector<v8> xs, acc;  // kept across calls; AlignedVector: std::vector drops v8's alignment
  xs.resize(2 * T * C);
  if (kc < C) acc.resize(2 * T * F);
  const float* xf = reinterpret_cast<const float*>(X);
  float* yf = reinterpret_cast<float*>(Y);
  for (std::size_t j = j0; j < j1; ++j) {
    for (std::size_t tc = 0; tc < T * C; ++tc) {
      const float* x = xf + tc * pstride + j * kBlockFloats;
      deinterleave(load(x), load(x + kBinBlock), xs[2 * tc], xs[2 * tc + 1]);
    }
    for (std::size_t c0 = 0; c0 < C; c0 += kc) {
      const std::size_t n = std::min(kc, C - c0);
      const bool first = c0 == 0, last = c0 + n == C;
      for (std::size_t f = 0; f < F; f += kFilterGroup) {
        const float* kb = K + packed_kernel_offset(j, c0, f, C, F);
        const std::size_t ahead = f + 4 < F ? C * kFilterGroup * kBlockFloats : 0;  // the next group's lines
        for (std::size_t t = 0; t < T; ++t) {
          const v8* x = xs.data() + 2 * (t * C + c0);
          v8* part = kc < C ? acc.data() + 2 * (t * F + f) : nullptr;  // partial sums: only with several blocks
          float* y = last ? yf + (t * F + f) * pstride + j * kBlockFloats : nullptr;
          const std::size_t pre = t == 0 ? ahead : 0;
          switch (std::min<std::size_t>(4, F - f)) {
            case 4: filters_block<4>(x, kb, n, first ? nullptr : part, part, y, pstride, pre); break;
            case 3: filters_block<3>(x, kb, n, first ? nullptr : part, part, y, pstride, pre); break;
            case 2: filters_block<2>(x, kb, n, first ? nullptr : part, part, y, pstride, pre); break;
            default: filters_block<1>(x, kb, n, first ? nullptr : part, part, y, pstride, pre); break;
          }
        }
      }
    }
  }
}

FC_MULTIVERSION void bin_gemm_conj_tiles(const Complex* X, const Complex* G, Complex* D, std::size_t T, std::size_t C, std::size_t F,
                         std::size_t stride, std::size_t dstride, std::size_t j0, std::size_t j1) {
  constexpr std::size_t kBlockFloats = 2 * kBinBlock;
  const float* xf = reinterpret_cast<const float*>(X);
  const float* gf = reinterpret_cast<const float*>(G);
  float* df = reinterpret_cast<float*>(D);
  static thread_local AlignedVector<v8> xs, gs;  // deinterleaved: re, im per (t, c) and (t, f)
  xs.resize(2 * T * C);
  gs.resize(2 * T * F);
  for (std::size_t j = j0; j < j1; ++j) {
    for (std::size_t tc = 0; tc < T * C; ++tc) {
      const float* x = xf + tc * 2 * stride + j * kBlockFloats;
      deinterleave(load(x), load(x + kBinBlock), xs[2 * tc], xs[2 * tc + 1]);
    }
    for (std::size_t tf = 0; tf < T * F; ++tf) {
      const float* g = gf + tf * 2 * stride + j * kBlockFloats;
      deinterleave(load(g), load(g + kBinBlock), gs[2 * tf], gs[2 * tf + 1]);
    }
    for (std::size_t c = 0; c < C; ++c) {
      float* d = df + c * F * 2 * dstride + j * kBlockFloats;
      std::size_t f = 0;
      for (; f + 4 <= F; f += 4) conj_tiles_block<4>(xs.data(), gs.data(), T, C, F, c, f, d + f * 2 * dstride, 2 * dstride);
      for (; f < F; ++f) conj_tiles_block<1>(xs.data(), gs.data(), T, C, F, c, f, d + f * 2 * dstride, 2 * dstride);
    }
  }
}

}  // namespace fourierconv::conv::detail
