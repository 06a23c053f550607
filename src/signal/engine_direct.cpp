// The direct method of engine.hpp, for every element type.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <memory_resource>
#include <optional>
#include <utility>

#include "fourierconv/array.hpp"
#include "fourierconv/memory_limit.hpp"
#include "signal/engine.hpp"
#include "signal/extended.hpp"
#include "simd.hpp"

namespace fourierconv::signal::detail {

namespace {

// The type sums accumulate in: the element type for floats (as scipy's direct code), 64-bit
// for integers and bool (exact; narrowed at the end modulo 2^bits, the same result as numpy's
// wrap-around arithmetic), complex as two reals.
template <class T>
struct Acc {
  using type = T;
};
template <>
struct Acc<bool> {
  using type = std::uint64_t;
};
template <class T>
  requires(std::is_integral_v<T> && std::is_signed_v<T>)
struct Acc<T> {
  using type = std::int64_t;
};
template <class T>
  requires(std::is_integral_v<T> && std::is_unsigned_v<T> && !std::is_same_v<T, bool>)
struct Acc<T> {
  using type = std::uint64_t;
};

template <class T>
T narrow(typename Acc<T>::type v) {
  if constexpr (std::is_same_v<T, bool>) return v != 0;
  else return static_cast<T>(v);
}

// B consecutive outputs of one row, summed in registers over every kernel tap, reading the
// input rows in place:
//   dst[j] = sum_q sum_v kr[q][v] rows[q][v + j],  j < B
// (complex written out: std::complex's operator* checks for NaN per element and does not
// vectorize).
// KL > 0: the kernel row length known at compile time (small kernels: their tap loops unroll
// fully; a 3x3 kernel on a small image spent most of its time in loop control otherwise).
template <std::size_t B, std::size_t KL = 0, class T>
__attribute__((always_inline)) inline void row_block(const T* const* rows, std::size_t k_rows, const T* kr,
                                                     std::size_t kl_runtime, std::size_t j0, typename Acc<T>::type bias,
                                                     T* dst) {
  using A = typename Acc<T>::type;
  const std::size_t kl = KL ? KL : kl_runtime;
  if constexpr (std::is_same_v<T, float> && B % 8 == 0) {
    // Explicit 8-float vectors: GCC kept a float array of sums on the stack here. P partial
    // sums per output vector, over taps v = p mod P, so that narrow blocks still run 4
    // independent FMA chains (one chain waits out the FMA's 4-cycle latency: the 8-wide
    // blocks at a row's borders took half the time of a 256-wide row with a 15 x 15 kernel).
    constexpr std::size_t V = B / 8, P = V >= 4 ? 1 : 4 / V;
    simd::v8 acc[P][V];
    for (std::size_t p = 0; p < P; ++p)
      for (std::size_t j = 0; j < V; ++j) acc[p][j] = p ? simd::v8{} : simd::v8{} + bias;
    for (std::size_t q = 0; q < k_rows; ++q) {
      if (!rows[q]) continue;
      const float* x = rows[q] + j0;
      const float* kq = kr + q * kl;
      std::size_t v = 0;
      for (; v + P <= kl; v += P)
        for (std::size_t p = 0; p < P; ++p) {
          const float kv = kq[v + p];
          const simd::v8 k = {kv, kv, kv, kv, kv, kv, kv, kv};
          for (std::size_t j = 0; j < V; ++j) acc[p][j] = simd::fma(k, simd::loadu(x + v + p + 8 * j), acc[p][j]);
        }
      for (; v < kl; ++v) {
        const float kv = kq[v];
        const simd::v8 k = {kv, kv, kv, kv, kv, kv, kv, kv};
        for (std::size_t j = 0; j < V; ++j) acc[0][j] = simd::fma(k, simd::loadu(x + v + 8 * j), acc[0][j]);
      }
    }
    for (std::size_t p = 1; p < P; ++p)
      for (std::size_t j = 0; j < V; ++j) acc[0][j] += acc[p][j];
    for (std::size_t j = 0; j < V; ++j) simd::storeu(dst + 8 * j, acc[0][j]);
  } else if constexpr (std::is_same_v<T, double> && B % 4 == 0) {
    typedef double v4 __attribute__((vector_size(32), aligned(32)));
    typedef double v4u __attribute__((vector_size(32), aligned(8), may_alias));
    constexpr std::size_t V = B / 4, P = V >= 4 ? 1 : 4 / V;  // as float's
    v4 acc[P][V];
    for (std::size_t p = 0; p < P; ++p)
      for (std::size_t j = 0; j < V; ++j) acc[p][j] = p ? v4{} : v4{} + bias;
    for (std::size_t q = 0; q < k_rows; ++q) {
      if (!rows[q]) continue;
      const double* x = rows[q] + j0;
      const double* kq = kr + q * kl;
      std::size_t v = 0;
      for (; v + P <= kl; v += P)
        for (std::size_t p = 0; p < P; ++p) {
          const double kv = kq[v + p];
          const v4 k = {kv, kv, kv, kv};
          for (std::size_t j = 0; j < V; ++j) acc[p][j] += k * *reinterpret_cast<const v4u*>(x + v + p + 4 * j);
        }
      for (; v < kl; ++v) {
        const double kv = kq[v];
        const v4 k = {kv, kv, kv, kv};
        for (std::size_t j = 0; j < V; ++j) acc[0][j] += k * *reinterpret_cast<const v4u*>(x + v + 4 * j);
      }
    }
    for (std::size_t p = 1; p < P; ++p)
      for (std::size_t j = 0; j < V; ++j) acc[0][j] += acc[p][j];
    for (std::size_t j = 0; j < V; ++j) *reinterpret_cast<v4u*>(dst + 4 * j) = acc[0][j];
  } else if constexpr (std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>) {
    using R = typename T::value_type;
    R re[B], im[B];
    for (std::size_t j = 0; j < B; ++j) re[j] = bias.real(), im[j] = bias.imag();
    for (std::size_t q = 0; q < k_rows; ++q) {
      if (!rows[q]) continue;
      const R* x = reinterpret_cast<const R*>(rows[q] + j0);
      const T* kq = kr + q * kl;
      for (std::size_t v = 0; v < kl; ++v) {
        const R a = kq[v].real(), b = kq[v].imag();
        const R* xv = x + 2 * v;
        for (std::size_t j = 0; j < B; ++j) {
          re[j] += a * xv[2 * j] - b * xv[2 * j + 1];
          im[j] += a * xv[2 * j + 1] + b * xv[2 * j];
        }
      }
    }
    for (std::size_t j = 0; j < B; ++j) dst[j] = T(re[j], im[j]);
  } else {
    A acc[B];
    for (std::size_t j = 0; j < B; ++j) acc[j] = bias;
    for (std::size_t q = 0; q < k_rows; ++q) {
      if (!rows[q]) continue;
      const T* x = rows[q] + j0;
      const T* kq = kr + q * kl;
      for (std::size_t v = 0; v < kl; ++v) {
        const A k = A(kq[v]);
        const T* xv = x + v;
        for (std::size_t j = 0; j < B; ++j) acc[j] += k * A(xv[j]);
      }
    }
    for (std::size_t j = 0; j < B; ++j) dst[j] = narrow<T>(acc[j]);
  }
}

// R consecutive output rows (along the second-to-last convolved axis) at once: an input row
// is loaded once per tap and used by every output row whose window holds it (output row rho
// takes input row s with kernel row s - rho), so each vector load feeds up to R multiply-adds
// where the one-row kernel feeds one (it was bound by its loads: 10 GMAC/s per core on a
// 256 x 256 float32 image with a 15 x 15 kernel). W lanes per vector, V vectors of columns:
//   dst[rho][j + c] = sum_g sum_q sum_v kr[g][q][v] ext[g][q + rho][j + c + v]
// ext: per group g of kernel rows (the kernel axes before the last two), the k2 + R - 1 input
// rows that the R output rows read, null where the row is zero fill (skipped).
template <class T, std::size_t W>
struct Vec {
  typedef T type __attribute__((vector_size(W * sizeof(T))));
  typedef T unaligned __attribute__((vector_size(W * sizeof(T)), aligned(sizeof(T)), may_alias));
};

// One input row s against output rows [Lo, Hi] (known at compile time: tested per tap, the
// partial ranges of a group's first and last rows cost a third more there).
template <class T, std::size_t W, std::size_t R, std::size_t V, std::size_t Lo, std::size_t Hi>
FC_INLINE void rows_tap(const T* x, const T* kg, std::size_t kl, std::size_t s, typename Vec<T, W>::type (&acc)[R][V]) {
  using VT = typename Vec<T, W>::type;
  using VU = typename Vec<T, W>::unaligned;
  for (std::size_t v = 0; v < kl; ++v) {
    VT xv[V];
#pragma GCC unroll 8
    for (std::size_t c = 0; c < V; ++c) {
      xv[c] = *reinterpret_cast<const VU*>(x + v + W * c);
      // Held in a register for every row rho: left alone, GCC reloads it as a memory operand
      // of each multiply-add (R loads where one does, mostly split across cache lines), and
      // the kernel was bound by those loads: 1.1-1.25x faster over 64^2..1024^2 with 3..15
      // kernels (AVX-512 only: the constraint needs the vector to fit one register).
      if constexpr (W * sizeof(T) == 64) asm("" : "+v"(xv[c]));
    }
#pragma GCC unroll 8
    for (std::size_t rho = Lo; rho <= Hi; ++rho) {
      const T kv = kg[(s - rho) * kl + v];
#pragma GCC unroll 8
      for (std::size_t c = 0; c < V; ++c) acc[rho][c] += kv * xv[c];
    }
  }
}

template <class T, std::size_t W, std::size_t R, std::size_t V>
FC_INLINE void rows_block(const T* const* ext, std::size_t groups, std::size_t k2, const T* kr, std::size_t kl,
                          std::size_t j, T* const* dst) {
  using VT = typename Vec<T, W>::type;
  using VU = typename Vec<T, W>::unaligned;
  const std::size_t span = k2 + R - 1;
  VT acc[R][V];
#pragma GCC unroll 8
  for (std::size_t rho = 0; rho < R; ++rho)
#pragma GCC unroll 8
    for (std::size_t c = 0; c < V; ++c) acc[rho][c] = VT{};
  for (std::size_t g = 0; g < groups; ++g) {
    const T* const* e = ext + g * span;
    const T* kg = kr + g * k2 * kl;
    // The first rows s < R - 1 feed output rows 0..s; the last ones, s = k2 + d, rows d + 1 .. R - 1
    // (k2 >= R - 1: kernels of 3+ rows take 4 rows, of 6+ rows 6).
    [&]<std::size_t... S>(std::index_sequence<S...>) __attribute__((always_inline)) {
      ((e[S] ? rows_tap<T, W, R, V, 0, S>(e[S] + j, kg, kl, S, acc) : void()), ...);
    }(std::make_index_sequence<R - 1>{});
    for (std::size_t s = R - 1; s < k2; ++s)
      if (e[s]) rows_tap<T, W, R, V, 0, R - 1>(e[s] + j, kg, kl, s, acc);
    [&]<std::size_t... D>(std::index_sequence<D...>) __attribute__((always_inline)) {
      ((e[k2 + D] ? rows_tap<T, W, R, V, D + 1, R - 1>(e[k2 + D] + j, kg, kl, k2 + D, acc) : void()), ...);
    }(std::make_index_sequence<R - 1>{});
  }
#pragma GCC unroll 8
  for (std::size_t rho = 0; rho < R; ++rho)
#pragma GCC unroll 8
    for (std::size_t c = 0; c < V; ++c) *reinterpret_cast<VU*>(dst[rho] + j + W * c) = acc[rho][c];
}

// Interior columns [j, j_hi) of R output rows (the interior begins at j_lo) in blocks of W * V,
// then of 2 W and W, the last few in a block overlapping the previous one; leaves j at the
// first column not done (some where the interior is narrower than W).
template <class T, std::size_t W, std::size_t R, std::size_t V>
FC_INLINE void rows_interior(const T* const* ext, std::size_t groups, std::size_t k2, const T* kr, std::size_t kl,
                             std::size_t& j, std::size_t j_lo, std::size_t j_hi, T* const* dst) {
  for (; j + W * V <= j_hi; j += W * V) rows_block<T, W, R, V>(ext, groups, k2, kr, kl, j, dst);
  if constexpr (V > 2)
    for (; j + 2 * W <= j_hi; j += 2 * W) rows_block<T, W, R, 2>(ext, groups, k2, kr, kl, j, dst);
  for (; j + W <= j_hi; j += W) rows_block<T, W, R, 1>(ext, groups, k2, kr, kl, j, dst);
  if (j < j_hi && j_hi - j_lo >= W) {  // the last few: one block overlapping the previous one
    rows_block<T, W, R, 1>(ext, groups, k2, kr, kl, j_hi - W, dst);
    j = j_hi;
  }
}

constexpr std::size_t kRows = 4, kMaxRows = 6;  // output rows of rows_block: 6 for kernels of 6+ rows

}  // namespace

// rows_interior for nr (kRows or kMaxRows) output rows, a call per row group: 16-float
// (8-double) vectors, 4 per block (AVX-512's 32 registers), compiled for x86-64-v4 only, the one
// target where simd::wide_vectors() holds; 8-float (4-double) vectors, 2 per block (AVX2's 16
// registers), compiled for the targets below it.
template <class T>
FC_TARGET_V4 void rows_interior_wide(std::size_t nr, const T* const* ext, std::size_t groups, std::size_t k2, const T* kr,
                                     std::size_t kl, std::size_t& j, std::size_t j_lo, std::size_t j_hi, T* const* dst) {
  constexpr std::size_t W = std::is_same_v<T, float> ? 16 : 8;
  if (nr == kMaxRows) rows_interior<T, W, kMaxRows, 4>(ext, groups, k2, kr, kl, j, j_lo, j_hi, dst);
  else rows_interior<T, W, kRows, 4>(ext, groups, k2, kr, kl, j, j_lo, j_hi, dst);
}
template <class T>
FC_MULTIVERSION_BELOW_V4 void rows_interior_narrow(std::size_t nr, const T* const* ext, std::size_t groups, std::size_t k2,
                                                   const T* kr, std::size_t kl, std::size_t& j, std::size_t j_lo,
                                                   std::size_t j_hi, T* const* dst) {
  constexpr std::size_t W = std::is_same_v<T, float> ? 8 : 4;
  if (nr == kMaxRows) rows_interior<T, W, kMaxRows, 2>(ext, groups, k2, kr, kl, j, j_lo, j_hi, dst);
  else rows_interior<T, W, kRows, 2>(ext, groups, k2, kr, kl, j, j_lo, j_hi, dst);
}
#define FC_ROWS(F, T)                                                                                         \
  template void F<T>(std::size_t, const T* const*, std::size_t, std::size_t, const T*, std::size_t, std::size_t&, \
                     std::size_t, std::size_t, T* const*);
#if FC_WIDE_COMPILED
FC_ROWS(rows_interior_wide, float)
FC_ROWS(rows_interior_wide, double)
#endif
FC_ROWS(rows_interior_narrow, float)
FC_ROWS(rows_interior_narrow, double)
#undef FC_ROWS

namespace {

// Whether rows_block runs: the second-to-last convolved axis has at least kRows outputs and 3
// kernel rows (2-row kernels ran faster on the one-row kernel, whose taps unroll).
bool rows_blockable(const Geometry& g) {
  const std::size_t r = g.axes.size();
  return r >= 2 && g.axes[r - 2].k >= 3 && g.axes[r - 2].out >= kRows;
}

// Whether the several-rows kernel reads E rows padded once per call (every input row copied
// with its last-axis extension, out + k - 1 columns), so that every output column is an
// interior one: the border columns of a row group otherwise cost as much as a third of a
// 256 x 256 float32 image with a 15 x 15 kernel (gathered per group and summed 8 at a time).
// Only where the copy fits the engines' kept per-thread buffer (kKeptScratchBytes, engine.hpp)
// and the memory limit: a larger copy is a fresh allocation per call, whose page faults made a
// 3900 x 4200 float32 image with a 3 x 3 kernel 4x slower than the gathered borders (a review's
// finding), and the borders of such arrays are a small share of their outputs anyway.
// Kernels of under 5 columns read padded rows only while the copy stays small (within the L2
// cache with its source): their few border columns cost less than a copy from memory (float32
// 3 x 3, one thread: 384^2 24 us gathered, 26 padded; 512^2 39 against 45), but their set-up
// and 8-column blocks cost more than a copy in cache (64^2 3.6 against 3.1 us; 128^2 6.4 against
// 5.3; 256^2 13.6 against 13.0).
constexpr std::size_t kSmallKernelPaddedBytes = 384 << 10;
bool rows_padded(const Geometry& g, std::size_t elem_bytes) {
  const ConvAxis& last = g.axes.back();
  const double bytes = double(g.x_items()) * double(g.x_plane() / last.n) * double(last.extended()) * double(elem_bytes);
  if (last.k < 5 && bytes > double(kSmallKernelPaddedBytes)) return false;
  return bytes <= double(kKeptScratchBytes) && bytes <= double(memory_limit());
}

// The interior output columns [j_lo, j_hi) of the last axis: every tap's source in range, so
// E[j + v] = x[j + v + shift] with shift = start - (k - 1).
std::pair<std::size_t, std::size_t> interior_columns(const ConvAxis& last) {
  const std::ptrdiff_t shift = last.start - std::ptrdiff_t(last.k - 1);
  const std::ptrdiff_t lo = std::max<std::ptrdiff_t>(0, -shift);
  const std::ptrdiff_t hi_raw = std::ptrdiff_t(last.n) - std::ptrdiff_t(last.k - 1) - shift;
  const std::size_t j_lo = std::size_t(std::min<std::ptrdiff_t>(lo, std::ptrdiff_t(last.out)));
  return {j_lo, std::size_t(std::clamp<std::ptrdiff_t>(hi_raw, std::ptrdiff_t(j_lo), std::ptrdiff_t(last.out)))};
}

// n elements of a trivial type from `arena` (nothing to destroy), value-initialized (zero) or
// left as they come.
template <class T>
T* arena_array(std::pmr::memory_resource& arena, std::size_t n, bool zero) {
  static_assert(std::is_trivially_destructible_v<T>);
  T* p = static_cast<T*>(arena.allocate(std::max<std::size_t>(n, 1) * sizeof(T), alignof(T)));
  if (zero) std::uninitialized_value_construct_n(p, n);
  else std::uninitialized_default_construct_n(p, n);
  return p;
}

template <class A, class T>
FC_INLINE void mac(A& acc, const T& k, const T& x) {
  if constexpr (std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>)
    acc += T(k.real() * x.real() - k.imag() * x.imag(), k.real() * x.imag() + k.imag() * x.real());
  else
    acc += A(k) * A(x);
}

}  // namespace

// y[o] = sum_u kr[u] E[o + u] with kr the flipped kernel (kr[u] = k[k - 1 - u]), E the extended
// input of geometry.hpp, read in place: per output row, each kernel row's E row is an input
// row (or the fill value), its columns the input's shifted by start - (k - 1) inside, the
// extension rule outside. Interior columns run the register-blocked kernel on the input
// itself; the few border columns look their sources up. The several-rows kernel reads a
// padded copy of the input's rows instead where it fits the kept buffer (rows_padded).
template <class T>
FC_MULTIVERSION void direct_convolve(const Geometry& g, const T* x, const T* kernel, T* y, T fill) {
  using A = typename Acc<T>::type;
  const std::size_t r = g.axes.size(), B = g.batch_size(), xp = g.x_plane(), kp = g.k_plane(), op = g.out_plane();
  if (B == 0 || op == 0 || kp == 0) return;  // nothing to write (and the row counts below divide by axis lengths)
  const ConvAxis& last = g.axes[r - 1];
  const std::size_t kl = last.k, ol = last.out, nl = last.n, k_rows = kp / kl, out_rows = op / ol;
  const std::ptrdiff_t shift = last.start - std::ptrdiff_t(kl - 1);  // E column t is x column t + shift inside
  // Source of every E column of the last axis (E is out + k - 1 long: a table is cheap here, the
  // border columns read it).
  // The call's small arrays come from a buffer on the stack (each thread's below from its
  // own): a dozen allocations were a tenth of a 64 x 64 3 x 3 convolution.
  alignas(64) std::byte arena_bytes[2048];
  std::pmr::monotonic_buffer_resource arena(arena_bytes, sizeof arena_bytes);
  std::pmr::vector<std::ptrdiff_t> src_last(last.extended(), &arena);
  for (std::size_t t = 0; t < src_last.size(); ++t) src_last[t] = last.source(t);
  const std::pair<std::size_t, std::size_t> interior_cols = interior_columns(last);
  const std::size_t j_lo = interior_cols.first, j_hi = interior_cols.second;
  std::pmr::vector<std::size_t> xs(r, &arena);  // strides of an x item
  xs[r - 1] = 1;
  for (std::size_t i = r - 1; i-- > 0;) xs[i] = xs[i + 1] * g.axes[i + 1].n;
  // Widest border run, rounded up to whole 8-column blocks.
  const std::size_t border_w = (std::max(j_lo, ol - j_hi) + 7) / 8 * 8;
  // The flipped kernels of every kernel item.
  const std::size_t kitems = g.k_items();
  T* const flipped = arena_array<T>(arena, kitems * kp, false);
  for (std::size_t it = 0; it < kitems; ++it)
    for (std::size_t e = 0; e < kp; ++e) flipped[it * kp + kp - 1 - e] = kernel[it * kp + e];
  // Rows of E that are a zero fill are skipped (they add nothing), unless the kernel holds an
  // Inf or NaN: then they are read from a row of zeros, so that 0 * Inf is NaN on every edge,
  // as scipy's direct sum gives (the skipped rows gave finite values at the top and bottom
  // edges, the multiplied border columns NaN at the left and right).
  bool finite_kernel = true;
  if constexpr (std::is_floating_point_v<T>) {
    for (std::size_t e = 0; e < kitems * kp; ++e) finite_kernel = finite_kernel && std::isfinite(flipped[e]);
  } else if constexpr (std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>) {
    for (std::size_t e = 0; e < kitems * kp; ++e)
      finite_kernel = finite_kernel && std::isfinite(flipped[e].real()) && std::isfinite(flipped[e].imag());
  }
  const std::size_t zpad = std::size_t(shift < 0 ? -shift : shift) + 64;
  std::unique_ptr<T[]> zeros(finite_kernel || fill != T{} ? nullptr : new T[2 * zpad + nl + ol + kl + 64]());
  // A zero row: zero_row[t] for every E column t read, zero_row[sidx - shift] for every x column.
  const T* const zero_row = zeros ? zeros.get() + zpad : nullptr;
  // Sum of each flipped kernel row (for rows of E that are the fill value).
  const double macs = double(B) * double(op) * double(kp);
  // 8 AVX sums: enough independent FMA chains.
  constexpr std::size_t kWide = std::is_same_v<T, float> ? 64 : std::is_same_v<T, double> ? 32 : 16;
  // Interior columns [j_lo, j_hi) of one output row, in blocks; leaves j at j_hi.
  // (lo, hi: j_lo, j_hi, or 0, ol on padded rows.)
  auto interior_kl = [&](auto KLc, const T* const* rows, const T* kr, A bias, T* dst, std::size_t& j, std::size_t lo,
                         std::size_t hi) __attribute__((always_inline)) {
    constexpr std::size_t KL = decltype(KLc)::value;
    for (; j + kWide <= hi; j += kWide) row_block<kWide, KL>(rows, k_rows, kr, kl, j, bias, dst + j);
    if constexpr (kWide > 32)
      for (; j + 32 <= hi; j += 32) row_block<32, KL>(rows, k_rows, kr, kl, j, bias, dst + j);
    for (; j + 8 <= hi; j += 8) row_block<8, KL>(rows, k_rows, kr, kl, j, bias, dst + j);
    if (j < hi && hi - lo >= 8) {  // the last few: one block overlapping the previous one
      row_block<8, KL>(rows, k_rows, kr, kl, hi - 8, bias, dst + hi - 8);
      j = hi;
    }
    for (; j < hi; ++j) row_block<1, KL>(rows, k_rows, kr, kl, j, bias, dst + j);
  };
  auto interior = [&](const T* const* rows, const T* kr, A bias, T* dst, std::size_t& j, std::size_t lo, std::size_t hi)
                      __attribute__((always_inline)) {
    if constexpr (std::is_integral_v<T>)  // integers and bool: rare here, not worth 7 copies per target
      return interior_kl(std::integral_constant<std::size_t, 0>{}, rows, kr, bias, dst, j, lo, hi);
    else
      switch (kl) {
        case 1: return interior_kl(std::integral_constant<std::size_t, 1>{}, rows, kr, bias, dst, j, lo, hi);
        case 2: return interior_kl(std::integral_constant<std::size_t, 2>{}, rows, kr, bias, dst, j, lo, hi);
        case 3: return interior_kl(std::integral_constant<std::size_t, 3>{}, rows, kr, bias, dst, j, lo, hi);
        case 4: return interior_kl(std::integral_constant<std::size_t, 4>{}, rows, kr, bias, dst, j, lo, hi);
        case 5: return interior_kl(std::integral_constant<std::size_t, 5>{}, rows, kr, bias, dst, j, lo, hi);
        case 7: return interior_kl(std::integral_constant<std::size_t, 7>{}, rows, kr, bias, dst, j, lo, hi);
        default: return interior_kl(std::integral_constant<std::size_t, 0>{}, rows, kr, bias, dst, j, lo, hi);
      }
  };
  // Several output rows at once (rows_block) for float and double, where rows_blockable and
  // the border is zeros (a fill value would add a different constant to each row).
  const std::size_t k2 = r >= 2 ? g.axes[r - 2].k : 1, out2 = r >= 2 ? g.axes[r - 2].out : 1;
  const bool multi_row = (std::is_same_v<T, float> || std::is_same_v<T, double>) && rows_blockable(g) && fill == T{};
  // 6 rows where the kernel has 6 or more (7-17% faster than 4 at 7x7 to 31x31; 3x faster than 6 at 3x3).
  const std::size_t nrows = k2 >= kMaxRows ? kMaxRows : kRows;
  const std::size_t lead = out_rows / out2, blocks = multi_row ? (out2 + nrows - 1) / nrows : out2;
  const std::size_t per_item = multi_row ? lead * blocks : out_rows, groups = k_rows / k2;
  const bool wide = simd::wide_vectors();
  // The padded E rows (rows_padded), pe_w apart; x item i's rows begin at padded[i * pe_item].
  const std::size_t pe_w = last.extended(), x_rows = xp / nl, pe_item = x_rows * pe_w;
  // Floats between padded rows one step apart on the second-to-last axis (rank >= 2).
  const std::size_t pe_row2 = r >= 2 ? xs[r - 2] / nl * pe_w : 0;
  const bool padded_rows = multi_row && (j_lo > 0 || j_hi < ol) && rows_padded(g, sizeof(T));  // (no border: no copy)
  std::optional<Scratch<T>> padded;  // kept per thread (rows_padded): no page faults per call
  if (padded_rows) padded.emplace(0, g.x_items() * pe_item);
  const std::size_t j_in = std::size_t(std::clamp<std::ptrdiff_t>(-shift, 0, std::ptrdiff_t(pe_w))),
                    j_end = std::size_t(std::clamp<std::ptrdiff_t>(std::ptrdiff_t(nl) - shift, std::ptrdiff_t(j_in), std::ptrdiff_t(pe_w)));
  // The work of each thread; where it would run on one, called directly: an OpenMP region
  // with a false `if` still makes a team of one (~3,000 instructions, a quarter of a
  // convolution of 8 x 8 by 1 x 1). The `omp for` loops inside run whole when unbound.
  auto region = [&]() __attribute__((always_inline)) {
    if (padded_rows) {
#pragma omp for schedule(static)
      for (std::size_t row = 0; row < g.x_items() * x_rows; ++row) {
        const T* xr = x + row * nl;
        T* pr = padded->get() + row * pe_w;
        for (std::size_t t = 0; t < j_in; ++t) pr[t] = src_last[t] < 0 ? fill : xr[src_last[t]];
        std::copy(xr + (std::ptrdiff_t(j_in) + shift), xr + (std::ptrdiff_t(j_end) + shift), pr + j_in);
        for (std::size_t t = j_end; t < pe_w; ++t) pr[t] = src_last[t] < 0 ? fill : xr[src_last[t]];
      }
    }
    alignas(64) std::byte thread_bytes[4096];
    std::pmr::monotonic_buffer_resource thread_arena(thread_bytes, sizeof thread_bytes);
    std::pmr::vector<const T*> rows(kMaxRows * k_rows, &thread_arena), brows(k_rows, &thread_arena),
        ext(multi_row ? groups * (k2 + kMaxRows - 1) : 0, &thread_arena), bext(ext.size(), &thread_arena);
    T* const gtmp = arena_array<T>(thread_arena, multi_row ? ext.size() * (border_w + kl - 1) : 0, false);
    T* const gout = arena_array<T>(thread_arena, multi_row ? kMaxRows * border_w : 0, false);
    // (arena_array, not pmr::vector<T>: vector<bool> has no data())
    T* const btmp = arena_array<T>(thread_arena, k_rows * (border_w + kl - 1), true);
    T* const bout = arena_array<T>(thread_arena, border_w + 1, true);
    std::pmr::vector<std::size_t> o(r > 1 ? r - 1 : 1, &thread_arena), u(r > 1 ? r - 1 : 1, &thread_arena);
    std::size_t cached_b = std::size_t(-1);
    const T* xi = nullptr;
    const T* pi = nullptr;  // item b's padded rows (padded_rows)
    const T* kr = nullptr;
    // E columns [j0, j0 + w) of `count` rows (null: skipped, stays null) gathered into buf, w
    // apart, the extension rule applied: rows of the border columns for the blocked kernels.
    auto gather = [&](const T* const* src, std::size_t count, std::size_t j0, std::size_t w, T* buf, const T** out)
                      __attribute__((always_inline)) {
      // On the fill extension, columns [fill_lo, fill_hi) of the window come from x in order,
      // the others up to e_hi (E's end) are the fill value.
      const bool fill_last = last.ext == Extension::Fill;
      const std::ptrdiff_t sw = std::ptrdiff_t(w), e_end = std::ptrdiff_t(src_last.size()) - std::ptrdiff_t(j0);
      const std::size_t e_hi = std::size_t(std::clamp<std::ptrdiff_t>(e_end, 0, sw));
      const std::size_t fill_lo = std::size_t(std::clamp<std::ptrdiff_t>(-shift - std::ptrdiff_t(j0), 0, std::ptrdiff_t(e_hi)));
      const std::size_t fill_hi =
          std::size_t(std::clamp<std::ptrdiff_t>(std::ptrdiff_t(nl) - shift - std::ptrdiff_t(j0), std::ptrdiff_t(fill_lo), std::ptrdiff_t(e_hi)));
      for (std::size_t q = 0; q < count; ++q) {
        if (!src[q]) {
          out[q] = nullptr;
          continue;
        }
        const T* xr = src[q] - shift;  // the input row itself
        T* t = buf + q * w;
        if (fill_last) {  // fill, x's columns in order, fill, zeros past E (one copy, not a lookup each)
          std::fill(t, t + fill_lo, fill);
          std::copy(xr + (std::ptrdiff_t(j0 + fill_lo) + shift), xr + (std::ptrdiff_t(j0 + fill_hi) + shift), t + fill_lo);
          std::fill(t + fill_hi, t + e_hi, fill);
          std::fill(t + e_hi, t + w, T{});
        } else {
          for (std::size_t c = 0; c < w; ++c) {
            const std::size_t e = j0 + c;  // E column
            const std::ptrdiff_t sidx = e < src_last.size() ? src_last[e] : -1;
            t[c] = sidx < 0 ? (e < src_last.size() ? fill : T{}) : xr[sidx];
          }
        }
        out[q] = t;
      }
    };
    // Border columns [j0, j1) of the output row dst reading rws: their E columns gathered
    // (extension rule applied) into a small row per kernel row, then the register-blocked
    // kernel runs on those, 8 outputs at a time. (Looked up one by one, the k - 1 border
    // columns of a 256-wide row cost as much as the ~240 interior ones for a 15 x 15 kernel.)
    auto border = [&](const T* const* rws, A fill_bias, T* dst, std::size_t j0, std::size_t j1)
                      __attribute__((always_inline)) {
      if (j0 >= j1) return;
      const std::size_t n = j1 - j0, n8 = (n + 7) / 8 * 8, w = n8 + kl - 1;
      gather(rws, k_rows, j0, w, btmp, brows.data());
      for (std::size_t jj = 0; jj < n8; jj += 8) row_block<8>(brows.data(), k_rows, kr, kl, jj, fill_bias, bout + jj);
      std::copy(bout, bout + n, dst + j0);
    };
    // (The lambdas are always inlined: a lambda is a function of its own, compiled for the
    // baseline target, not for the clone of direct_convolve that calls it.)
    // Output row `row` of item b, alone.
    auto one_row = [&](std::size_t b, std::size_t row) __attribute__((always_inline)) {
      // This output row's index on the leading axes, then each kernel row's source row.
      for (std::size_t i = r - 1, t = row; i-- > 0;) o[i] = t % g.axes[i].out, t /= g.axes[i].out;
      std::fill(u.begin(), u.end(), 0);
      A fill_bias{};
      for (std::size_t q = 0; q < k_rows; ++q) {
        std::ptrdiff_t off = 0;
        bool filled = false;
        for (std::size_t i = 0; i + 1 < r; ++i) {
          const std::ptrdiff_t sidx = g.axes[i].source(o[i] + u[i]);
          if (sidx < 0) filled = true;
          else off += sidx * std::ptrdiff_t(xs[i]);
        }
        if (filled && zero_row) {
          rows[q] = zero_row;
        } else if (filled) {
          rows[q] = nullptr;  // a row of the fill value: adds fill * sum of the kernel row
          if (fill != T{})
            for (std::size_t v = 0; v < kl; ++v) mac(fill_bias, kr[q * kl + v], fill);
        } else {
          rows[q] = xi + off + shift;  // E column t is rows[q][t] for interior t
        }
        for (std::size_t i = r - 1; i-- > 0;) {
          if (++u[i] < g.axes[i].k) break;
          u[i] = 0;
        }
      }
      T* dst = y + b * op + row * ol;
      border(rows.data(), fill_bias, dst, 0, j_lo);
      std::size_t j = j_lo;
      interior(rows.data(), kr, fill_bias, dst, j, j_lo, j_hi);
      border(rows.data(), fill_bias, dst, std::max(j, j_hi), ol);
    };
    // Border columns [j0, j1) of the nr output rows dst reading ext (groups x (k2 + nr - 1)
    // rows): as `border`, gathered per input row, then rows_block on the gathered rows.
    auto border_group = [&](T* const* dst, std::size_t nr, std::size_t j0, std::size_t j1) __attribute__((always_inline)) {
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
        if (j0 >= j1) return;
        constexpr std::size_t Wb = 32 / sizeof(T);  // 8 floats, 4 doubles
        const std::size_t n = j1 - j0, nw = (n + Wb - 1) / Wb * Wb, w = nw + kl - 1;
        gather(ext.data(), groups * (k2 + nr - 1), j0, w, gtmp, bext.data());
        T* bd[kMaxRows];
        for (std::size_t rho = 0; rho < nr; ++rho) bd[rho] = gout + rho * nw;
        for (std::size_t jj = 0; jj < nw; jj += Wb) {
          if (nr == kMaxRows) rows_block<T, Wb, kMaxRows, 1>(bext.data(), groups, k2, kr, kl, jj, bd);
          else rows_block<T, Wb, kRows, 1>(bext.data(), groups, k2, kr, kl, jj, bd);
        }
        for (std::size_t rho = 0; rho < nr; ++rho) std::copy(bd[rho], bd[rho] + n, dst[rho] + j0);
      }
    };
    // Output rows o2 .. o2 + nr - 1 (second-to-last axis; nr is kRows or kMaxRows) of leading
    // index `ld` of item b.
    auto row_group = [&](std::size_t b, std::size_t ld, std::size_t o2, std::size_t nr) __attribute__((always_inline)) {
      const std::size_t span = k2 + nr - 1;
      for (std::size_t i = r - 2, t = ld; i-- > 0;) o[i] = t % g.axes[i].out, t /= g.axes[i].out;
      const ConvAxis& a2 = g.axes[r - 2];
      for (std::size_t gi = 0; gi < groups; ++gi) {
        std::ptrdiff_t off = 0;
        bool filled = false;
        for (std::size_t i = r - 2, t = gi; i-- > 0;) {  // gi's kernel index on the leading axes
          const std::ptrdiff_t sidx = g.axes[i].source(o[i] + t % g.axes[i].k);
          t /= g.axes[i].k;
          if (sidx < 0) filled = true;
          else off += sidx * std::ptrdiff_t(xs[i]);
        }
        // The padded rows' start: x row off / nl, then row sidx of the second-to-last axis
        // (two integer divisions per source row were ~8% of a 64 x 64 3 x 3 call from Python).
        const T* pg = pi ? pi + std::size_t(off) / nl * pe_w : nullptr;
        for (std::size_t s = 0; s < span; ++s) {
          const std::ptrdiff_t sidx = a2.source(o2 + s);
          if (filled || sidx < 0) ext[gi * span + s] = zero_row;
          else if (pi) ext[gi * span + s] = pg + std::size_t(sidx) * pe_row2;
          else ext[gi * span + s] = xi + off + sidx * std::ptrdiff_t(xs[r - 2]) + shift;
        }
      }
      T* dst[kMaxRows];
      for (std::size_t rho = 0; rho < nr; ++rho) dst[rho] = y + b * op + (ld * out2 + o2 + rho) * ol;
      // Padded rows: every column is interior.
      const std::size_t g_lo = pi ? 0 : j_lo, g_hi = pi ? ol : j_hi;
      if (!pi) border_group(dst, nr, 0, j_lo);
      std::size_t j = g_lo;
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
        bool done = false;
        if constexpr (simd::kWideCompiled)
          if (wide) rows_interior_wide<T>(nr, ext.data(), groups, k2, kr, kl, j, g_lo, g_hi, dst), done = true;
        if (!done) rows_interior_narrow<T>(nr, ext.data(), groups, k2, kr, kl, j, g_lo, g_hi, dst);
      }
      for (std::size_t rho = 0; rho < nr && j < g_hi; ++rho) {  // an interior narrower than W
        // Each row's kernel rows, only here (filled for every group, they were ~6% of a 64 x 64
        // 3 x 3 call). Kernel row q = gi * k2 + s: no division per row.
        for (std::size_t gi = 0, q = 0; gi < groups; ++gi)
          for (std::size_t s = 0; s < k2; ++s, ++q) rows[rho * k_rows + q] = ext[gi * span + s + rho];
        std::size_t jr = j;
        interior(rows.data() + rho * k_rows, kr, A{}, dst[rho], jr, g_lo, g_hi);
      }
      if (!pi) border_group(dst, nr, j_hi, ol);
    };
#pragma omp for schedule(static)
    for (std::size_t item = 0; item < B * per_item; ++item) {
      const std::size_t b = item / per_item, rest = item % per_item;
      if (b != cached_b) {
        cached_b = b, xi = x + g.x_item(b) * xp, kr = flipped + g.k_item(b) * kp;
        pi = padded_rows ? padded->get() + g.x_item(b) * pe_item : nullptr;
      }
      if (!multi_row) {
        one_row(b, rest);
        continue;
      }
      const std::size_t ld = rest / blocks, o2 = rest % blocks * nrows;
      if (o2 + nrows <= out2) {
        row_group(b, ld, o2, nrows);
        continue;
      }
      std::size_t t = o2;  // the last rows: 4 at once where 4 are left, then one by one
      if (out2 - o2 >= kRows) row_group(b, ld, o2, kRows), t += kRows;
      for (; t < out2; ++t) one_row(b, ld * out2 + t);
    }
  };
  if (macs > kParallelMacs && B * per_item > 1) {
#pragma omp parallel
    region();
  } else if (omp_in_parallel()) {
    // Inside a caller's parallel region the `omp for` loops would bind to the caller's team:
    // each thread would run a share of the rows of its own problem (wrong results), or wait at
    // a barrier the others never reach (threads on different shapes). A team of one of ours.
#pragma omp parallel num_threads(1)
    region();
  } else {
    region();
  }
}

