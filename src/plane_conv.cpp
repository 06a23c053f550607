#include "plane_conv.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <omp.h>

#include "fourierconv/error.hpp"

namespace fourierconv::detail {

Axis make_axis(std::size_t n, std::size_t k, Mode mode) {
  Axis a;
  a.n = n;
  a.k = k;
  switch (mode) {
    case Mode::Full: a.out = n + k - 1; a.start = 0; break;
    case Mode::Same: a.out = n; a.start = static_cast<std::ptrdiff_t>((k - 1) / 2); break;
    case Mode::Valid:
      FC_ASSERT(n >= k);
      a.out = n - k + 1;
      a.start = static_cast<std::ptrdiff_t>(k - 1);
      break;
    case Mode::Circular: a.out = n; a.start = static_cast<std::ptrdiff_t>(k / 2); a.circular = true; break;
  }
  return a;
}

namespace {
// Source index of E's t-th element on one axis, or -1 for a zero.
std::ptrdiff_t source_index(const Axis& a, std::size_t t) {
  std::ptrdiff_t i = a.start - static_cast<std::ptrdiff_t>(a.k - 1) + static_cast<std::ptrdiff_t>(t);
  std::ptrdiff_t n = static_cast<std::ptrdiff_t>(a.n);
  if (a.circular) return ((i % n) + n) % n;
  return (i < 0 || i >= n) ? -1 : i;
}
}  // namespace

void build_extended(const float* x, const Axis& r, const Axis& c, float* e) {
  const std::size_t eh = r.out + r.k - 1, ew = c.out + c.k - 1;
  std::vector<std::ptrdiff_t> cols(ew);
  for (std::size_t t = 0; t < ew; ++t) cols[t] = source_index(c, t);
  // Columns [lo, hi) of E map to consecutive input columns: copy them as one run.
  std::size_t lo = 0, hi = 0;
  for (std::size_t t = 0; t < ew; ++t)
    if (cols[t] >= 0 && (t == 0 || cols[t - 1] + 1 != cols[t] || cols[t - 1] < 0)) {
      std::size_t u = t;
      while (u + 1 < ew && cols[u + 1] == cols[u] + 1) ++u;
      if (u + 1 - t > hi - lo) lo = t, hi = u + 1;
    }
  for (std::size_t t = 0; t < eh; ++t) {
    float* row = e + t * ew;
    std::ptrdiff_t sr = source_index(r, t);
    if (sr < 0) {
      std::fill(row, row + ew, 0.0f);
      continue;
    }
    const float* src = x + static_cast<std::size_t>(sr) * c.n;
    for (std::size_t j = 0; j < lo; ++j) row[j] = cols[j] < 0 ? 0.0f : src[cols[j]];
    if (hi > lo) std::memcpy(row + lo, src + cols[lo], (hi - lo) * sizeof(float));
    for (std::size_t j = hi; j < ew; ++j) row[j] = cols[j] < 0 ? 0.0f : src[cols[j]];
  }
}

namespace {
// Accumulates a block of B output columns of row i in registers over all kh*kw taps, so each
// tap costs one load and one FMA per 8 outputs (the unblocked loop also loads and stores y).
template <std::size_t B>
inline void direct_block(const float* e, std::size_t ew, const float* k, std::size_t kh, std::size_t kw,
                         std::size_t i, std::size_t j0, float* y) {
  float acc[B] = {};
  for (std::size_t u = 0; u < kh; ++u) {
    const float* er = e + (i + kh - 1 - u) * ew + j0 + kw - 1;
    const float* ku = k + u * kw;
    for (std::size_t v = 0; v < kw; ++v) {
      const float kv = ku[v];
      const float* ep = er - v;
      for (std::size_t jj = 0; jj < B; ++jj) acc[jj] += kv * ep[jj];
    }
  }
  for (std::size_t jj = 0; jj < B; ++jj) y[jj] = acc[jj];
}
}  // namespace

void direct_from_extended(const float* e, const float* k, const Axis& r, const Axis& c, float* y) {
  const std::size_t oh = r.out, ow = c.out, kh = r.k, kw = c.k, ew = ow + kw - 1;
  // Rows are independent: parallel when the plane is big enough to pay for a team (~10 us).
#pragma omp parallel for schedule(static) if (double(oh) * double(ow) * double(kh * kw) > 2e6 && !omp_in_parallel())
  for (std::size_t i = 0; i < oh; ++i) {
    float* yr = y + i * ow;
    std::size_t j = 0;
    for (; j + 32 <= ow; j += 32) direct_block<32>(e, ew, k, kh, kw, i, j, yr + j);
    for (; j + 8 <= ow; j += 8) direct_block<8>(e, ew, k, kh, kw, i, j, yr + j);
    for (; j < ow; ++j) direct_block<1>(e, ew, k, kh, kw, i, j, yr + j);
  }
}

std::size_t fft_grid(const Axis& a) {
  if (a.circular) return a.n;
  // Outputs [start, start+out) of the full convolution (length n+k-1) must not alias on a
  // cyclic grid of P: P >= n+k-1-start and P >= start+out.
  std::size_t full = a.n + a.k - 1, s = static_cast<std::size_t>(a.start);
  return fast_padded_size(std::max(full - s, s + a.out));
}

void place_kernel(const float* k, const Axis& r, const Axis& c, std::size_t P, std::size_t Q, float* grid) {
  std::fill(grid, grid + P * Q, 0.0f);
  const std::size_t sr = r.circular ? static_cast<std::size_t>(r.start) : 0;
  const std::size_t sc = c.circular ? static_cast<std::size_t>(c.start) : 0;
  for (std::size_t u = 0; u < r.k; ++u) {
    std::size_t gi = (u + P - sr % P) % P;
    for (std::size_t v = 0; v < c.k; ++v) {
      std::size_t gj = (v + Q - sc % Q) % Q;
      grid[gi * Q + gj] += k[u * c.k + v];  // += : a kernel larger than a circular grid aliases
    }
  }
}

void place_input(const float* x, std::size_t h, std::size_t w, std::size_t P, std::size_t Q, float* grid) {
  for (std::size_t i = 0; i < h; ++i) {
    std::memcpy(grid + i * Q, x + i * w, w * sizeof(float));
    std::fill(grid + i * Q + w, grid + (i + 1) * Q, 0.0f);
  }
  std::fill(grid + h * Q, grid + P * Q, 0.0f);
}

void crop_output(const float* grid, std::size_t Q, const Axis& r, const Axis& c, float* y) {
  const std::size_t orr = r.circular ? 0 : static_cast<std::size_t>(r.start);
  const std::size_t oc = c.circular ? 0 : static_cast<std::size_t>(c.start);
  for (std::size_t i = 0; i < r.out; ++i) std::memcpy(y + i * c.out, grid + (i + orr) * Q + oc, c.out * sizeof(float));
}

void multiply_spectra(Complex* spec, const Complex* kspec, std::size_t n) {
  float* __restrict a = reinterpret_cast<float*>(spec);
  const float* __restrict b = reinterpret_cast<const float*>(kspec);
  for (std::size_t i = 0; i < n; ++i) {
    float ar = a[2 * i], ai = a[2 * i + 1], br = b[2 * i], bi = b[2 * i + 1];
    a[2 * i] = ar * br - ai * bi;
    a[2 * i + 1] = ar * bi + ai * br;
  }
}

namespace {
std::vector<std::size_t> tile_candidates(std::size_t k, std::size_t needed) {
  // Fast sizes from the smallest useful tile up to the whole extended plane (capped at 1024,
  // beyond which a tile no longer stays in cache and a whole-plane FFT is the better tool).
  std::vector<std::size_t> c;
  std::size_t hi = std::min<std::size_t>(next_fast_size(needed), 1024);
  for (std::size_t L = next_fast_size(std::max<std::size_t>(k, 2));; L = next_fast_size(L + 1)) {
    c.push_back(L);
    if (L >= hi) break;
  }
  return c;
}
}  // namespace

Blocking choose_blocking(const Axis& r, const Axis& c) {
  // Per axis: tile sizes L, tile counts t and log2(L); the 2-D cost is
  // t_r t_c L_r L_c (log2 L_r + log2 L_c + 2), one transform pair plus product per tile.
  struct Option {
    std::size_t L, tiles;
    double log2L;
  };
  auto options = [](const Axis& a) {
    std::vector<Option> o;
    for (std::size_t L : tile_candidates(a.k, a.out + a.k - 1))
      if (L >= a.k) o.push_back({L, (a.out + (L - a.k)) / (L - a.k + 1), std::log2(static_cast<double>(L))});
    return o;
  };
  const auto rows = options(r), cols = options(c);
  Blocking best;
  double best_cost = INFINITY;
  for (const Option& a : rows)
    for (const Option& b : cols) {
      const double cost = static_cast<double>(a.tiles * b.tiles * a.L * b.L) * (a.log2L + b.log2L + 2.0);
      if (cost < best_cost) {
        best_cost = cost;
        best = {a.L, b.L, a.tiles * b.tiles};
      }
    }
  return best;
}

PlaneConv::PlaneConv(std::size_t h, std::size_t w, const float* k, std::size_t kh, std::size_t kw, Mode mode,
                     Method method, FftRigor rigor)
    : r_(make_axis(h, kh, mode)), c_(make_axis(w, kw, mode)), method_(method) {
  FC_ASSERT(method != Method::Auto);
  if (method == Method::Direct) {
    kernel_.assign(k, k + kh * kw);
    return;
  }
  Axis kr = r_, kc = c_;
  if (method == Method::Fft) {
    P_ = fft_grid(r_);
    Q_ = fft_grid(c_);
  } else {
    Blocking b = choose_blocking(r_, c_);
    P_ = b.Lh;
    Q_ = b.Lw;
    kr.circular = kc.circular = false;  // tiles convolve linearly with the kernel at the origin
  }
  // One big plane: FFTW's own threads pay from about 512 x 512 (PEERS.md: 1.5x on 2 cores).
  const int threads = method == Method::Fft && P_ * Q_ >= 512 * 512 ? omp_get_max_threads() : 1;
  plan_ = FftPlan::get({P_, Q_}, 1, rigor, threads);
  AlignedVector<float> grid(P_ * Q_);
  place_kernel(k, kr, kc, P_, Q_, grid.data());
  kspec_.resize(plan_->spectrum_size());
  plan_->forward(grid.data(), kspec_.data());
  const float s = plan_->inverse_scale();
  for (auto& z : kspec_) z *= s;
}

void PlaneConv::run(const float* x, float* y, Scratch& s) const {
  const std::size_t eh = r_.out + r_.k - 1, ew = c_.out + c_.k - 1;
  if (method_ == Method::Direct) {
    s.ext.resize(eh * ew);
    build_extended(x, r_, c_, s.ext.data());
    direct_from_extended(s.ext.data(), kernel_.data(), r_, c_, y);
    return;
  }
  s.real.resize(P_ * Q_);
  s.out.resize(P_ * Q_);
  s.spec.resize(plan_->spectrum_size());
  if (method_ == Method::Fft) {
    // Circular on the input grid (the seed's case): transform the caller's arrays in place of
    // copies when they have FFTW's SIMD alignment (Tensor storage does); saves 2 of ~9 passes.
    const bool same_grid = P_ == r_.n && Q_ == c_.n && r_.circular && c_.circular;
    const bool x_direct = same_grid && fft_aligned(x), y_direct = same_grid && fft_aligned(y);
    if (!x_direct) place_input(x, r_.n, c_.n, P_, Q_, s.real.data());
    plan_->forward(x_direct ? x : s.real.data(), s.spec.data());
    multiply_spectra(s.spec.data(), kspec_.data(), kspec_.size());
    plan_->inverse_unscaled(s.spec.data(), y_direct ? y : s.out.data());
    if (!y_direct) crop_output(s.out.data(), Q_, r_, c_, y);
    return;
  }
  // Blocked: output tiles of bh x bw need E tiles of Lh x Lw; the tile's cyclic convolution
  // is exact at rows >= kh-1 and cols >= kw-1 (overlap-save). Tiles are independent.
  s.ext.resize(eh * ew);
  build_extended(x, r_, c_, s.ext.data());
  const std::size_t bh = P_ - r_.k + 1, bw = Q_ - c_.k + 1;
  const std::size_t tr = (r_.out + bh - 1) / bh, tc = (c_.out + bw - 1) / bw;
  const float* ext = s.ext.data();
#pragma omp parallel if (tr * tc > 1 && double(P_ * Q_) * double(tr * tc) > 2e5 && !omp_in_parallel())
  {
    AlignedVector<float> g(P_ * Q_), out(P_ * Q_);
    AlignedVector<Complex> spec(plan_->spectrum_size());
#pragma omp for schedule(dynamic)
    for (std::size_t t = 0; t < tr * tc; ++t) {
      const std::size_t ti = (t / tc) * bh, tj = (t % tc) * bw;
      for (std::size_t i = 0; i < P_; ++i) {
        float* row = g.data() + i * Q_;
        if (ti + i >= eh) {
          std::fill(row, row + Q_, 0.0f);
          continue;
        }
        const std::size_t nw = std::min(Q_, ew - tj);
        std::memcpy(row, ext + (ti + i) * ew + tj, nw * sizeof(float));
        std::fill(row + nw, row + Q_, 0.0f);
      }
      plan_->forward(g.data(), spec.data());
      multiply_spectra(spec.data(), kspec_.data(), kspec_.size());
      plan_->inverse_unscaled(spec.data(), out.data());
      const std::size_t nh = std::min(bh, r_.out - ti), nw = std::min(bw, c_.out - tj);
      for (std::size_t i = 0; i < nh; ++i)
        std::memcpy(y + (ti + i) * c_.out + tj, out.data() + (i + r_.k - 1) * Q_ + (c_.k - 1), nw * sizeof(float));
    }
  }
}

}  // namespace fourierconv::detail
