#include "fourierconv/conv/winograd.hpp"

#include <algorithm>
#include <cstring>

#include "fourierconv/error.hpp"
#include "fourierconv/tensor.hpp"
#include "simd.hpp"

#include <omp.h>

namespace fourierconv::conv {
namespace {

constexpr std::size_t kXi = 36;  // transformed positions of a tile: 6 x 6
// Tiles per GEMM register block: 12 accumulators of one vector each (two FMA pipes of 4-cycle
// latency need 8 chains in flight), 14 registers with the kernel's vector and the broadcast.
constexpr std::size_t kRegTiles = 12;
// Tiles per block of work: their transformed inputs and products (36 (Cp + Fp) floats a tile)
// stay within about this many bytes of L2, but at least kMinBlockTiles, so that each of U's
// rows, read from memory for a wide layer, feeds that many tiles.
constexpr std::size_t kBlockBytes = std::size_t(512) << 10;
constexpr std::size_t kMinBlockTiles = 24;
// Problems below this many multiply-adds (of the direct sum) run on one thread.
constexpr double kParallelMacs = 2e5;

typedef float v16 __attribute__((vector_size(64), aligned(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4), may_alias));
typedef float v8 __attribute__((vector_size(32), aligned(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));

template <std::size_t W> struct Lanes;
template <> struct Lanes<16> {
  using V = v16;
  static FC_INLINE V load(const float* p) { return *reinterpret_cast<const v16u*>(p); }
  static FC_INLINE void store(float* p, V v) { *reinterpret_cast<v16u*>(p) = v; }
};
template <> struct Lanes<8> {
  using V = v8;
  static FC_INLINE V load(const float* p) { return *reinterpret_cast<const v8u*>(p); }
  static FC_INLINE void store(float* p, V v) { *reinterpret_cast<v8u*>(p) = v; }
};

// r = B^T d for one column (or row) of a 6 x 6 tile (Lavin and Gray's B^T for F(4, 3)):
//   [4  0 -5  0  1  0]   [0 -4 -4  1  1  0]   [0  4 -4 -1  1  0]
//   [0 -2 -1  2  1  0]   [0  2 -1 -2  1  0]   [0  4  0 -5  0  1]
template <class V>
FC_INLINE void bt6(const V d[6], V r[6]) {
  const V a = d[4] - 4.0f * d[2], b = d[3] - 4.0f * d[1];
  const V e = d[4] - d[2], h = 2.0f * (d[3] - d[1]);
  r[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];
  r[1] = a + b;
  r[2] = a - b;
  r[3] = e + h;
  r[4] = e - h;
  r[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];
}

// o = A^T m (A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]).
template <class V>
FC_INLINE void at6(const V m[6], V o[4]) {
  const V s1 = m[1] + m[2], d1 = m[1] - m[2], s2 = m[3] + m[4], d2 = m[3] - m[4];
  o[0] = m[0] + s1 + s2;
  o[1] = d1 + 2.0f * d2;
  o[2] = s1 + 4.0f * s2;
  o[3] = d1 + 8.0f * d2 + m[5];
}

// U[xi][c][f] = (G g G^T)[xi] for g = kernel[:, :, c, f], G = [1/4 0 0; -1/6 -1/6 -1/6;
// -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]; f padded to Fp with zeros. 16 filters
// at a time (contiguous in Keras's layout): the fixed-length inner loops vectorize, where a
// loop over single filters ran scalar at 1.6-3.6 ns per transformed float.
constexpr std::size_t kKernelLanes = 16;

FC_INLINE void g6(const float* g0, const float* g1, const float* g2, float* const o[6]) {
  for (std::size_t j = 0; j < kKernelLanes; ++j) {
    const float a = g0[j], b = g1[j], c = g2[j];
    o[0][j] = a * 0.25f;
    o[1][j] = -(a + b + c) * (1.0f / 6);
    o[2][j] = -(a - b + c) * (1.0f / 6);
    o[3][j] = a * (1.0f / 24) + b * (1.0f / 12) + c * (1.0f / 6);
    o[4][j] = a * (1.0f / 24) - b * (1.0f / 12) + c * (1.0f / 6);
    o[5][j] = c;
  }
}

FC_MULTIVERSION void transform_kernel(const Problem& p, const float* kernel, std::size_t Fp, float* U) {
  const std::size_t C = p.c, F = p.f;
#pragma omp parallel for schedule(static) if (kXi * C * F > 50000 && !omp_in_parallel())
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t f0 = 0; f0 < Fp; f0 += kKernelLanes) {
      const std::size_t n = f0 < F ? std::min(kKernelLanes, F - f0) : 0;
      alignas(64) float g[9][kKernelLanes] = {};  // zeros past F: U's padding lanes come out 0
      for (std::size_t t = 0; t < 9; ++t)  // constant-length copies where the lanes are full
        if (n == kKernelLanes) std::memcpy(g[t], kernel + (t * C + c) * F + f0, sizeof g[t]);
        else std::memcpy(g[t], kernel + (t * C + c) * F + f0, n * sizeof(float));
      alignas(64) float t6[6][3][kKernelLanes];  // G g: column v of g through G
      for (std::size_t v = 0; v < 3; ++v) {
        float* const o[6] = {t6[0][v], t6[1][v], t6[2][v], t6[3][v], t6[4][v], t6[5][v]};
        g6(g[v], g[3 + v], g[6 + v], o);
      }
      alignas(64) float u[kXi][kKernelLanes];  // (G g) G^T: row i through G
      for (std::size_t i = 0; i < 6; ++i) {
        float* const o[6] = {u[i * 6], u[i * 6 + 1], u[i * 6 + 2], u[i * 6 + 3], u[i * 6 + 4], u[i * 6 + 5]};
        g6(t6[i][0], t6[i][1], t6[i][2], o);
      }
      // A copy of constant length where the lanes are full (one vector store, not rep movs).
      if (f0 + kKernelLanes <= Fp)
        for (std::size_t xi = 0; xi < kXi; ++xi) std::memcpy(U + (xi * C + c) * Fp + f0, u[xi], sizeof u[xi]);
      else
        for (std::size_t xi = 0; xi < kXi; ++xi) std::memcpy(U + (xi * C + c) * Fp + f0, u[xi], (Fp - f0) * sizeof(float));
    }
}

// What the blocks share.
struct Plan {
  const Problem* p;
  const float *x, *U, *bias;  // bias: Fp floats (zeros past F, or all zeros without a bias)
  float* y;
  bool relu;
  std::size_t W, Cp, Fp, th, tw, tiles, T, blocks, threads;
};

// One tile's B^T d B: d read at base + i * rs + j * cs (i, j < 6) over channels [0, Cp) in steps
// of W; written to v + xi * vs (+ channel).
template <std::size_t W>
FC_INLINE void input_tile(const float* base, std::size_t rs, std::size_t cs, std::size_t Cp, float* v, std::size_t vs) {
  using L = Lanes<W>;
  using V = typename L::V;
  for (std::size_t cv = 0; cv < Cp; cv += W) {
    V t[6][6];
    for (std::size_t j = 0; j < 6; ++j) {
      V d[6], r[6];
      for (std::size_t i = 0; i < 6; ++i) d[i] = L::load(base + i * rs + j * cs + cv);
      bt6(d, r);
      for (std::size_t i = 0; i < 6; ++i) t[i][j] = r[i];
    }
    for (std::size_t i = 0; i < 6; ++i) {
      V r[6];
      bt6(t[i], r);
      for (std::size_t j = 0; j < 6; ++j) L::store(v + (i * 6 + j) * vs + cv, r[j]);
    }
  }
}

// The 6 x 6 x Cp input tile at (n, iy0, ix0) copied into d, zeros outside the input and past C.
FC_INLINE void gather_tile(const Problem& p, const float* x, std::size_t n, std::ptrdiff_t iy0, std::ptrdiff_t ix0,
                           std::size_t Cp, float* d) {
  const std::size_t C = p.c;
  for (std::size_t i = 0; i < 6; ++i)
    for (std::size_t j = 0; j < 6; ++j) {
      float* dst = d + (i * 6 + j) * Cp;
      const std::ptrdiff_t iy = iy0 + std::ptrdiff_t(i), ix = ix0 + std::ptrdiff_t(j);
      if (iy < 0 || ix < 0 || iy >= std::ptrdiff_t(p.h) || ix >= std::ptrdiff_t(p.w)) {
        std::fill(dst, dst + Cp, 0.0f);
        continue;
      }
      std::memcpy(dst, x + ((n * p.h + std::size_t(iy)) * p.w + std::size_t(ix)) * C, C * sizeof(float));
      std::fill(dst + C, dst + Cp, 0.0f);
    }
}

// m[r][0, NV W) = sum_c v[r][c] u[c][0, NV W) for R tiles (v: tile stride vs; u: row stride
// Fp; m: tile stride ms): R x NV accumulators, each broadcast of v feeding NV FMAs.
template <std::size_t W, std::size_t R, std::size_t NV>
FC_INLINE void gemm_tiles(const float* v, std::size_t vs, std::size_t C, const float* u, std::size_t Fp, float* m,
                          std::size_t ms) {
  using L = Lanes<W>;
  using V = typename L::V;
  V acc[R][NV];
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t j = 0; j < NV; ++j) acc[r][j] = V{};
  for (std::size_t c = 0; c < C; ++c) {
    V uc[NV];
    for (std::size_t j = 0; j < NV; ++j) uc[j] = L::load(u + c * Fp + j * W);
    for (std::size_t r = 0; r < R; ++r) {
      // A broadcast FMA operand. Written here, not in a helper nor as simd.hpp's `V{} + x`:
      // a helper's initializer is lowered lane by lane (masked broadcasts) before it is
      // inlined, and V{} + x adds +0.0 first; either tripled this loop's instructions.
      const float x = v[r * vs + c];
      V xv;
      if constexpr (W == 8)
        xv = V{x, x, x, x, x, x, x, x};
      else
        xv = V{x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
      for (std::size_t j = 0; j < NV; ++j) acc[r][j] += xv * uc[j];
    }
  }
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t j = 0; j < NV; ++j) L::store(m + r * ms + j * W, acc[r][j]);
}

// All nt tiles of one transformed position xi, filters [fv, fv + NV W).
template <std::size_t W, std::size_t NV>
FC_INLINE void gemm_position(const float* vx, std::size_t Cp, std::size_t C, const float* ux, std::size_t Fp, float* mx,
                             std::size_t nt) {
  // 12 x 1 or 12 x 2 accumulators in AVX-512's 32 registers, 12 x 1 or 6 x 2 in AVX2's 16.
  constexpr std::size_t R = (W == 16 || NV == 1) ? kRegTiles : kRegTiles / 2;
  const std::size_t vs = kXi * Cp, ms = kXi * Fp;
  std::size_t k = 0;
  for (; k + R <= nt; k += R) gemm_tiles<W, R, NV>(vx + k * vs, vs, C, ux, Fp, mx + k * ms, ms);
  for (; k + 4 <= nt; k += 4) gemm_tiles<W, 4, NV>(vx + k * vs, vs, C, ux, Fp, mx + k * ms, ms);
  for (; k < nt; ++k) gemm_tiles<W, 1, NV>(vx + k * vs, vs, C, ux, Fp, mx + k * ms, ms);
}

// One tile's A^T m A + bias (then relu) for the filters [fv, fv + lanes), stored at y (rows x
// cols outputs of the tile that fall inside the output; ys floats between rows, F between
// pixels).
template <std::size_t W>
FC_INLINE void output_tile(const float* m, std::size_t ms, typename Lanes<W>::V bias, bool relu, float* y, std::size_t ys,
                           std::size_t F, std::size_t rows, std::size_t cols, std::size_t lanes) {
  using L = Lanes<W>;
  using V = typename L::V;
  V t[4][6];
  for (std::size_t j = 0; j < 6; ++j) {
    V c[6], o[4];
    for (std::size_t i = 0; i < 6; ++i) c[i] = L::load(m + (i * 6 + j) * ms);
    at6(c, o);
    for (std::size_t i = 0; i < 4; ++i) t[i][j] = o[i];
  }
  for (std::size_t i = 0; i < rows; ++i) {
    V o[4];
    at6(t[i], o);
    for (std::size_t j = 0; j < cols; ++j) {
      V r = o[j] + bias;
      if (relu) r = r < 0 ? V{} : r;  // NaN passes, as Keras's relu
      float* dst = y + i * ys + j * F;
      if (lanes == W) {
        L::store(dst, r);
      } else {
        alignas(64) float tmp[W];
        L::store(tmp, r);
        std::memcpy(dst, tmp, lanes * sizeof(float));
      }
    }
  }
}

// Block b: tiles [b T, b T + T) in (n, tile row, tile column) order: their input transforms,
// the 36 GEMMs, their output transforms. The thread's buffers are tile-major: v[tile][xi][Cp]
// and m[tile][xi][Fp] (each transform reads or writes one contiguous 36-row block; a GEMM of
// position xi reads row xi of each tile).
template <std::size_t W>
FC_INLINE void run_block(const Plan& s, std::size_t b) {
  using L = Lanes<W>;
  const Problem& p = *s.p;
  const std::size_t C = p.c, F = p.f, Cp = s.Cp, Fp = s.Fp, T = s.T;
  const std::size_t t0 = b * T, nt = std::min(T, s.tiles - t0);
  thread_local AlignedVector<float> vbuf, mbuf, dbuf;
  vbuf.resize(kXi * T * Cp);
  mbuf.resize(kXi * T * Fp);
  dbuf.resize(kXi * Cp);
  float *const v = vbuf.data(), *const m = mbuf.data(), *const d = dbuf.data();
  const bool in_place = C % W == 0;  // interior tiles read straight from x
  for (std::size_t k = 0; k < nt; ++k) {
    const std::size_t t = t0 + k, n = t / (s.th * s.tw), ty = t / s.tw % s.th, tx = t % s.tw;
    const std::ptrdiff_t iy0 = std::ptrdiff_t(ty * 4) - std::ptrdiff_t(p.pad_top);
    const std::ptrdiff_t ix0 = std::ptrdiff_t(tx * 4) - std::ptrdiff_t(p.pad_left);
    const bool inside = iy0 >= 0 && ix0 >= 0 && iy0 + 6 <= std::ptrdiff_t(p.h) && ix0 + 6 <= std::ptrdiff_t(p.w);
    if (inside && in_place) {
      input_tile<W>(s.x + ((n * p.h + std::size_t(iy0)) * p.w + std::size_t(ix0)) * C, p.w * C, C, Cp, v + k * kXi * Cp, Cp);
    } else {
      gather_tile(p, s.x, n, iy0, ix0, Cp, d);
      input_tile<W>(d, 6 * Cp, Cp, Cp, v + k * kXi * Cp, Cp);
    }
  }
  for (std::size_t xi = 0; xi < kXi; ++xi) {
    const float* vx = v + xi * Cp;
    float* mx = m + xi * Fp;
    const float* ux = s.U + xi * C * Fp;
    std::size_t fv = 0;
    for (; fv + 2 * W <= Fp; fv += 2 * W) gemm_position<W, 2>(vx, Cp, C, ux + fv, Fp, mx + fv, nt);
    if (fv < Fp) gemm_position<W, 1>(vx, Cp, C, ux + fv, Fp, mx + fv, nt);
  }
  for (std::size_t k = 0; k < nt; ++k) {
    const std::size_t t = t0 + k, n = t / (s.th * s.tw), ty = t / s.tw % s.th, tx = t % s.tw;
    const std::size_t oy0 = ty * 4, ox0 = tx * 4, rows = std::min<std::size_t>(4, p.oh - oy0),
                      cols = std::min<std::size_t>(4, p.ow - ox0);
    float* yt = s.y + ((n * p.oh + oy0) * p.ow + ox0) * F;
    for (std::size_t fv = 0; fv < Fp; fv += W)
      output_tile<W>(m + k * kXi * Fp + fv, Fp, L::load(s.bias + fv), s.relu, yt + fv, p.ow * F, F, rows, cols,
                     std::min(W, F - fv));
  }
}

#if FC_WIDE_COMPILED
FC_TARGET_V4 void run_block_wide(const Plan& s, std::size_t b) { run_block<16>(s, b); }
#endif
FC_MULTIVERSION_BELOW_V4 void run_block_narrow(const Plan& s, std::size_t b) { run_block<8>(s, b); }

// Tiles per block for p, with Cp and Fp the channel counts padded to the vector width.
std::size_t block_tiles(std::size_t tiles, std::size_t Cp, std::size_t Fp, std::size_t threads) {
  const std::size_t fit = kBlockBytes / (sizeof(float) * kXi * (Cp + Fp));
  // At least 2 blocks per thread where the tiles allow (the last block is often short).
  return std::max<std::size_t>(1, std::min(std::max(fit, kMinBlockTiles), (tiles + 2 * threads - 1) / (2 * threads)));
}

std::size_t team_size(const Problem& p) {
  return p.macs() > kParallelMacs && !omp_in_parallel() ? std::size_t(omp_get_max_threads()) : 1;
}

std::size_t vector_width() { return simd::kWideCompiled && simd::wide_vectors() ? 16 : 8; }

// p's geometry (vector width, padded channels, tiles, block size and count, threads): the one
// place winograd_forward and winograd_blocks (the cost model's) take it from.
Plan plan_for(const Problem& p) {
  Plan s{};
  s.p = &p;
  s.W = vector_width();
  s.Cp = (p.c + s.W - 1) / s.W * s.W;
  s.Fp = (p.f + s.W - 1) / s.W * s.W;
  s.th = (p.oh + 3) / 4;
  s.tw = (p.ow + 3) / 4;
  s.tiles = p.n * s.th * s.tw;
  s.threads = team_size(p);
  s.T = block_tiles(s.tiles, s.Cp, s.Fp, s.threads);
  s.blocks = (s.tiles + s.T - 1) / s.T;
  return s;
}

}  // namespace

