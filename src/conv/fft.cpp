#include "fourierconv/conv/fft.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fourierconv/conv/choose.hpp"
#include "fourierconv/error.hpp"
#include "plane_conv.hpp"

namespace fourierconv::conv {

bool fft_supports(const Problem& p, std::string* why) {
  std::string reason;
  if (p.sh != 1 || p.sw != 1) reason = "strides other than 1";
  else if (p.dh != 1 || p.dw != 1) reason = "dilation other than 1";
  if (why) *why = reason;
  return reason.empty();
}

std::pair<std::size_t, std::size_t> fft_grid(const Problem& p) {
  return {next_fast_size(p.h + p.pad_top + p.pad_bottom), next_fast_size(p.w + p.pad_left + p.pad_right)};
}

namespace {
constexpr std::size_t kBinBlock = 64;  // bins per block of the channel products (fits L1/L2)
}  // namespace

struct FftConv::Impl {
  // Tiled forward (overlap-save): output tiles of To_h x To_w from input tiles of Lh x Lw,
  // with their own plan and kernel spectra; 0 when the whole plane is one tile.
  std::size_t Lh = 0, Lw = 0, To_h = 0, To_w = 0, tnb = 0;
  std::shared_ptr<const FftPlan> tplan;
  std::vector<float> tcached_kernel;
  AlignedVector<Complex> tkspec;  // (C, F, tnb)

  std::size_t P = 0, Q = 0, nb = 0;
  std::shared_ptr<const FftPlan> plan;
  std::vector<float> cached_kernel;  // the kernel whose spectra kspec holds
  AlignedVector<Complex> kspec;      // (C, F, nb), 1/(P*Q) folded in
  AlignedVector<Complex> xspec;      // (N, C, nb) of the last forward
  AlignedVector<Complex> work;       // (N, F, nb) products / output gradients

  void update_kernel(const Problem& p, const float* kernel) {
    spectra_of(p, kernel, P, Q, nb, *plan, cached_kernel, kspec);
  }

  // Kernel spectra on a P x Q grid (flipped placement), recomputed only when the kernel changed.
  static void spectra_of(const Problem& p, const float* kernel, std::size_t P, std::size_t Q, std::size_t nb,
                         const FftPlan& plan, std::vector<float>& cached, AlignedVector<Complex>& kspec) {
    const std::size_t K = p.kh * p.kw * p.c * p.f;
    if (cached.size() == K && std::memcmp(cached.data(), kernel, K * sizeof(float)) == 0) return;
    cached.assign(kernel, kernel + K);
    kspec.resize(p.c * p.f * nb);
    const float s = plan.inverse_scale();
#pragma omp parallel
    {
      AlignedVector<float> grid(P * Q);
#pragma omp for schedule(static)
      for (std::size_t cf = 0; cf < p.c * p.f; ++cf) {
        const std::size_t c = cf / p.f, f = cf % p.f;
        std::fill(grid.begin(), grid.end(), 0.0f);
        // Flipped placement: k[u][v] at (-u mod P, -v mod Q) turns convolution into correlation.
        for (std::size_t u = 0; u < p.kh; ++u)
          for (std::size_t v = 0; v < p.kw; ++v)
            grid[((P - u) % P) * Q + (Q - v) % Q] = kernel[((u * p.kw + v) * p.c + c) * p.f + f];
        Complex* out = kspec.data() + cf * nb;
        plan.forward(grid.data(), out);
        for (std::size_t b = 0; b < nb; ++b) out[b] *= s;
      }
    }
  }

  // Transforms the N*C input planes (padded, at the grid's top-left) into xspec. The
  // channels-last input is first transposed to planes in row blocks (contiguous writes),
  // since gathering with a stride of C floats per element thrashes the cache.
  void transform_input(const Problem& p, const float* x) {
    xspec.resize(p.n * p.c * nb);
    planar.resize(p.n * p.c * p.h * p.w);
    to_planar(x, p.n, p.h * p.w, p.c, planar.data());
#pragma omp parallel
    {
      AlignedVector<float> grid(P * Q, 0.0f);
#pragma omp for schedule(static)
      for (std::size_t nc = 0; nc < p.n * p.c; ++nc) {
        const float* src = planar.data() + nc * p.h * p.w;
        for (std::size_t i = 0; i < P; ++i) {
          float* row = grid.data() + i * Q;
          if (i < p.pad_top || i >= p.pad_top + p.h) {
            std::fill(row, row + Q, 0.0f);
            continue;
          }
          std::fill(row, row + p.pad_left, 0.0f);
          std::memcpy(row + p.pad_left, src + (i - p.pad_top) * p.w, p.w * sizeof(float));
          std::fill(row + p.pad_left + p.w, row + Q, 0.0f);
        }
        plan->forward(grid.data(), xspec.data() + nc * nb);
      }
    }
  }

