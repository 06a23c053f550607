#include "fourierconv/conv/direct.hpp"


#include <algorithm>
#include <cstring>
#include <vector>

#include "fourierconv/tensor.hpp"
#include "blas.hpp"
#include "simd.hpp"

#include <omp.h>

namespace fourierconv::conv {
namespace {

constexpr std::size_t kMaxColsFloats = std::size_t(4) << 20;  // 16 MB of columns per block
// Rows of the per-thread column chunks: at least this many (sgemm packs the kernel once per
// call: fewer rows would spend more of each call packing), or 1.5 MB of columns; the threads'
// buffers together stay within kMaxColsFloats.
constexpr std::size_t kGemmChunkRows = 512;
constexpr std::size_t kGemmChunkFloats = std::size_t(384) << 10;
// The share of border pixels from which the register-blocked forward copies a padded input
// into a zero border (direct.cpp, zero_bordered).
constexpr double kBorderShare = 0.03;
// Problems below this many multiply-adds run on one thread (a parallel region costs ~2-5 us).
constexpr double kParallelMacs = 2e5;

// Rows [r0, r1) of the im2col matrix (row = (n, oy, ox), col = (u, v, c)); on the team when
// `team` and the rows are many.
void im2col(const Problem& p, const float* x, std::size_t r0, std::size_t r1, float* cols, bool team = true) {
  const std::size_t K = p.kh * p.kw * p.c, ohw = p.oh * p.ow;
#pragma omp parallel for schedule(static) if (team && (r1 - r0) * K > 65536)
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

// The register-blocked direct kernel, used for the forward pass when F <= kBlockedMaxF:
// PX consecutive output pixels x B output channels of accumulators stay in registers over
// all kh*kw*C taps, so each tap costs PX broadcasts, B/8 kernel loads and PX*B/8 FMAs, and
// nothing is copied (no im2col; sgemm spent most of its time packing the narrow im2col
// matrix: 256x256x16 -> 16, 3x3 took 7.3 ms through im2col + sgemm).
constexpr std::size_t kSmallTaps = 32;  // backward uses the pixel loop below this many taps
constexpr std::size_t kBlockedMaxF = 64;
// Pixels per register block: 6 pixels x 16 channels = 12 of the 16 AVX registers.
constexpr std::size_t kPixelBlock = 6;
// With 16 to 31 filters on AVX-512 a pixel's 16 filters are one register: 12 pixels keep 12
// independent FMA chains in flight (two FMA pipes of 4-cycle latency need 8), 14 of the 32
// registers. The 8-float kernel ran such layers at half the FMA width: 1 x 256 x 256 x 16 -> 16,
// 3x3 took 1.9-2.0 ms on a 2-core Zen 5 against 1.6 now.
constexpr std::size_t kWidePixelBlock = 12;

bool small_taps(const Problem& p) { return p.kh * p.kw * p.c <= kSmallTaps; }
bool blocked_forward(const Problem& p) { return p.f <= kBlockedMaxF || small_taps(p); }

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

// One border pixel (some taps fall in the padding), B output channels from f0.
template <std::size_t B>
FC_INLINE void border_pixel_block(const Problem& p, const float* x, const float* kernel, const float* bias, bool relu,
                               std::size_t n, std::size_t oy, std::size_t ox, std::size_t f0, float* out) {
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
  for (std::size_t j = 0; j < B; ++j) out[f0 + j] = relu && acc[j] < 0 ? 0.0f : acc[j];  // NaN passes, as Keras's relu
}

// 8 floats; GCC/Clang map it to one AVX register (two SSE ones without AVX).
typedef float v8f __attribute__((vector_size(32), aligned(32)));

FC_INLINE v8f simd_fma(v8f a, v8f b, v8f c) { return simd::fma(a, b, c); }

FC_INLINE v8f load8(const float* p) { return simd::loadu(p); }

// 16 floats: one AVX-512 register in the x86-64-v4 clones, where simd::wide_vectors() selects
// the kernels that use it.
typedef float v16f __attribute__((vector_size(64), aligned(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4), may_alias));

template <std::size_t W> struct Lanes;
template <> struct Lanes<8> {
  using V = v8f;
  static FC_INLINE V load(const float* p) { return load8(p); }
  static FC_INLINE void store(float* p, V v) { simd::storeu(p, v); }
};
template <> struct Lanes<16> {
  using V = v16f;
  static FC_INLINE V load(const float* p) { return *reinterpret_cast<const v16u*>(p); }
  static FC_INLINE void store(float* p, V v) { *reinterpret_cast<v16u*>(p) = v; }
};

// PX interior pixels (whole windows inside the input), `pstride` floats apart in x: tap t of
// the flattened (u, v, c) window sits at off[t] from a window's corner. B = W * V channels.
template <std::size_t PX, std::size_t V, std::size_t W = 8>
__attribute__((always_inline)) inline void interior_block(const float* xp, std::size_t pstride, const std::ptrdiff_t* off, std::size_t K,
                           const float* kernel, std::size_t F, const float* bias, bool relu, std::size_t f0, float* out) {
  using L = Lanes<W>;
  using VT = typename L::V;
  VT acc[PX][V];
  for (std::size_t j = 0; j < V; ++j) {
    const VT b = bias ? L::load(bias + f0 + W * j) : VT{};
    for (std::size_t q = 0; q < PX; ++q) acc[q][j] = b;
  }
  for (std::size_t t = 0; t < K; ++t) {
    const float* kr = kernel + t * F + f0;
    VT k[V];
    for (std::size_t j = 0; j < V; ++j) k[j] = L::load(kr + W * j);
    const std::ptrdiff_t o = off[t];
    for (std::size_t q = 0; q < PX; ++q) {
      const float xs = xp[q * pstride + o];
      VT xv;
      if constexpr (W == 8)  // one vbroadcastss from memory
        xv = VT{xs, xs, xs, xs, xs, xs, xs, xs};
      else
        xv = VT{xs, xs, xs, xs, xs, xs, xs, xs, xs, xs, xs, xs, xs, xs, xs, xs};
      for (std::size_t j = 0; j < V; ++j) acc[q][j] += xv * k[j];
    }
  }
  if (relu)
    for (std::size_t q = 0; q < PX; ++q)
      for (std::size_t j = 0; j < V; ++j) acc[q][j] = acc[q][j] < 0 ? VT{} : acc[q][j];
  for (std::size_t q = 0; q < PX; ++q)
    for (std::size_t j = 0; j < V; ++j) L::store(out + q * F + f0 + W * j, acc[q][j]);
}

// Fewer than 8 channels left: scalar.
FC_INLINE void interior_scalar(const float* xp, const std::ptrdiff_t* off, std::size_t K, const float* kernel,
                            std::size_t F, const float* bias, bool relu, std::size_t f0, float* out) {
  float acc = bias ? bias[f0] : 0.0f;
  for (std::size_t t = 0; t < K; ++t) acc += xp[off[t]] * kernel[t * F + f0];
  out[f0] = relu && acc < 0 ? 0.0f : acc;
}

template <std::size_t PX>
__attribute__((always_inline)) inline void interior_pixels(const float* xp, std::size_t pstride, const std::ptrdiff_t* off, std::size_t K,
                            const float* kernel, std::size_t F, const float* bias, bool relu, float* out, bool wide) {
  std::size_t f = 0;
  if (wide) {  // AVX-512: 6 pixels x 64 channels are 24 of the 32 registers (12 x 16: BlockedRows::row)
    for (; f + 64 <= F; f += 64) interior_block<PX, 4, 16>(xp, pstride, off, K, kernel, F, bias, relu, f, out);
    for (; f + 32 <= F; f += 32) interior_block<PX, 2, 16>(xp, pstride, off, K, kernel, F, bias, relu, f, out);
    for (; f + 16 <= F; f += 16) interior_block<PX, 1, 16>(xp, pstride, off, K, kernel, F, bias, relu, f, out);
  }
  for (; f + 16 <= F; f += 16) interior_block<PX, 2>(xp, pstride, off, K, kernel, F, bias, relu, f, out);
  for (; f + 8 <= F; f += 8) interior_block<PX, 1>(xp, pstride, off, K, kernel, F, bias, relu, f, out);
  for (; f < F; ++f)
    for (std::size_t q = 0; q < PX; ++q) interior_scalar(xp + q * pstride, off, K, kernel, F, bias, relu, f, out + q * F);
}

// The register-blocked forward, one output row at a time (a row is OW x F floats).
class BlockedRows {
 public:
  BlockedRows(const Problem& p, const float* x, const float* kernel, const float* bias, bool relu)
      : p_(p), x_(x), kernel_(kernel), bias_(bias), relu_(relu), wide_(simd::wide_vectors()), K_(p.kh * p.kw * p.c), offs_(K_) {
    const std::size_t C = p.c;
    for (std::size_t u = 0, t = 0; u < p.kh; ++u)
      for (std::size_t v = 0; v < p.kw; ++v)
        for (std::size_t c = 0; c < C; ++c, ++t) offs_[t] = std::ptrdiff_t(((u * p.dh) * p.w + v * p.dw) * C + c);
    span_h_ = std::ptrdiff_t((p.kh - 1) * p.dh);
    const std::ptrdiff_t span_w = std::ptrdiff_t((p.kw - 1) * p.dw);
    // Output columns whose windows are inside: ox in [ox_lo, ox_hi).
    ox_lo_ = (p.pad_left + p.sw - 1) / p.sw;
    ox_hi_ = 0;
    if (std::ptrdiff_t(p.w) > span_w)
      ox_hi_ = std::min(p.ow, std::size_t((std::ptrdiff_t(p.w) - 1 - span_w + std::ptrdiff_t(p.pad_left)) / std::ptrdiff_t(p.sw)) + 1);
  }

  // Output row (n, oy) -> out (OW x F).
  FC_INLINE void row(std::size_t n, std::size_t oy, float* out) const {
    const Problem& p = p_;
    const std::size_t F = p.f, C = p.c, pstride = p.sw * C;
    const std::ptrdiff_t* off = offs_.data();
    const std::ptrdiff_t y0 = std::ptrdiff_t(oy * p.sh) - std::ptrdiff_t(p.pad_top);
    if (y0 < 0 || y0 + span_h_ >= std::ptrdiff_t(p.h) || ox_hi_ <= ox_lo_) {
      for (std::size_t ox = 0; ox < p.ow; ++ox) border(n, oy, ox, out + ox * F);
      return;
    }
    for (std::size_t ox = 0; ox < ox_lo_; ++ox) border(n, oy, ox, out + ox * F);
    std::size_t ox = ox_lo_;
    const float* corner = x_ + ((n * p.h + std::size_t(y0)) * p.w) * C - std::ptrdiff_t(p.pad_left * C);
    if (wide_ && F >= 16 && F < 32)
      for (; ox + kWidePixelBlock <= ox_hi_; ox += kWidePixelBlock) {
        const float* xp = corner + ox * pstride;
        float* o = out + ox * F;
        interior_block<kWidePixelBlock, 1, 16>(xp, pstride, off, K_, kernel_, F, bias_, relu_, 0, o);
        std::size_t f = 16;  // the rest (< 16 filters) 8 wide, then one at a time
        if (f + 8 <= F) interior_block<kWidePixelBlock, 1>(xp, pstride, off, K_, kernel_, F, bias_, relu_, f, o), f += 8;
        for (; f < F; ++f)
          for (std::size_t q = 0; q < kWidePixelBlock; ++q)
            interior_scalar(xp + q * pstride, off, K_, kernel_, F, bias_, relu_, f, o + q * F);
      }
    for (; ox + kPixelBlock <= ox_hi_; ox += kPixelBlock)
      interior_pixels<kPixelBlock>(corner + ox * pstride, pstride, off, K_, kernel_, F, bias_, relu_, out + ox * F, wide_);
    // The remainder in blocks of 4, 2, 1 (a lone pixel waits on its FMA chain: 4x the time per pixel).
    if (ox + 4 <= ox_hi_) interior_pixels<4>(corner + ox * pstride, pstride, off, K_, kernel_, F, bias_, relu_, out + ox * F, wide_), ox += 4;
    if (ox + 2 <= ox_hi_) interior_pixels<2>(corner + ox * pstride, pstride, off, K_, kernel_, F, bias_, relu_, out + ox * F, wide_), ox += 2;
    if (ox < ox_hi_) interior_pixels<1>(corner + ox * pstride, pstride, off, K_, kernel_, F, bias_, relu_, out + ox * F, wide_), ++ox;
    for (; ox < p.ow; ++ox) border(n, oy, ox, out + ox * F);
  }

 private:
  FC_INLINE void border(std::size_t n, std::size_t oy, std::size_t ox, float* out) const {
    std::size_t f = 0;
    for (; f + 16 <= p_.f; f += 16) border_pixel_block<16>(p_, x_, kernel_, bias_, relu_, n, oy, ox, f, out);
    for (; f + 8 <= p_.f; f += 8) border_pixel_block<8>(p_, x_, kernel_, bias_, relu_, n, oy, ox, f, out);
    for (; f < p_.f; ++f) border_pixel_block<1>(p_, x_, kernel_, bias_, relu_, n, oy, ox, f, out);
  }
  const Problem& p_;
  const float *x_, *kernel_, *bias_;
  bool relu_, wide_;
  std::size_t K_;
  std::vector<std::ptrdiff_t> offs_;
  std::ptrdiff_t span_h_;
  std::size_t ox_lo_, ox_hi_;
};

// A padded problem's input copied into a zero border (a thread's buffer, kept), and the
// unpadded problem on it with the same output: every output pixel then runs the register-blocked
// interior kernel. At the border a pixel ran alone, its FMAs one dependent chain (several times
// slower per pixel): 7% of a 56 x 56 output's pixels cost a third of a 3x3 layer's time, more on
// 14 x 14. Returns x and p itself when p has no padding.
const float* zero_bordered(const Problem& p, const float* x, Problem& q) {
  q = p;
  if (!p.pad_top && !p.pad_bottom && !p.pad_left && !p.pad_right) return x;
  // Only where the border is a sizeable share of the output: on a large image the copy, a pass
  // over memory, cost more than its few border pixels (1 x 256 x 256 x 16 -> 16, 3x3: +5%).
  const double inner_h = double(p.h) - double(p.pad_top + p.pad_bottom) / double(p.sh);
  const double inner_w = double(p.w) - double(p.pad_left + p.pad_right) / double(p.sw);
  if (inner_h > 0 && inner_w > 0 && 1.0 - inner_h * inner_w / (double(p.h) * double(p.w)) < kBorderShare) return x;
  const std::size_t H = p.h + p.pad_top + p.pad_bottom, W = p.w + p.pad_left + p.pad_right, C = p.c;
  const Problem v = Problem::make(p.n, H, W, C, p.f, p.kh, p.kw, p.sh, p.sw, p.dh, p.dw, Padding::Valid);
  if (v.oh != p.oh || v.ow != p.ow) return x;
  thread_local AlignedVector<float> buf;
  buf.resize(p.n * H * W * C);
  float* const b = buf.data();  // workers must not name the calling thread's `buf`
#pragma omp parallel for schedule(static) collapse(2) if (p.n * H * W * C > 65536)
  for (std::size_t n = 0; n < p.n; ++n)
    for (std::size_t r = 0; r < H; ++r) {
      float* dst = b + (n * H + r) * W * C;
      if (r < p.pad_top || r >= p.pad_top + p.h) {
        std::fill(dst, dst + W * C, 0.0f);
        continue;
      }
      std::fill(dst, dst + p.pad_left * C, 0.0f);
      std::memcpy(dst + p.pad_left * C, x + (n * p.h + (r - p.pad_top)) * p.w * C, p.w * C * sizeof(float));
      std::fill(dst + (p.pad_left + p.w) * C, dst + W * C, 0.0f);
    }
  q = v;
  return b;
}

FC_MULTIVERSION void blocked_forward_impl(const Problem& p0, const float* x0, const float* kernel, const float* bias, bool relu, float* y) {
  Problem p;
  const float* x = zero_bordered(p0, x0, p);
  const BlockedRows rows(p, x, kernel, bias, relu);
#pragma omp parallel for schedule(static) collapse(2) if (p.macs() > kParallelMacs)
  for (std::size_t n = 0; n < p.n; ++n)
    for (std::size_t oy = 0; oy < p.oh; ++oy) rows.row(n, oy, y + (n * p.oh + oy) * p.ow * p.f);
}

// dk[g][f] += sum_{ox in [ox0, ox1)} xg[g][ox * xs] * dz[ox][f] for G taps at once, F = 8 * V
// channels from f0: G x V accumulators stay in registers over the row (G = 2 at V = 4: 8
// accumulators, 4 dz loads and 2 broadcasts per 8 FMAs).
template <std::size_t G, std::size_t V>
FC_INLINE void kernel_grad_taps(const float* const* xg, std::size_t xs, const float* dz, std::size_t F, std::size_t f0,
                             std::size_t ox0, std::size_t ox1, float* const* dkg) {
  v8f acc[G][V] = {};
  for (std::size_t ox = ox0; ox < ox1; ++ox) {
    v8f d[V];
    for (std::size_t j = 0; j < V; ++j) d[j] = load8(dz + ox * F + f0 + 8 * j);
    for (std::size_t g = 0; g < G; ++g) {
      const float xs1 = xg[g][ox * xs];
      const v8f xv = {xs1, xs1, xs1, xs1, xs1, xs1, xs1, xs1};
      for (std::size_t j = 0; j < V; ++j) acc[g][j] = simd_fma(xv, d[j], acc[g][j]);
    }
  }
  for (std::size_t g = 0; g < G; ++g)
    for (std::size_t j = 0; j < V; ++j) {
      float* k = dkg[g] + f0 + 8 * j;
      simd::storeu(k, load8(k) + acc[g][j]);
    }
}

// The output columns whose tap (v) reads inside the input: [lo, hi).
FC_INLINE std::pair<std::size_t, std::size_t> tap_columns(const Problem& p, std::size_t v) {
  const std::ptrdiff_t off = std::ptrdiff_t(v * p.dw) - std::ptrdiff_t(p.pad_left), s = std::ptrdiff_t(p.sw);
  const std::ptrdiff_t lo = off >= 0 ? 0 : (-off + s - 1) / s;
  const std::ptrdiff_t hi_excl = std::ptrdiff_t(p.w) - off <= 0 ? 0 : (std::ptrdiff_t(p.w) - 1 - off) / s + 1;
  const std::size_t hi = std::size_t(std::min<std::ptrdiff_t>(std::ptrdiff_t(p.ow), hi_excl));
  return {std::size_t(std::min<std::ptrdiff_t>(lo, std::ptrdiff_t(hi))), hi};
}

// Groups of G taps of one kernel row u (taps t = (u, v, c) in order) over one output row.
template <std::size_t G, std::size_t V>
FC_INLINE void kernel_grad_row(const Problem& p, const float* x, std::size_t n, std::size_t iy, std::size_t u, const float* dz,
                     std::size_t f0, float* dk) {
  const std::size_t C = p.c, F = p.f, taps = p.kw * C, xs = p.sw * C;
  for (std::size_t t0 = 0; t0 < taps; t0 += G) {
    const std::size_t g_n = std::min(G, taps - t0);
    const float* xg[G];
    float* dkg[G];
    std::size_t lo = 0, hi = p.ow;
    for (std::size_t g = 0; g < g_n; ++g) {
      const std::size_t v = (t0 + g) / C, c = (t0 + g) % C;
      auto [l, h] = tap_columns(p, v);
      lo = std::max(lo, l);
      hi = std::min(hi, h);
      // The pointer of output column 0; only columns in [l, h) are read.
      xg[g] = x + ((n * p.h + iy) * p.w) * C + c + std::ptrdiff_t(v * p.dw * C) - std::ptrdiff_t(p.pad_left * C);
      dkg[g] = dk + ((u * p.kw + v) * C + c) * F;
    }
    if (g_n == G && lo < hi) {
      kernel_grad_taps<G, V>(xg, xs, dz, F, f0, lo, hi, dkg);
    } else {
      lo = hi = 0;
    }
    // What the common range left out, tap by tap.
    for (std::size_t g = 0; g < g_n; ++g) {
      auto [l, h] = tap_columns(p, (t0 + g) / C);
      const float* xp1[1] = {xg[g]};
      float* dk1[1] = {dkg[g]};
      if (lo < hi) {
        if (l < lo) kernel_grad_taps<1, V>(xp1, xs, dz, F, f0, l, lo, dk1);
        if (hi < h) kernel_grad_taps<1, V>(xp1, xs, dz, F, f0, hi, h, dk1);
      } else if (l < h) {
        kernel_grad_taps<1, V>(xp1, xs, dz, F, f0, l, h, dk1);
      }
    }
  }
}

template <std::size_t V>
FC_INLINE void kernel_grad_row_blocks(const Problem& p, const float* x, std::size_t n, std::size_t iy, std::size_t u,
                            const float* dz, std::size_t f0, float* dk) {
  if constexpr (V >= 3) kernel_grad_row<2, V>(p, x, n, iy, u, dz, f0, dk);
  else if constexpr (V == 2) kernel_grad_row<4, V>(p, x, n, iy, u, dz, f0, dk);
  else kernel_grad_row<8, V>(p, x, n, iy, u, dz, f0, dk);
}

// The backward pass for small kernels (kh*kw*C <= kSmallTaps), one output row at a time:
// dz = dy (or dy * (y > 0) for a fused relu) is formed once per row in a small buffer, then
// the bias gradient, the kernel gradient (register-blocked over taps and filters) and the
// input gradient read it from L1. Images are split across the team (dx rows of one image
// overlap); each thread sums its kernel and bias gradients privately, then they are added.
FC_MULTIVERSION void small_backward(const Problem& p, const float* x, const float* kernel, const float* dy, const float* relu_y, float* dx,
                    float* dkernel, float* dbias) {
  const std::size_t F = p.f, K = p.kh * p.kw * p.c, Fv = F / 8 * 8;
  const bool parallel = p.macs() > kParallelMacs && p.n > 1;
  const int threads = parallel ? omp_get_max_threads() : 1;
  thread_local AlignedVector<float> partial;  // the calling thread's: (threads) x (K*F + F)
  const std::size_t stride = (K * F + F + 15) / 16 * 16;
  partial.assign(std::size_t(threads) * stride, 0.0f);
  float* const parts = partial.data();
#pragma omp parallel num_threads(threads) if (parallel)
  {
    float* dk = parts + std::size_t(omp_get_thread_num()) * stride;
    float* db = dk + K * F;
    thread_local AlignedVector<float> row;
    row.resize(p.ow * F + 8);
#pragma omp for schedule(static)
    for (std::size_t n = 0; n < p.n; ++n)
      for (std::size_t oy = 0; oy < p.oh; ++oy) {
        const std::size_t o = (n * p.oh + oy) * p.ow * F, len = p.ow * F;
        const float* dz = dy + o;
        if (relu_y) {  // both operands loaded: a conditional load became vmaskmovps, slow here
          float* r = row.data();
          std::size_t i = 0;
          for (; i + 8 <= len; i += 8) {
            const v8f yv = load8(relu_y + o + i), dv = load8(dy + o + i);
            simd::storeu(r + i, yv > 0 ? dv : v8f{});
          }
          for (; i < len; ++i) r[i] = relu_y[o + i] > 0 ? dy[o + i] : 0.0f;
          dz = r;
        }
        if (dbias) {
          std::size_t f = 0;
          for (; f + 8 <= F; f += 8) {
            v8f acc{};
            for (std::size_t ox = 0; ox < p.ow; ++ox) acc += load8(dz + ox * F + f);
            simd::storeu(db + f, load8(db + f) + acc);
          }
          for (; f < F; ++f) {
            float acc = 0;
            for (std::size_t ox = 0; ox < p.ow; ++ox) acc += dz[ox * F + f];
            db[f] += acc;
          }
        }
        for (std::size_t u = 0; u < p.kh; ++u) {
          const std::ptrdiff_t iy = std::ptrdiff_t(oy * p.sh + u * p.dh) - std::ptrdiff_t(p.pad_top);
          if (iy < 0 || iy >= std::ptrdiff_t(p.h)) continue;
          if (dkernel) {
            std::size_t f = 0;
            for (; f + 32 <= Fv; f += 32) kernel_grad_row_blocks<4>(p, x, n, std::size_t(iy), u, dz, f, dk);
            if (f + 16 <= Fv) kernel_grad_row_blocks<2>(p, x, n, std::size_t(iy), u, dz, f, dk), f += 16;
            if (f + 8 <= Fv) kernel_grad_row_blocks<1>(p, x, n, std::size_t(iy), u, dz, f, dk), f += 8;
            for (; f < F; ++f)  // fewer than 8 filters left
              for (std::size_t v = 0; v < p.kw; ++v) {
                auto [lo, hi] = tap_columns(p, v);
                for (std::size_t ox = lo; ox < hi; ++ox) {
                  const float* xp = x + ((n * p.h + std::size_t(iy)) * p.w + (ox * p.sw + v * p.dw - p.pad_left)) * p.c;
                  float* kr = dk + (u * p.kw + v) * p.c * F + f;
                  for (std::size_t c = 0; c < p.c; ++c) kr[c * F] += xp[c] * dz[ox * F + f];
                }
              }
          }
          if (dx)
            for (std::size_t v = 0; v < p.kw; ++v) {
              auto [lo, hi] = tap_columns(p, v);
              const float* kr = kernel + (u * p.kw + v) * p.c * F;
              for (std::size_t ox = lo; ox < hi; ++ox) {
                float* d = dx + ((n * p.h + std::size_t(iy)) * p.w + (ox * p.sw + v * p.dw - p.pad_left)) * p.c;
                const float* g = dz + ox * F;
                for (std::size_t c = 0; c < p.c; ++c) {
                  float s = 0;
                  for (std::size_t f = 0; f < F; ++f) s += g[f] * kr[c * F + f];
                  d[c] += s;
                }
              }
            }
        }
      }
  }
  for (int t = 1; t < threads; ++t)
    for (std::size_t i = 0; i < K * F + F; ++i) parts[i] += parts[std::size_t(t) * stride + i];
  if (dkernel) std::copy(parts, parts + K * F, dkernel);
  if (dbias) std::copy(parts + K * F, parts + K * F + F, dbias);
}

}  // namespace

bool direct_forward_is_blocked(const Problem& p) { return blocked_forward(p); }
bool direct_forward_is_wide(const Problem& p) { return blocked_forward(p) && p.f >= 16 && simd::wide_vectors(); }

void direct_forward(const Problem& p, const float* x, const float* kernel, const float* bias, float* y, bool relu) {
  if (blocked_forward(p)) return blocked_forward_impl(p, x, kernel, bias, relu, y);
  const std::size_t rows = p.n * p.oh * p.ow, K = p.kh * p.kw * p.c, F = p.f, B = block_rows(p);
  // A 1x1 stride-1 unpadded convolution is a plain GEMM on x.
  const bool pointwise = p.kh == 1 && p.kw == 1 && p.sh == 1 && p.sw == 1 && p.padding == Padding::Valid;
  const int threads = omp_in_parallel() || p.macs() < kParallelMacs ? 1 : omp_get_max_threads();
  // At least kGemmChunkRows rows, unless the threads' buffers together would pass the blocks'
  // 16 MB (a 3x3 layer of 2048 channels: 113 rows of 18,432 columns per thread).
  const std::size_t min_rows = std::min(kGemmChunkRows, std::max<std::size_t>(1, kMaxColsFloats / std::size_t(threads) / K));
  const std::size_t chunk = std::max(min_rows, kGemmChunkFloats / K), chunks = (rows + chunk - 1) / chunk;
  auto rows_out = [&](const float* a, std::size_t r0, std::size_t r1) {  // y rows [r0, r1) on this thread
    float* yb = y + r0 * F;
    if (bias)
      for (std::size_t i = r0; i < r1; ++i) std::memcpy(y + i * F, bias, F * sizeof(float));
    detail::sgemm(false, false, int(r1 - r0), int(F), int(K), 1.0f, a, int(K), kernel, int(F), bias ? 1.0f : 0.0f, yb, int(F));
    if (relu)
      for (std::size_t i = 0; i < (r1 - r0) * F; ++i) yb[i] = yb[i] < 0 ? 0.0f : yb[i];  // NaN passes
  };
  if (!pointwise && chunks >= 4 * std::size_t(threads)) {
    // Many rows: each thread builds the columns of a chunk of rows in its own buffer (1.5 MB
    // where the kernel is small) and multiplies them at once (one im2col block of 16 MB
    // written to memory, then read back by sgemm, cost a 28x28x128 3x3 layer at batch 32 a
    // third of its time).
#pragma omp parallel num_threads(threads)
    {
      thread_local AlignedVector<float> own;
      own.resize(chunk * K);
      float* const cols = own.data();
#pragma omp for schedule(dynamic, 1)
      for (std::size_t c = 0; c < chunks; ++c) {
        const std::size_t r0 = c * chunk, r1 = std::min(rows, r0 + chunk);
        im2col(p, x, r0, r1, cols, false);
        rows_out(cols, r0, r1);
      }
    }
    return;
  }
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
    detail::sgemm_rows(false, int(m), int(F), int(K), 1.0f, a, int(K), kernel, int(F), bias ? 1.0f : 0.0f, yb, int(F));
  }
  if (relu) {
    float* const out = y;
#pragma omp parallel for schedule(static) num_threads(threads) if (rows * F > 65536)
    for (std::size_t i = 0; i < rows * F; ++i) out[i] = out[i] < 0 ? 0.0f : out[i];
  }
}

// The maximum over each ph x pw window of conv rows (row floats apart) -> PW pixels of F
// channels; NaN wins, as in MaxPooling2D. PH, PW > 0 fix the window at compile time (2 x 2).
template <std::size_t W, std::size_t PH, std::size_t PW>
FC_INLINE std::size_t pool_lanes(const float* first, std::size_t F, std::size_t row, std::size_t ph, std::size_t pw,
                                 float* out) {
  using L = Lanes<W>;
  using VT = typename L::V;
  const std::size_t h = PH ? PH : ph, w = PW ? PW : pw;
  std::size_t f = 0;
  for (; f + W <= F; f += W) {
    VT m = L::load(first + f);
    for (std::size_t u = 0; u < h; ++u)
      for (std::size_t v = u == 0 ? 1 : 0; v < w; ++v) {
        const VT c = L::load(first + u * row + v * F + f);
        m = (c > m || c != c) ? c : m;
      }
    L::store(out + f, m);
  }
  return f;
}

template <std::size_t PH, std::size_t PW>
FC_INLINE void pool_rows(const float* buf, std::size_t npx, std::size_t F, std::size_t row, std::size_t ph,
                         std::size_t pw, float* out) {
  for (std::size_t px = 0; px < npx; ++px) {
    const float* first = buf + px * pw * F;
    float* o = out + px * F;
    // 8-float vectors (16-float ones: GCC 12 compiled their NaN test lane by lane in the clones)
    std::size_t f = pool_lanes<8, PH, PW>(first, F, row, ph, pw, o);
    for (; f < F; ++f) {
      float m = first[f];
      for (std::size_t u = 0; u < ph; ++u)
        for (std::size_t v = 0; v < pw; ++v) {
          const float c = first[u * row + v * F + f];
          m = (c > m || c != c) ? c : m;
        }
      o[f] = m;
    }
  }
}

FC_MULTIVERSION bool direct_forward_max_pool(const Problem& p, std::size_t ph, std::size_t pw, const float* x, const float* kernel,
                             const float* bias, bool relu, float* y) {
  if (!blocked_forward(p) || ph == 0 || pw == 0 || ph > p.oh || pw > p.ow) return false;
  const std::size_t PH = p.oh / ph, PW = p.ow / pw, F = p.f, row = p.ow * F;
  Problem q;
  const float* xq = zero_bordered(p, x, q);
  const BlockedRows rows(q, xq, kernel, bias, relu);
#pragma omp parallel if (p.macs() > kParallelMacs)
  {
    thread_local AlignedVector<float> buf;  // ph conv rows, in L1/L2
    buf.resize(ph * row);
#pragma omp for schedule(static) collapse(2)
    for (std::size_t n = 0; n < p.n; ++n)
      for (std::size_t py = 0; py < PH; ++py) {
        for (std::size_t u = 0; u < ph; ++u) rows.row(n, py * ph + u, buf.data() + u * row);
        float* out = y + (n * PH + py) * PW * F;
        const float* rows_buf = buf.data();
        if (ph == 2 && pw == 2)
          pool_rows<2, 2>(rows_buf, PW, F, row, 2, 2, out);
        else
          pool_rows<0, 0>(rows_buf, PW, F, row, ph, pw, out);
      }
  }
  return true;
}

void direct_backward(const Problem& p, const float* x, const float* kernel, const float* dy, float* dx, float* dkernel,
                     float* dbias, const float* relu_y) {
  const std::size_t rows = p.n * p.oh * p.ow, K = p.kh * p.kw * p.c, F = p.f, B = block_rows(p);
  if (dx) std::fill(dx, dx + p.n * p.h * p.w * p.c, 0.0f);
  if (small_taps(p)) return small_backward(p, x, kernel, dy, relu_y, dx, dkernel, dbias);
  thread_local AlignedVector<float> masked;
  if (relu_y) {
    masked.resize(rows * F);
    for (std::size_t i = 0; i < rows * F; ++i) masked[i] = relu_y[i] > 0 ? dy[i] : 0.0f;
    dy = masked.data();
  }
  if (dbias) {
    std::fill(dbias, dbias + F, 0.0f);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t f = 0; f < F; ++f) dbias[f] += dy[r * F + f];
  }
  const bool pointwise = p.kh == 1 && p.kw == 1 && p.sh == 1 && p.sw == 1 && p.padding == Padding::Valid;
  auto& cols = scratch();
  static thread_local AlignedVector<float> dcols;  // reused across calls
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
      detail::sgemm_tn_reduce(int(K), int(F), int(m), 1.0f, a, int(K), g, int(F), r0 == 0 ? 0.0f : 1.0f, dkernel, int(F));
    if (dx) {
      if (pointwise) {
        detail::sgemm_rows(true, int(m), int(K), int(F), 1.0f, g, int(F), kernel, int(F), 0.0f, dx + r0 * K, int(K));
      } else {
        detail::sgemm_rows(true, int(m), int(K), int(F), 1.0f, g, int(F), kernel, int(F), 0.0f, dcols.data(), int(K));
        col2im(p, dcols.data(), r0, r1, dx);
      }
    }
  }
}

}  // namespace fourierconv::conv
