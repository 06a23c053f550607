#include "plane_fft.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include <omp.h>

#include "fourierconv/error.hpp"

namespace fourierconv::detail {

using simd::fma;
using simd::fnma;
using simd::loadu;
using simd::splat;
using simd::storeu;
using simd::v8;

bool PlaneFft::takes(std::size_t P, std::size_t Q) { return P >= 8 && Q >= 8 && P % 2 == 0 && Q % kLanes == 0; }

PlaneFft::PlaneFft(std::size_t P, std::size_t Q)
    : P_(P), Q_(Q), M_(P / 2), C_(Q / kLanes), S_(C_ | 1), blocks_((P / 2 + 1 + kLanes - 1) / kLanes),
      half_(takes(P, Q) ? P / 2 : 1), row_(takes(P, Q) ? Q : 1) {
  if (!takes(P, Q))
    throw Error("PlaneFft: expected an even number of rows and a multiple of 8 columns, both >= 8; got " +
                std::to_string(P) + " x " + std::to_string(Q));
  // w^k for k <= P/4, exact where the angle is a multiple of pi/2 (the pair k = M/2 of the
  // split is then exactly the conjugate, as in exact arithmetic).
  wr_.resize(M_ / 2 + 1);
  wi_.resize(M_ / 2 + 1);
  for (std::size_t k = 0; k <= M_ / 2; ++k) {
    const double a = 2.0 * M_PI * double(k) / double(P);
    wr_[k] = 4 * k == P ? 0.0f : float(std::cos(a));
    wi_[k] = 4 * k == P ? -1.0f : float(-std::sin(a));
  }
}

std::shared_ptr<const PlaneFft> PlaneFft::get(std::size_t P, std::size_t Q) {
  static std::mutex mu;
  static std::map<std::pair<std::size_t, std::size_t>, std::shared_ptr<const PlaneFft>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[{P, Q}];
  if (!slot) slot = std::make_shared<const PlaneFft>(P, Q);
  return slot;
}

std::size_t PlaneFft::work_size(int threads) const {
  const std::size_t per_thread = Q_ + std::max(M_ * TupleFft::kColumnChunk, Q_);
  const std::size_t cvecs = blocks_ * kLanes * S_ + std::size_t(std::max(threads, 1)) * per_thread;
  return cvecs * sizeof(CVec) / sizeof(float);
}

namespace {

FC_INLINE CVec cadd(CVec a, CVec b) { return {a.re + b.re, a.im + b.im}; }
FC_INLINE CVec csub(CVec a, CVec b) { return {a.re - b.re, a.im - b.im}; }

}  // namespace

// Axis 0 of the plane, real -> half spectrum: rows 2t, 2t+1 -> z[t] = row 2t + i row 2t+1, its
// FFT of length M = P/2 down each column, then for k <= M the bins of the real transform:
//   E = (Z[k] + conj Z[M-k]) / 2, O = (Z[k] - conj Z[M-k]) / 2i, X[k] = E + w^k O,
//   X[M-k] = conj(E - w^k O), w = exp(-2 pi i / P)   (X[M] from k = 0: Re Z[0] - Im Z[0]).
// g: rows 0..M hold X (C_ chunks each, rows S_ apart); the rows after M up to the last block
// are zeroed.
FC_MULTIVERSION void PlaneFft::columns_forward(const float* x, CVec* g, CVec* work, std::size_t jb, std::size_t je,
                                               std::size_t group) const {
  const std::size_t M = M_, C = S_, Q = Q_;  // C: the work grid's row stride (S_)
  const v8 half = splat(0.5f);
  for (std::size_t j0 = jb; j0 < je; j0 += group) {
    const std::size_t cnt = std::min(group, je - j0);
    for (std::size_t t = 0; t < M; ++t)
      for (std::size_t j = j0; j < j0 + cnt; ++j)
        g[t * C + j] = CVec{loadu(x + 2 * t * Q + kLanes * j), loadu(x + (2 * t + 1) * Q + kLanes * j)};
    half_.transform(g + j0, C, 1, cnt, false, work);
    for (std::size_t j = j0; j < j0 + cnt; ++j) {
      const CVec z0 = g[j];
      g[j] = CVec{z0.re + z0.im, v8{}};
      g[M * C + j] = CVec{z0.re - z0.im, v8{}};
    }
    for (std::size_t k = 1; 2 * k <= M; ++k) {
      const v8 wr = splat(wr_[k]), wi = splat(wi_[k]);
      for (std::size_t j = j0; j < j0 + cnt; ++j) {
        const CVec A = g[k * C + j], B = g[(M - k) * C + j];
        const CVec E{half * (A.re + B.re), half * (A.im - B.im)};
        const CVec O{half * (A.im + B.im), half * (B.re - A.re)};
        const CVec T{fnma(wi, O.im, wr * O.re), fma(wi, O.re, wr * O.im)};
        g[k * C + j] = cadd(E, T);
        if (2 * k < M) g[(M - k) * C + j] = CVec{E.re - T.re, T.im - E.im};
      }
    }
  }
  for (std::size_t r = M + 1; r < blocks_ * kLanes; ++r)
    for (std::size_t j = jb; j < je; ++j) g[r * S_ + j] = CVec{v8{}, v8{}};
}

// The inverse of columns_forward, unnormalized (a factor P): from X[k], k <= M,
//   E' = X[k] + conj X[M-k], O' = (X[k] - conj X[M-k]) conj(w^k), z[k] = E' + i O',
//   z[M-k] = conj E' + i conj O', then the inverse FFT of length M down each column, whose
//   real and imaginary parts are rows 2t and 2t+1 of y.
FC_MULTIVERSION void PlaneFft::columns_inverse(CVec* g, float* y, CVec* work, std::size_t jb, std::size_t je,
                                               std::size_t group) const {
  const std::size_t M = M_, C = S_, Q = Q_;  // C: the work grid's row stride (S_)
  for (std::size_t j0 = jb; j0 < je; j0 += group) {
    const std::size_t cnt = std::min(group, je - j0);
    for (std::size_t k = 0; 2 * k <= M; ++k) {
      const v8 wr = splat(wr_[k]), wi = splat(wi_[k]);
      for (std::size_t j = j0; j < j0 + cnt; ++j) {
        const CVec A = g[k * C + j], B = g[(M - k) * C + j];
        const CVec E{A.re + B.re, A.im - B.im};
        const CVec D{A.re - B.re, A.im + B.im};
        const CVec O{fma(wi, D.im, wr * D.re), fnma(wi, D.re, wr * D.im)};
        g[k * C + j] = CVec{E.re - O.im, E.im + O.re};
        if (k > 0 && 2 * k < M) g[(M - k) * C + j] = CVec{E.re + O.im, O.re - E.im};
      }
    }
    half_.transform(g + j0, C, 1, cnt, true, work);
    for (std::size_t t = 0; t < M; ++t)
      for (std::size_t j = j0; j < j0 + cnt; ++j) {
        storeu(y + 2 * t * Q + kLanes * j, g[t * C + j].re);
        storeu(y + (2 * t + 1) * Q + kLanes * j, g[t * C + j].im);
      }
  }
}

namespace {

// dst[l dl + j dj] = the 8 x 8 transposes of src[l sl + j sj] (l < 8: rows of a block; j < C):
// for each j the real parts and the imaginary parts of 8 CVecs transposed in registers.
FC_INLINE void transpose_blocks(const CVec* src, std::size_t sl, std::size_t sj, CVec* dst, std::size_t dl, std::size_t dj,
                                std::size_t C) {
  for (std::size_t j = 0; j < C; ++j) {
    v8 re[8], im[8];
    for (std::size_t l = 0; l < 8; ++l) re[l] = src[l * sl + j * sj].re, im[l] = src[l * sl + j * sj].im;
    simd::transpose8x8(re);
    simd::transpose8x8(im);
    for (std::size_t l = 0; l < 8; ++l) dst[l * dl + j * dj] = CVec{re[l], im[l]};
  }
}

}  // namespace

// Rows 8b..8b+7 of g (lanes: columns) -> blk[q], q < Q (lanes: those rows), and back.
FC_MULTIVERSION void PlaneFft::rows_to_block(const CVec* g, std::size_t b, CVec* blk) const {
  transpose_blocks(g + b * kLanes * S_, S_, 1, blk, 1, kLanes, C_);
}

FC_MULTIVERSION void PlaneFft::block_to_rows(const CVec* blk, std::size_t b, CVec* g) const {
  transpose_blocks(blk, 1, kLanes, g + b * kLanes * S_, S_, 1, C_);
}

FC_MULTIVERSION void PlaneFft::multiply(std::complex<float>* spec, const std::complex<float>* kspec, std::size_t n) {
  CVec* a = reinterpret_cast<CVec*>(spec);
  const CVec* b = reinterpret_cast<const CVec*>(kspec);
  for (std::size_t i = 0; i < n / kLanes; ++i) {
    const CVec x = a[i], h = b[i];
    a[i] = CVec{fnma(x.im, h.im, x.re * h.re), fma(x.im, h.re, x.re * h.im)};
  }
}

template <class Rows>
void PlaneFft::passes(const float* x, float* y, float* work, int threads, bool forward_columns, bool inverse_columns,
                      Rows&& each) const {
  CVec* g = reinterpret_cast<CVec*>(work);
  const std::size_t per_thread = Q_ + std::max(M_ * TupleFft::kColumnChunk, Q_);
  auto run = [&](std::size_t t, std::size_t n, auto&& barrier) {
    CVec* blk = g + blocks_ * kLanes * S_ + t * per_thread;
    CVec* tw = blk + Q_;
    // Columns in n contiguous ranges (groups of at most kColumnChunk chunks), rows blocks
    // round robin.
    const std::size_t share = (C_ + n - 1) / n, j0 = std::min(C_, t * share), j1 = std::min(C_, j0 + share);
    const std::size_t group = std::min(TupleFft::kColumnChunk, std::max<std::size_t>(share, 1));
    if (forward_columns) columns_forward(x, g, tw, j0, j1, group);
    barrier();
    for (std::size_t b = t; b < blocks_; b += n) each(b, blk, tw);
    barrier();
    if (inverse_columns) columns_inverse(g, y, tw, j0, j1, group);
  };
  const std::size_t n = std::min<std::size_t>(std::size_t(std::max(threads, 1)), C_);
  if (n <= 1) return run(0, 1, [] {});
#pragma omp parallel num_threads(int(n))
  {
    const std::size_t t = std::size_t(omp_get_thread_num()), got = std::size_t(omp_get_num_threads());
    if (got == n) {
      run(t, n, [] {
#pragma omp barrier
      });
    } else if (t == 0) {  // fewer threads than asked (nested, or a limit): all on this one
      run(0, 1, [] {});
    }
  }
}

void PlaneFft::forward(const float* x, std::complex<float>* spec, float* work, int threads) const {
  CVec* g = reinterpret_cast<CVec*>(work);
  CVec* out = reinterpret_cast<CVec*>(spec);
  passes(x, nullptr, work, threads, true, false, [&](std::size_t b, CVec*, CVec* tw) {
    rows_to_block(g, b, out + b * Q_);
    row_.transform(out + b * Q_, 1, 0, 1, false, tw);
  });
}

void PlaneFft::inverse(std::complex<float>* spec, float* y, float* work, int threads) const {
  CVec* g = reinterpret_cast<CVec*>(work);
  CVec* in = reinterpret_cast<CVec*>(spec);
  passes(nullptr, y, work, threads, false, true, [&](std::size_t b, CVec*, CVec* tw) {
    row_.transform(in + b * Q_, 1, 0, 1, true, tw);
    block_to_rows(in + b * Q_, b, g);
  });
}

void PlaneFft::convolve(const float* x, const std::complex<float>* kspec, float* y, float* work, int threads) const {
  CVec* g = reinterpret_cast<CVec*>(work);
  passes(x, y, work, threads, true, true, [&](std::size_t b, CVec* blk, CVec* tw) {
    rows_to_block(g, b, blk);
    row_.transform(blk, 1, 0, 1, false, tw);
    multiply(reinterpret_cast<std::complex<float>*>(blk), kspec + b * Q_ * kLanes, Q_ * kLanes);
    row_.transform(blk, 1, 0, 1, true, tw);
    block_to_rows(blk, b, g);
  });
}

}  // namespace fourierconv::detail