double direct_rows_share(const Geometry& g, DType t, bool zero_fill) {
  if (!((t == DType::Float32 || t == DType::Float64) && zero_fill && rows_blockable(g))) return 0;
  // Columns: every one on padded rows, else the interior, where at least one vector block fits
  // (16 floats or 8 doubles with AVX-512, else 8 or 4); the border columns run 8-float blocks
  // on gathered rows.
  const ConvAxis& last = g.axes.back();
  const std::size_t w = (t == DType::Float32 ? 8 : 4) * (simd::wide_vectors() ? 2 : 1);
  auto [j_lo, j_hi] = interior_columns(last);
  if (rows_padded(g, t == DType::Float32 ? 4 : 8)) j_lo = 0, j_hi = last.out;
  const double columns = j_hi - j_lo >= w ? double(j_hi - j_lo) / double(last.out) : 0.0;
  // Rows: whole groups of 6 (or 4), then 4, as direct_convolve takes them.
  const ConvAxis& a2 = g.axes[g.axes.size() - 2];
  const std::size_t nr = a2.k >= kMaxRows ? kMaxRows : kRows, full = a2.out / nr * nr;
  const std::size_t grouped = full + (a2.out - full >= kRows ? kRows : 0);
  return columns * double(grouped) / double(a2.out);
}

#define FC_DIRECT(T) template void direct_convolve<T>(const Geometry&, const T*, const T*, T*, T);
FC_DIRECT(bool)
FC_DIRECT(std::int8_t)
FC_DIRECT(std::int16_t)
FC_DIRECT(std::int32_t)
FC_DIRECT(std::int64_t)
FC_DIRECT(std::uint8_t)
FC_DIRECT(std::uint16_t)
FC_DIRECT(std::uint32_t)
FC_DIRECT(std::uint64_t)
FC_DIRECT(float)
FC_DIRECT(double)
FC_DIRECT(std::complex<float>)
FC_DIRECT(std::complex<double>)
#undef FC_DIRECT

}  // namespace fourierconv::signal::detail