std::size_t winograd_blocks(const Problem& p) { return plan_for(p).blocks; }

bool winograd_supports(const Problem& p, std::string* why) {
  std::string r;
  if (p.kh != 3 || p.kw != 3) r = "a " + std::to_string(p.kh) + "x" + std::to_string(p.kw) + " kernel (it takes 3x3)";
  else if (p.sh != 1 || p.sw != 1) r = "strides other than 1";
  else if (p.dh != 1 || p.dw != 1) r = "dilation other than 1";
  if (why) *why = r;
  return r.empty();
}

const float* WinogradKernel::transformed(const Problem& p, const float* kernel, std::size_t fp) {
  const std::size_t n = 9 * p.c * p.f;
  if (c_ != p.c || f_ != p.f || fp_ != fp || kernel_.size() != n ||
      std::memcmp(kernel_.data(), kernel, n * sizeof(float)) != 0) {
    kernel_.assign(kernel, kernel + n);
    u_.resize(kXi * p.c * fp);
    transform_kernel(p, kernel, fp, u_.data());
    c_ = p.c, f_ = p.f, fp_ = fp;
  }
  return u_.data();
}

void winograd_forward(const Problem& p, const float* x, const float* kernel, const float* bias, float* y, bool relu,
                      WinogradKernel* cache) {
  std::string why;
  if (!winograd_supports(p, &why)) throw Error("winograd_forward: " + p.to_string() + ": does not support " + why);
  Plan s = plan_for(p);
  const bool wide = s.W == 16;
  const std::size_t threads = s.threads, blocks = s.blocks;
  s.x = x;
  s.y = y;
  s.relu = relu;
  thread_local AlignedVector<float> ubuf, bbuf;  // the calling thread's
  bbuf.assign(s.Fp, 0.0f);
  if (bias) std::copy(bias, bias + p.f, bbuf.begin());
  if (cache) {
    s.U = cache->transformed(p, kernel, s.Fp);
  } else {
    ubuf.resize(kXi * p.c * s.Fp);
    transform_kernel(p, kernel, s.Fp, ubuf.data());
    s.U = ubuf.data();
  }
  s.bias = bbuf.data();
#pragma omp parallel for schedule(dynamic, 1) num_threads(int(threads)) if (threads > 1)
  for (std::size_t b = 0; b < blocks; ++b) {
#if FC_WIDE_COMPILED
    if (wide) {
      run_block_wide(s, b);
      continue;
    }
#endif
    run_block_narrow(s, b);
  }
}

}  // namespace fourierconv::conv