  // (N, HW, C) channels-last -> (N, C, HW) planes, and back, in cache-sized tiles.
  static void to_planar(const float* x, std::size_t n, std::size_t hw, std::size_t c, float* out) {
#pragma omp parallel for schedule(static) collapse(2)
    for (std::size_t b = 0; b < n; ++b)
      for (std::size_t i0 = 0; i0 < hw; i0 += 256)
        for (std::size_t i = i0; i < std::min(hw, i0 + 256); ++i)  // contiguous reads of the tile
          for (std::size_t ch = 0; ch < c; ++ch) out[(b * c + ch) * hw + i] = x[(b * hw + i) * c + ch];
  }

  // (N, C, HW) planes -> (N, HW, C) channels-last, plus a per-channel bias.
  static void from_planar(const float* planes, std::size_t n, std::size_t hw, std::size_t c, const float* bias,
                          float* out) {
#pragma omp parallel for schedule(static) collapse(2)
    for (std::size_t b = 0; b < n; ++b)
      for (std::size_t i0 = 0; i0 < hw; i0 += 256) {
        const std::size_t i1 = std::min(hw, i0 + 256);
        for (std::size_t ch = 0; ch < c; ++ch) {  // contiguous reads; writes stay in a 256*C tile
          const float* src = planes + (b * c + ch) * hw;
          const float bv = bias ? bias[ch] : 0.0f;
          float* dst = out + b * hw * c + ch;
          for (std::size_t i = i0; i < i1; ++i) dst[i * c] = src[i] + bv;
        }
      }
  }

