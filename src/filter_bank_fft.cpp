#include "filter_bank_fft.hpp"

#include <omp.h>

#include <algorithm>
#include <string>

#include "fourierconv/error.hpp"
#include "flush_denormals.hpp"

namespace fourierconv::detail {
namespace {

using simd::fma;
using simd::fnma;
using simd::splat;

// Input planes per forward transform: one per lane, imaginary parts zero. Pairing two real
// planes per transform would halve this (small) step, but a NaN or Inf in one plane would then
// reach its partner, another sample of the batch.
constexpr std::size_t kPlanesPerGroup = kLanes;
constexpr std::size_t kFiltersPerTuple = 2 * kLanes;  // filters per inverse transform


FC_INLINE float hsum(v8 v) {
  typedef float v4 __attribute__((vector_size(16), aligned(16)));
  v4 a = __builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7);
  a += __builtin_shufflevector(a, a, 2, 3, 0, 1);
  a += __builtin_shufflevector(a, a, 1, 0, 3, 2);
  return a[0];
}

FC_INLINE v8 relu(v8 v) { return v < 0 ? v8{} : v; }
FC_INLINE CVec relu_cell(const CVec& v, bool relu_out) { return relu_out ? CVec{relu(v.re), relu(v.im)} : v; }

}  // namespace

// Per-thread grids and the shared spectra of one chunk of plane groups.
struct FilterBankFft::Scratch {
  std::vector<CVecBuffer> grid, work, acc;  // per thread
  CVecBuffer spectra;                       // chunk groups x 2 halves x P*Q
};

FilterBankFft::FilterBankFft(std::size_t H, std::size_t W, std::size_t P, std::size_t Q, std::size_t F,
                             const std::vector<float>& even)
    : H_(H), W_(W), P_(P), Q_(Q), F_(F), tuples_((F + kFiltersPerTuple - 1) / kFiltersPerTuple), fft_(P, Q) {
  const std::size_t Qh = Q / 2 + 1, PQ = P * Q;
  mirror_.resize(PQ);
  for (std::size_t i = 0; i < P; ++i)
    for (std::size_t j = 0; j < Q; ++j) mirror_[i * Q + j] = ((P - i) % P) * Q + (Q - j) % Q;
  // The full grid of response f at k: the half spectrum holds columns <= Q/2; the rest are
  // the mirrors (an even response: H[k] = H[-k]).
  auto response = [&](std::size_t f, std::size_t k) -> float {
    if (f >= F) return 0.0f;
    std::size_t i = k / Q, j = k % Q;
    if (j >= Qh) {
      const std::size_t m = mirror_[k];
      i = m / Q, j = m % Q;
    }
    return even[f * P * Qh + i * Qh + j];
  };
  g_.resize(tuples_);
  for (std::size_t t = 0; t < tuples_; ++t) {
    g_[t].resize(PQ);
    for (std::size_t k = 0; k < PQ; ++k)
      for (std::size_t l = 0; l < kLanes; ++l) {
        g_[t][k].re[l] = response(t * kFiltersPerTuple + l, k);
        g_[t][k].im[l] = response(t * kFiltersPerTuple + kLanes + l, k);
      }
  }
}

bool FilterBankFft::suits(std::size_t P, std::size_t Q) { return P * Q <= 4096; }

FilterBankFft::Scratch& FilterBankFft::scratch() const {
  thread_local Scratch s;  // the caller's; worker threads use their entries in it
  const std::size_t T = std::size_t(omp_get_max_threads());
  if (s.grid.size() < T) s.grid.resize(T), s.work.resize(T), s.acc.resize(T);
  for (std::size_t t = 0; t < T; ++t) {
    if (s.grid[t].size() < P_ * Q_) s.grid[t].resize(P_ * Q_);
    if (s.acc[t].size() < P_ * Q_) s.acc[t].resize(P_ * Q_);
    if (s.work[t].size() < fft_.work_size()) s.work[t].resize(fft_.work_size());
  }
  return s;
}

