#include "fourierconv/conv/direct.hpp"


#include <algorithm>
#include <cstring>
#include <vector>

#include "fourierconv/tensor.hpp"
#include "blas.hpp"

namespace fourierconv::conv {
namespace {

constexpr std::size_t kMaxColsFloats = std::size_t(4) << 20;  // 16 MB of columns per block

// Rows [r0, r1) of the im2col matrix (row = (n, oy, ox), col = (u, v, c)).
void im2col(const Problem& p, const float* x, std::size_t r0, std::size_t r1, float* cols) {
  const std::size_t K = p.kh * p.kw * p.c, ohw = p.oh * p.ow;
#pragma omp parallel for schedule(static) if ((r1 - r0) * K > 65536)
  for (std::size_t r = r0; r < r1; ++r) {
    const std::size_t n = r / ohw, oy = (r % ohw) / p.ow, ox = r % p.ow;
    float* dst = cols + (r - r0) * K;
    const float* xn = x + n * p.h * p.w * p.c;
    for (std::size_t u = 0; u < p.kh; ++u) {
      const std::ptrdiff_t iy = std::ptrdiff_t(oy * p.sh + u * p.dh) - std::ptrdiff_t(p.pad_top);
      for (std::size_t v = 0; v < p.kw; ++v, dst += p.c) {
        const std::ptrdiff_t ix = std::ptrdiff_t(ox * p.sw + v * p.dw) - std::ptrdiff_t(p.pad_left);
        if (iy < 0 || ix < 0 || iy >= std::ptrdiff_t(p.h) || ix >= std::ptrdiff_t(p.w))
          std::fill(dst, dst + p.c, 0.0f);
        else
          std::memcpy(dst, xn + (std::size_t(iy) * p.w + std::size_t(ix)) * p.c, p.c * sizeof(float));
      }
    }
  }
}

// dx += col2im(dcols) for rows [r0, r1). Rows of one image may overlap, so parallelize over images.
void col2im(const Problem& p, const float* dcols, std::size_t r0, std::size_t r1, float* dx) {
  const std::size_t K = p.kh * p.kw * p.c, ohw = p.oh * p.ow;
  const std::size_t n0 = r0 / ohw, n1 = (r1 + ohw - 1) / ohw;
#pragma omp parallel for schedule(static) if ((r1 - r0) * K > 65536)
  for (std::size_t n = n0; n < n1; ++n) {
    const std::size_t a = std::max(r0, n * ohw), b = std::min(r1, (n + 1) * ohw);
    float* dxn = dx + n * p.h * p.w * p.c;
    for (std::size_t r = a; r < b; ++r) {
      const std::size_t oy = (r % ohw) / p.ow, ox = r % p.ow;
      const float* src = dcols + (r - r0) * K;
      for (std::size_t u = 0; u < p.kh; ++u) {
        const std::ptrdiff_t iy = std::ptrdiff_t(oy * p.sh + u * p.dh) - std::ptrdiff_t(p.pad_top);
        for (std::size_t v = 0; v < p.kw; ++v, src += p.c) {
          const std::ptrdiff_t ix = std::ptrdiff_t(ox * p.sw + v * p.dw) - std::ptrdiff_t(p.pad_left);
          if (iy < 0 || ix < 0 || iy >= std::ptrdiff_t(p.h) || ix >= std::ptrdiff_t(p.w)) continue;
          float* d = dxn + (std::size_t(iy) * p.w + std::size_t(ix)) * p.c;
          for (std::size_t c = 0; c < p.c; ++c) d[c] += src[c];
        }
      }
    }
  }
}

std::size_t block_rows(const Problem& p) {
  const std::size_t K = p.kh * p.kw * p.c;
  return std::max<std::size_t>(1, kMaxColsFloats / K);
}

AlignedVector<float>& scratch() {
  thread_local AlignedVector<float> s;
  return s;
}

// Few input taps (kh*kw*C <= kSmallTaps, e.g. a 3x3 kernel on one channel): a GEMM with an
// inner dimension of 9 wastes most of its time packing, so loop over output pixels and
// accumulate each tap times the F-long kernel row. Parallel over images.
constexpr std::size_t kSmallTaps = 32;

bool small_taps(const Problem& p) { return p.kh * p.kw * p.c <= kSmallTaps; }

template <class F>
void for_each_tap(const Problem& p, std::size_t n, std::size_t oy, std::size_t ox, F f) {
  for (std::size_t u = 0; u < p.kh; ++u) {
    const std::ptrdiff_t iy = std::ptrdiff_t(oy * p.sh + u * p.dh) - std::ptrdiff_t(p.pad_top);
    if (iy < 0 || iy >= std::ptrdiff_t(p.h)) continue;
    for (std::size_t v = 0; v < p.kw; ++v) {
      const std::ptrdiff_t ix = std::ptrdiff_t(ox * p.sw + v * p.dw) - std::ptrdiff_t(p.pad_left);
      if (ix < 0 || ix >= std::ptrdiff_t(p.w)) continue;
      f(((n * p.h + std::size_t(iy)) * p.w + std::size_t(ix)) * p.c, (u * p.kw + v) * p.c);
    }
  }
}

// Output channels in blocks of B held in registers across all taps.
template <std::size_t B>
inline void small_pixel_block(const Problem& p, const float* x, const float* kernel, const float* bias, std::size_t n,
                              std::size_t oy, std::size_t ox, std::size_t f0, float* out) {
  const std::size_t F = p.f, C = p.c;
  float acc[B];
  for (std::size_t j = 0; j < B; ++j) acc[j] = bias ? bias[f0 + j] : 0.0f;
  for (std::size_t u = 0; u < p.kh; ++u) {
    const std::ptrdiff_t iy = std::ptrdiff_t(oy * p.sh + u * p.dh) - std::ptrdiff_t(p.pad_top);
    if (iy < 0 || iy >= std::ptrdiff_t(p.h)) continue;
    for (std::size_t v = 0; v < p.kw; ++v) {
      const std::ptrdiff_t ix = std::ptrdiff_t(ox * p.sw + v * p.dw) - std::ptrdiff_t(p.pad_left);
      if (ix < 0 || ix >= std::ptrdiff_t(p.w)) continue;
      const float* xp = x + ((n * p.h + std::size_t(iy)) * p.w + std::size_t(ix)) * C;
      const float* kr = kernel + (u * p.kw + v) * C * F + f0;
      for (std::size_t c = 0; c < C; ++c) {
        const float xv = xp[c];
        for (std::size_t j = 0; j < B; ++j) acc[j] += xv * kr[c * F + j];
      }
    }
  }
  for (std::size_t j = 0; j < B; ++j) out[f0 + j] = acc[j];
}

// Interior pixels (the whole window inside the input): tap t of the flattened (u, v, c)
// window is at a fixed offset off[t] from the window's corner, so the loop is a plain
// gather-and-FMA with no bounds checks.
template <std::size_t B>
inline void small_interior_block(const float* xp, const std::ptrdiff_t* off, std::size_t K, const float* kernel,
                                 std::size_t F, const float* bias, std::size_t f0, float* out) {
  float acc[B];
  for (std::size_t j = 0; j < B; ++j) acc[j] = bias ? bias[f0 + j] : 0.0f;
  for (std::size_t t = 0; t < K; ++t) {
    const float xv = xp[off[t]];
    const float* kr = kernel + t * F + f0;
    for (std::size_t j = 0; j < B; ++j) acc[j] += xv * kr[j];
  }
  for (std::size_t j = 0; j < B; ++j) out[f0 + j] = acc[j];
}

void small_forward(const Problem& p, const float* x, const float* kernel, const float* bias, float* y) {
  const std::size_t F = p.f, C = p.c, K = p.kh * p.kw * C;
  std::ptrdiff_t off[kSmallTaps];
  for (std::size_t u = 0, t = 0; u < p.kh; ++u)
    for (std::size_t v = 0; v < p.kw; ++v)
      for (std::size_t c = 0; c < C; ++c, ++t) off[t] = std::ptrdiff_t(((u * p.dh) * p.w + v * p.dw) * C + c);
  const std::ptrdiff_t span_h = std::ptrdiff_t((p.kh - 1) * p.dh), span_w = std::ptrdiff_t((p.kw - 1) * p.dw);
#pragma omp parallel for schedule(static) if (p.macs() > 1e6)
  for (std::size_t n = 0; n < p.n; ++n)
    for (std::size_t oy = 0; oy < p.oh; ++oy) {
      const std::ptrdiff_t y0 = std::ptrdiff_t(oy * p.sh) - std::ptrdiff_t(p.pad_top);
      const bool row_inside = y0 >= 0 && y0 + span_h < std::ptrdiff_t(p.h);
      for (std::size_t ox = 0; ox < p.ow; ++ox) {
        float* out = y + ((n * p.oh + oy) * p.ow + ox) * F;
        const std::ptrdiff_t x0 = std::ptrdiff_t(ox * p.sw) - std::ptrdiff_t(p.pad_left);
        std::size_t f = 0;
        if (row_inside && x0 >= 0 && x0 + span_w < std::ptrdiff_t(p.w)) {
          const float* xp = x + ((n * p.h + std::size_t(y0)) * p.w + std::size_t(x0)) * C;
          for (; f + 16 <= F; f += 16) small_interior_block<16>(xp, off, K, kernel, F, bias, f, out);
          for (; f + 8 <= F; f += 8) small_interior_block<8>(xp, off, K, kernel, F, bias, f, out);
          for (; f < F; ++f) small_interior_block<1>(xp, off, K, kernel, F, bias, f, out);
          continue;
        }
        for (; f + 16 <= F; f += 16) small_pixel_block<16>(p, x, kernel, bias, n, oy, ox, f, out);
        for (; f + 8 <= F; f += 8) small_pixel_block<8>(p, x, kernel, bias, n, oy, ox, f, out);
        for (; f < F; ++f) small_pixel_block<1>(p, x, kernel, bias, n, oy, ox, f, out);
      }
    }
}

void small_backward(const Problem& p, const float* x, const float* kernel, const float* dy, float* dx, float* dkernel) {
  const std::size_t F = p.f, K = p.kh * p.kw * p.c;
  if (dkernel) std::fill(dkernel, dkernel + K * F, 0.0f);
#pragma omp parallel if (p.macs() > 1e6)
  {
    std::vector<float> dk(dkernel ? K * F : 0, 0.0f);  // per-thread partial sums
#pragma omp for schedule(static)
    for (std::size_t n = 0; n < p.n; ++n)
      for (std::size_t oy = 0; oy < p.oh; ++oy)
        for (std::size_t ox = 0; ox < p.ow; ++ox) {
          const float* __restrict g = dy + ((n * p.oh + oy) * p.ow + ox) * F;
          for_each_tap(p, n, oy, ox, [&](std::size_t xi, std::size_t ki) {
            for (std::size_t c = 0; c < p.c; ++c) {
              if (dkernel) {
                const float xv = x[xi + c];
                float* __restrict kr = dk.data() + (ki + c) * F;
                for (std::size_t f = 0; f < F; ++f) kr[f] += xv * g[f];
              }
              if (dx) {
                const float* __restrict kr = kernel + (ki + c) * F;
                float s = 0;
                for (std::size_t f = 0; f < F; ++f) s += g[f] * kr[f];
                dx[xi + c] += s;
              }
            }
          });
        }
    if (dkernel) {
#pragma omp critical
      for (std::size_t i = 0; i < K * F; ++i) dkernel[i] += dk[i];
    }
  }
}

}  // namespace

void direct_forward(const Problem& p, const float* x, const float* kernel, const float* bias, float* y) {
  if (small_taps(p)) return small_forward(p, x, kernel, bias, y);
  const std::size_t rows = p.n * p.oh * p.ow, K = p.kh * p.kw * p.c, F = p.f, B = block_rows(p);
  // A 1x1 stride-1 unpadded convolution is a plain GEMM on x.
  const bool pointwise = p.kh == 1 && p.kw == 1 && p.sh == 1 && p.sw == 1 && p.padding == Padding::Valid;
  auto& cols = scratch();
  if (!pointwise) cols.resize(std::min(rows, B) * K);
  for (std::size_t r0 = 0; r0 < rows; r0 += B) {
    const std::size_t r1 = std::min(rows, r0 + B), m = r1 - r0;
    const float* a = x + r0 * K;
    if (!pointwise) {
      im2col(p, x, r0, r1, cols.data());
      a = cols.data();
    }
    float* yb = y + r0 * F;
    if (bias)
      for (std::size_t i = 0; i < m; ++i) std::memcpy(yb + i * F, bias, F * sizeof(float));
    detail::sgemm(false, false, int(m), int(F), int(K), 1.0f, a, int(K), kernel, int(F),
                bias ? 1.0f : 0.0f, yb, int(F));
  }
}

void direct_backward(const Problem& p, const float* x, const float* kernel, const float* dy, float* dx, float* dkernel,
                     float* dbias) {
  const std::size_t rows = p.n * p.oh * p.ow, K = p.kh * p.kw * p.c, F = p.f, B = block_rows(p);
  if (dbias) {
    std::fill(dbias, dbias + F, 0.0f);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t f = 0; f < F; ++f) dbias[f] += dy[r * F + f];
  }
  if (dx) std::fill(dx, dx + p.n * p.h * p.w * p.c, 0.0f);
  if (small_taps(p)) return small_backward(p, x, kernel, dy, dx, dkernel);
  const bool pointwise = p.kh == 1 && p.kw == 1 && p.sh == 1 && p.sw == 1 && p.padding == Padding::Valid;
  auto& cols = scratch();
  AlignedVector<float> dcols;
  if (!pointwise) cols.resize(std::min(rows, B) * K);
  if (dx && !pointwise) dcols.resize(std::min(rows, B) * K);
  for (std::size_t r0 = 0; r0 < rows; r0 += B) {
    const std::size_t r1 = std::min(rows, r0 + B), m = r1 - r0;
    const float* a = x + r0 * K;
    if (!pointwise) {
      im2col(p, x, r0, r1, cols.data());
      a = cols.data();
    }
    const float* g = dy + r0 * F;
    if (dkernel)
      detail::sgemm(true, false, int(K), int(F), int(m), 1.0f, a, int(K), g, int(F),
                  r0 == 0 ? 0.0f : 1.0f, dkernel, int(F));
    if (dx) {
      if (pointwise) {
        detail::sgemm(false, true, int(m), int(K), int(F), 1.0f, g, int(F), kernel, int(F),
                    0.0f, dx + r0 * K, int(K));
      } else {
        detail::sgemm(false, true, int(m), int(K), int(F), 1.0f, g, int(F), kernel, int(F),
                    0.0f, dcols.data(), int(K));
        col2im(p, dcols.data(), r0, r1, dx);
      }
    }
  }
}

}  // namespace fourierconv::conv