  AlignedVector<float> planar, outplanes;
};

FftConv::FftConv(const Problem& p, FftRigor rigor) : impl_(std::make_unique<Impl>()) {
  std::string why;
  if (!fft_supports(p, &why)) throw Error("FftConv: the FFT algorithm does not support " + why + " (" + p.to_string() + ")");
  auto [P, Q] = fft_grid(p);
  impl_->P = P, impl_->Q = Q;
  impl_->plan = FftPlan::get({P, Q}, 1, rigor);
  impl_->nb = impl_->plan->spectrum_size();
  if (std::size_t L = fft_tile(p); L > 0 && L >= p.kh && L >= p.kw) {
    impl_->Lh = impl_->Lw = L;
    impl_->To_h = L - p.kh + 1;
    impl_->To_w = L - p.kw + 1;
    impl_->tplan = FftPlan::get({L, L}, 1, rigor);
    impl_->tnb = impl_->tplan->spectrum_size();
  }
}

FftConv::~FftConv() = default;
FftConv::FftConv(FftConv&&) noexcept = default;
FftConv& FftConv::operator=(FftConv&&) noexcept = default;

// Overlap-save: output tile (i0, j0) of To_h x To_w is the top-left of the cyclic correlation
// of the Lh x Lw padded-input tile starting at (i0, j0) with the kernel.
static void forward_tiled(FftConv::Impl& m, const Problem& p, const float* x, const float* kernel, const float* bias,
                          float* y) {
  const std::size_t C = p.c, F = p.f, Lh = m.Lh, Lw = m.Lw, tnb = m.tnb, LL = Lh * Lw;
  FftConv::Impl::spectra_of(p, kernel, Lh, Lw, tnb, *m.tplan, m.tcached_kernel, m.tkspec);
  const std::size_t th = (p.oh + m.To_h - 1) / m.To_h, tw = (p.ow + m.To_w - 1) / m.To_w;
  m.xspec.clear();  // a later backward transforms the whole planes itself
#pragma omp parallel
  {
    // Per-thread buffers kept across calls (a fresh 1-3 MB per thread each call costs page faults).
    static thread_local AlignedVector<float> grids, out, tile;
    static thread_local AlignedVector<Complex> xs, acc;
    grids.resize(C * LL);
    out.resize(LL);
    xs.resize(C * tnb);
    acc.resize(tnb);
    tile.resize(F * m.To_h * m.To_w);
#pragma omp for schedule(dynamic)
    for (std::size_t t = 0; t < p.n * th * tw; ++t) {
      const std::size_t n = t / (th * tw), i0 = (t / tw) % th * m.To_h, j0 = t % tw * m.To_w;
      // Gather all C channels of the input tile at once (contiguous reads of C floats).
      for (std::size_t r = 0; r < Lh; ++r) {
        const std::ptrdiff_t iy = std::ptrdiff_t(i0 + r) - std::ptrdiff_t(p.pad_top);
        for (std::size_t q = 0; q < Lw; ++q) {
          const std::ptrdiff_t ix = std::ptrdiff_t(j0 + q) - std::ptrdiff_t(p.pad_left);
          const bool inside = iy >= 0 && ix >= 0 && iy < std::ptrdiff_t(p.h) && ix < std::ptrdiff_t(p.w);
          const float* src = inside ? x + ((n * p.h + std::size_t(iy)) * p.w + std::size_t(ix)) * C : nullptr;
          for (std::size_t c = 0; c < C; ++c) grids[c * LL + r * Lw + q] = inside ? src[c] : 0.0f;
        }
      }
      for (std::size_t c = 0; c < C; ++c) m.tplan->forward(grids.data() + c * LL, xs.data() + c * tnb);
      const std::size_t nh = std::min(m.To_h, p.oh - i0), nw = std::min(m.To_w, p.ow - j0);
      for (std::size_t f = 0; f < F; ++f) {
        std::fill(acc.begin(), acc.end(), Complex(0, 0));
        for (std::size_t c = 0; c < C; ++c) detail::multiply_accumulate_spectra(acc.data(), xs.data() + c * tnb, m.tkspec.data() + (c * F + f) * tnb, tnb, false);
        m.tplan->inverse_unscaled(acc.data(), out.data());
        const float b = bias ? bias[f] : 0.0f;
        for (std::size_t i = 0; i < nh; ++i)
          for (std::size_t j = 0; j < nw; ++j) tile[(i * nw + j) * F + f] = out[i * Lw + j] + b;
      }
      for (std::size_t i = 0; i < nh; ++i)
        std::memcpy(y + ((n * p.oh + i0 + i) * p.ow + j0) * F, tile.data() + i * nw * F, nw * F * sizeof(float));
    }
  }
}

void FftConv::forward(const Problem& p, const float* x, const float* kernel, const float* bias, float* y) {
  Impl& m = *impl_;
  if (m.Lh) return forward_tiled(m, p, x, kernel, bias, y);
  const std::size_t nb = m.nb, N = p.n, C = p.c, F = p.f, Q = m.Q;
  m.update_kernel(p, kernel);
  m.transform_input(p, x);
  m.work.resize(N * F * nb);
  // Y[n,f] = sum_c X[n,c] K[c,f], blocked over bins.
#pragma omp parallel for schedule(static)
  for (std::size_t b0 = 0; b0 < nb; b0 += kBinBlock) {
    const std::size_t len = std::min(kBinBlock, nb - b0);
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t f = 0; f < F; ++f) {
        Complex* acc = m.work.data() + (n * F + f) * nb + b0;
        std::fill(acc, acc + len, Complex(0, 0));
        for (std::size_t c = 0; c < C; ++c)
          detail::multiply_accumulate_spectra(acc, m.xspec.data() + (n * C + c) * nb + b0, m.kspec.data() + (c * F + f) * nb + b0, len, false);
      }
  }
  // Inverse transforms into planes of oh x ow, then one tiled transpose into (N, OH, OW, F).
  const std::size_t ohw = p.oh * p.ow;
  m.outplanes.resize(N * F * ohw);
#pragma omp parallel
  {
    AlignedVector<float> grid(m.P * Q);
#pragma omp for schedule(static)
    for (std::size_t nf = 0; nf < N * F; ++nf) {
      m.plan->inverse_unscaled(m.work.data() + nf * nb, grid.data());  // destroys work: recomputed each call
      float* dst = m.outplanes.data() + nf * ohw;
      for (std::size_t i = 0; i < p.oh; ++i) std::memcpy(dst + i * p.ow, grid.data() + i * Q, p.ow * sizeof(float));
    }
  }
  Impl::from_planar(m.outplanes.data(), N, ohw, F, bias, y);
}

void FftConv::invalidate_input() { impl_->xspec.clear(); }