FC_MULTIVERSION void FilterBankFft::forward(const float* x, std::size_t N, std::size_t C, float* y, bool relu_out,
                                            std::size_t ph, std::size_t pw) const {
  if (ph == 0 || pw == 0 || ph > H_ || pw > W_)
    throw Error("FilterBankFft::forward: pool (" + std::to_string(ph) + ", " + std::to_string(pw) +
                ") must be at least (1, 1) and at most the plane, " + std::to_string(H_) + " x " + std::to_string(W_));
  const std::size_t OH = H_ / ph, OW = W_ / pw;  // the output plane ('valid' pooling; H x W without)
  const std::size_t PQ = P_ * Q_, planes = N * C, groups = (planes + kPlanesPerGroup - 1) / kPlanesPerGroup;
  const std::size_t CF = C * F_, T = std::size_t(omp_get_max_threads());
  const std::size_t chunk = std::max<std::size_t>(1, 4 * T);  // groups whose spectra are held at once
  Scratch& s = scratch();
  if (s.spectra.size() < std::min(chunk, groups) * PQ) s.spectra.resize(std::min(chunk, groups) * PQ);
  CVec* spectra = s.spectra.data();
  const bool parallel = planes * tuples_ > 1;
#pragma omp parallel num_threads(int(T)) if (parallel)
  {
    const ScopedFlushDenormals flush_denormals;  // subnormal response tails: flush_denormals.hpp
    const std::size_t tid = std::size_t(omp_get_thread_num());
    CVec* grid = s.grid[tid].data();
    CVec* work = s.work[tid].data();
    for (std::size_t g0 = 0; g0 < groups; g0 += chunk) {
      const std::size_t g1 = std::min(groups, g0 + chunk);
      // 1. The spectra of 8 planes per transform, one per lane.
#pragma omp for schedule(static)
      for (std::size_t g = g0; g < g1; ++g) {
        CVec* X = spectra + (g - g0) * PQ;
        std::fill(X, X + PQ, CVec{v8{}, v8{}});
        for (std::size_t l = 0; l < kLanes; ++l) {
          const std::size_t p = g * kPlanesPerGroup + l;
          if (p >= planes) break;
          const float* src = x + (p / C) * H_ * W_ * C + p % C;
          for (std::size_t i = 0; i < H_; ++i)
            for (std::size_t j = 0; j < W_; ++j) X[i * Q_ + j].re[l] = src[(i * W_ + j) * C];
        }
        fft_.row_pass(X, 0, H_, false, work);  // rows below H are zero
        fft_.column_pass(X, 0, Q_, false, work);
      }
      // 2. Per plane and filter tuple: Z = X . (H_f + i H_f+8), one inverse, two stores per pixel.
      const std::size_t items = (std::min(planes, g1 * kPlanesPerGroup) - g0 * kPlanesPerGroup) * tuples_;
#pragma omp for schedule(static)
      for (std::size_t it = 0; it < items; ++it) {
        const std::size_t p = g0 * kPlanesPerGroup + it / tuples_, t = it % tuples_;
        const std::size_t g = p / kPlanesPerGroup, l = p % kLanes;
        const CVec* X = spectra + (g - g0) * PQ;
        const CVec* G = g_[t].data();
        for (std::size_t k = 0; k < PQ; ++k) {
          const v8 xr = splat(X[k].re[l]), xi = splat(X[k].im[l]);
          grid[k] = {fnma(xi, G[k].im, xr * G[k].re), fma(xr, G[k].im, xi * G[k].re)};
        }
        fft_.column_pass(grid, 0, Q_, true, work);
        fft_.row_pass(grid, 0, H_, true, work);  // only the rows that are kept
        const std::size_t n = p / C, c = p % C, f0 = t * kFiltersPerTuple;
        float* dst = y + n * OH * OW * CF + c * F_ + f0;
        const bool full = f0 + kFiltersPerTuple <= F_;
        for (std::size_t i = 0; i < OH; ++i)
          for (std::size_t j = 0; j < OW; ++j) {
            // MaxPooling2D's maximum: over the relu'd cells, in its scan order, NaN winning.
            CVec v = relu_cell(grid[i * ph * Q_ + j * pw], relu_out);
            for (std::size_t a = 0; a < ph; ++a)
              for (std::size_t b = a == 0 ? 1 : 0; b < pw; ++b) {
                const CVec u = relu_cell(grid[(i * ph + a) * Q_ + j * pw + b], relu_out);
                v = {simd::max_nan(v.re, u.re), simd::max_nan(v.im, u.im)};
              }
            float* o = dst + (i * OW + j) * CF;
            if (full) {
              simd::storeu(o, v.re);
              simd::storeu(o + kLanes, v.im);
              continue;
            }
            for (std::size_t q = 0; q < kLanes && f0 + q < F_; ++q) o[q] = v.re[q];
            for (std::size_t q = 0; q < kLanes && f0 + kLanes + q < F_; ++q) o[kLanes + q] = v.im[q];
          }
      }
    }
  }
}