void FftConv::backward(const Problem& p, const float* x, const float* kernel, const float* dy, float* dx, float* dkernel,
                       float* dbias) {
  Impl& m = *impl_;
  const std::size_t nb = m.nb, N = p.n, C = p.c, F = p.f, P = m.P, Q = m.Q;
  if (m.xspec.size() != N * C * nb) m.transform_input(p, x);
  m.update_kernel(p, kernel);
  if (dbias) {
    std::fill(dbias, dbias + F, 0.0f);
    for (std::size_t i = 0; i < N * p.oh * p.ow; ++i)
      for (std::size_t f = 0; f < F; ++f) dbias[f] += dy[i * F + f];
  }
  // G[n,f] = rfft2(dy[n,...,f] embedded at the grid's top-left).
  m.work.resize(N * F * nb);
#pragma omp parallel
  {
    AlignedVector<float> grid(P * Q, 0.0f);
#pragma omp for schedule(static)
    for (std::size_t nf = 0; nf < N * F; ++nf) {
      const std::size_t n = nf / F, f = nf % F;
      std::fill(grid.begin(), grid.end(), 0.0f);
      for (std::size_t i = 0; i < p.oh; ++i)
        for (std::size_t j = 0; j < p.ow; ++j) grid[i * Q + j] = dy[((n * p.oh + i) * p.ow + j) * F + f];
      m.plan->forward(grid.data(), m.work.data() + nf * nb);
    }
  }
  if (dkernel) {
    // dKc[c,f] = (1/PQ) irfft2_unscaled(sum_n G[n,f] conj(X[n,c])); dk[u][v] = dKc[-u][-v].
    AlignedVector<Complex> acc(C * F * nb, Complex(0, 0));
#pragma omp parallel for schedule(static)
    for (std::size_t b0 = 0; b0 < nb; b0 += kBinBlock) {
      const std::size_t len = std::min(kBinBlock, nb - b0);
      for (std::size_t c = 0; c < C; ++c)
        for (std::size_t f = 0; f < F; ++f)
          for (std::size_t n = 0; n < N; ++n)
            detail::multiply_accumulate_spectra(acc.data() + (c * F + f) * nb + b0, m.work.data() + (n * F + f) * nb + b0, m.xspec.data() + (n * C + c) * nb + b0,
                 len, true);
    }
    const float s = m.plan->inverse_scale();
#pragma omp parallel
    {
      AlignedVector<float> grid(P * Q);
#pragma omp for schedule(static)
      for (std::size_t cf = 0; cf < C * F; ++cf) {
        const std::size_t c = cf / F, f = cf % F;
        m.plan->inverse_unscaled(acc.data() + cf * nb, grid.data());
        for (std::size_t u = 0; u < p.kh; ++u)
          for (std::size_t v = 0; v < p.kw; ++v)
            dkernel[((u * p.kw + v) * C + c) * F + f] = grid[((P - u) % P) * Q + (Q - v) % Q] * s;
      }
    }
  }
  if (dx) {
    // dX[n,c] = sum_f G[n,f] conj(Kc[c,f]) (the 1/PQ is in Kc); dx = the H x W window at (pt, pl).
    AlignedVector<Complex> acc(N * C * nb, Complex(0, 0));
#pragma omp parallel for schedule(static)
    for (std::size_t b0 = 0; b0 < nb; b0 += kBinBlock) {
      const std::size_t len = std::min(kBinBlock, nb - b0);
      for (std::size_t n = 0; n < N; ++n)
        for (std::size_t c = 0; c < C; ++c)
          for (std::size_t f = 0; f < F; ++f)
            detail::multiply_accumulate_spectra(acc.data() + (n * C + c) * nb + b0, m.work.data() + (n * F + f) * nb + b0, m.kspec.data() + (c * F + f) * nb + b0,
                 len, true);
    }
#pragma omp parallel
    {
      AlignedVector<float> grid(P * Q);
#pragma omp for schedule(static)
      for (std::size_t nc = 0; nc < N * C; ++nc) {
        const std::size_t n = nc / C, c = nc % C;
        m.plan->inverse_unscaled(acc.data() + nc * nb, grid.data());
        for (std::size_t i = 0; i < p.h; ++i)
          for (std::size_t j = 0; j < p.w; ++j) dx[((n * p.h + i) * p.w + j) * C + c] = grid[(i + p.pad_top) * Q + j + p.pad_left];
      }
    }
  }
}

}  // namespace fourierconv::conv