FC_MULTIVERSION void FilterBankFft::adjoint(const float* dy, std::size_t N, std::size_t C, float* dx) const {
  const std::size_t PQ = P_ * Q_, planes = N * C, groups = (planes + kPlanesPerGroup - 1) / kPlanesPerGroup;
  const std::size_t CF = C * F_, T = std::size_t(omp_get_max_threads());
  const std::size_t chunk = std::max<std::size_t>(1, 4 * T);
  Scratch& s = scratch();
  if (s.spectra.size() < std::min(chunk, groups) * PQ) s.spectra.resize(std::min(chunk, groups) * PQ);
  CVec* spectra = s.spectra.data();
  const bool parallel = planes > 1;
#pragma omp parallel num_threads(int(T)) if (parallel)
  {
    const ScopedFlushDenormals flush_denormals;  // subnormal response tails: flush_denormals.hpp
    const std::size_t tid = std::size_t(omp_get_thread_num());
    CVec* grid = s.grid[tid].data();
    CVec* work = s.work[tid].data();
    CVec* acc = s.acc[tid].data();
    for (std::size_t g0 = 0; g0 < groups; g0 += chunk) {
      const std::size_t g1 = std::min(groups, g0 + chunk), p0 = g0 * kPlanesPerGroup;
      const std::size_t p1 = std::min(planes, g1 * kPlanesPerGroup);
      // 1. Per plane: V = sum over tuples and lanes of conj(G) . fft2(dy_f + i dy_f+8).
#pragma omp for schedule(static)
      for (std::size_t p = p0; p < p1; ++p) {
        const std::size_t n = p / C, c = p % C;
        for (std::size_t t = 0; t < tuples_; ++t) {
          const std::size_t f0 = t * kFiltersPerTuple;
          const bool full = f0 + kFiltersPerTuple <= F_;
          const float* src = dy + n * H_ * W_ * CF + c * F_ + f0;
          std::fill(grid, grid + PQ, CVec{v8{}, v8{}});
          for (std::size_t i = 0; i < H_; ++i)
            for (std::size_t j = 0; j < W_; ++j) {
              const float* q = src + (i * W_ + j) * CF;
              CVec& v = grid[i * Q_ + j];
              if (full) {
                v.re = simd::loadu(q);
                v.im = simd::loadu(q + kLanes);
                continue;
              }
              for (std::size_t l = 0; l < kLanes && f0 + l < F_; ++l) v.re[l] = q[l];
              for (std::size_t l = 0; l < kLanes && f0 + kLanes + l < F_; ++l) v.im[l] = q[kLanes + l];
            }
          fft_.row_pass(grid, 0, H_, false, work);
          fft_.column_pass(grid, 0, Q_, false, work);
          const CVec* G = g_[t].data();
          for (std::size_t k = 0; k < PQ; ++k) {  // conj(G) . Z
            const CVec z = grid[k];
            const CVec u{fma(G[k].im, z.im, G[k].re * z.re), fnma(G[k].im, z.re, G[k].re * z.im)};
            acc[k] = t == 0 ? u : CVec{acc[k].re + u.re, acc[k].im + u.im};
          }
        }
        CVec* S = spectra + ((p / kPlanesPerGroup) - g0) * PQ;
        const std::size_t l = p % kLanes;
        for (std::size_t k = 0; k < PQ; ++k) {
          S[k].re[l] = hsum(acc[k].re);
          S[k].im[l] = hsum(acc[k].im);
        }
      }
      // 2. Per group of 8 planes: dx = Re(ifft2(V)) (the real part of the inverse is the
      //    inverse of V's Hermitian part: H is even, so this is the adjoint).
#pragma omp for schedule(static)
      for (std::size_t g = g0; g < g1; ++g) {
        CVec* S = spectra + (g - g0) * PQ;
        const std::size_t used = planes - std::min(planes, g * kPlanesPerGroup);
        if (used < kLanes) {  // zero the lanes of no plane, by a mask: GCC 12 vectorized the
          // lane-by-lane stores S[k].re[l] = 0 with aligned SSE stores at 4-byte offsets
          // (a crash in the baseline clone, found under qemu -cpu Nehalem).
          typedef int v8i __attribute__((vector_size(32), aligned(32)));
          v8i keep;
          for (std::size_t l = 0; l < kLanes; ++l) keep[l] = l < used ? -1 : 0;
          for (std::size_t k = 0; k < PQ; ++k) {
            S[k].re = (v8)((v8i)S[k].re & keep);
            S[k].im = (v8)((v8i)S[k].im & keep);
          }
        }
        fft_.column_pass(S, 0, Q_, true, work);
        fft_.row_pass(S, 0, H_, true, work);
        for (std::size_t l = 0; l < kLanes; ++l) {
          const std::size_t p = g * kPlanesPerGroup + l;
          if (p >= planes) break;
          float* d = dx + (p / C) * H_ * W_ * C + p % C;
          for (std::size_t i = 0; i < H_; ++i)
            for (std::size_t j = 0; j < W_; ++j) d[(i * W_ + j) * C] = S[i * Q_ + j].re[l];
        }
      }
    }
  }
}

}  // namespace fourierconv::detail
