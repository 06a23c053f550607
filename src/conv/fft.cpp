#include "fourierconv/conv/fft.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <tuple>
#include <omp.h>
#include <vector>

#include "fourierconv/conv/choose.hpp"
#include "fourierconv/error.hpp"
#include "conv/bin_gemm.hpp"
#include "plane_conv.hpp"
#include "simd.hpp"

namespace fourierconv::conv {

bool fft_supports(const Problem& p, std::string* why) {
  std::string reason;
  if (p.sh != 1 || p.sw != 1) reason = "strides other than 1";
  else if (p.dh != 1 || p.dw != 1) reason = "dilation other than 1";
  if (why) *why = reason;
  return reason.empty();
}

std::pair<std::size_t, std::size_t> fft_grid(const Problem& p) {
  return {fast_padded_size(p.h + p.pad_top + p.pad_bottom), fast_padded_size(p.w + p.pad_left + p.pad_right)};
}

namespace {
constexpr std::size_t kBackwardBins = 64;  // bins per block of the backward's channel products (fits L1/L2)
}  // namespace

struct FftConv::Impl {
  // Forward: overlap-save tiles (a single tile is the whole padded plane), transformed a group
  // at a time; the channel sums are per-bin products with blocked kernel spectra (bin_gemm).
  FftTiling tiling;
  // Bins of a tile spectrum, the same rounded up to whole bin blocks, and the floats between
  // consecutive planes or spectra in the buffers (room for either).
  std::size_t fnb = 0, fbins = 0, fslot = 0;
  std::shared_ptr<const FftPlan> fplan;
  std::vector<float> fcached_kernel;
  AlignedVector<float> kblocked;  // detail::pack_kernel_spectrum layout, 1/(lh*lw) folded in
  // Two buffers of group * max(C, F) slots, used in turn: input planes (b) -> input spectra (a)
  // -> output spectra (b) -> output planes (a); a third less memory than separate buffers,
  // which leaves the kernel spectra more room in the cache. The spectra's padding bins (past
  // fnb) hold leftovers; they meet zero kernel lanes and the c2r never reads them.
  AlignedVector<float> fbuf_a, fbuf_b;

  // Backward: whole planes of the P x Q grid.
  FftRigor rigor = FftRigor::Estimate;
  void ensure_backward_plan() {
    if (plan) return;
    plan = FftPlan::get({P, Q}, 1, rigor);
    nb = plan->spectrum_size();
  }

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

  // (N, HW, C) channels-last -> (N, C, HW) planes, a block of pixels at a time: the block's
  // reads stay in L1, and each channel's writes are one contiguous run (writing all C planes at
  // once puts C streams 4 KB-aliased apart in the same cache sets).
  static void to_planar(const float* x, std::size_t n, std::size_t hw, std::size_t c, float* out) {
    constexpr std::size_t kBlock = 256;
#pragma omp parallel for schedule(static) collapse(2)
    for (std::size_t b = 0; b < n; ++b)
      for (std::size_t i0 = 0; i0 < hw; i0 += kBlock) {
        const std::size_t i1 = std::min(hw, i0 + kBlock);
        const float* src = x + b * hw * c;
        for (std::size_t ch = 0; ch < c; ++ch) {
          float* dst = out + (b * c + ch) * hw;
          for (std::size_t i = i0; i < i1; ++i) dst[i] = src[i * c + ch];
        }
      }
  }

  AlignedVector<float> planar;  // the input as (N, C, H, W) planes
};

FftConv::FftConv(const Problem& p, FftRigor rigor) : FftConv(p, fft_supports(p) ? fft_tiling(p) : FftTiling{}, rigor) {}

FftConv::FftConv(const Problem& p, const FftTiling& tiling, FftRigor rigor) : impl_(std::make_unique<Impl>()) {
  std::string why;
  if (!fft_supports(p, &why)) throw Error("FftConv: the FFT algorithm does not support " + why + " (" + p.to_string() + ")");
  if (tiling.lh < p.kh || tiling.lw < p.kw || tiling.group == 0 ||
      tiling.th * (tiling.lh - p.kh + 1) < p.oh || tiling.tw * (tiling.lw - p.kw + 1) < p.ow)
    throw Error("FftConv: tiling " + std::to_string(tiling.th) + "x" + std::to_string(tiling.tw) + " tiles of " +
                std::to_string(tiling.lh) + "x" + std::to_string(tiling.lw) + " (group " + std::to_string(tiling.group) +
                ") does not cover " + p.to_string());
  Impl& m = *impl_;
  std::tie(m.P, m.Q) = fft_grid(p);
  m.rigor = rigor;  // the backward's plan is made by the first backward (inference never needs it)
  m.tiling = tiling;
  m.fplan = FftPlan::get({m.tiling.lh, m.tiling.lw}, 1, rigor);
  m.fnb = m.fplan->spectrum_size();
  m.fbins = (m.fnb + detail::kBinBlock - 1) / detail::kBinBlock * detail::kBinBlock;
  // 64-byte aligned slots, not a multiple of 4 KB apart (rows of different planes would share
  // cache sets: planes of 288 x 288 floats are 81 x 4 KB).
  m.fslot = std::max((m.tiling.lh * m.tiling.lw + 15) / 16 * 16, 2 * m.fbins);
  if (m.fslot % 1024 == 0) m.fslot += 16;
}

FftConv::~FftConv() = default;
FftConv::FftConv(FftConv&&) noexcept = default;
FftConv& FftConv::operator=(FftConv&&) noexcept = default;

namespace {

// Pixels x channels (channels-last, `count` pixels of C floats) -> C plane rows `plane` floats
// apart, in 8 x 8 register transposes where C allows.
void gather_channels(const float* px, std::size_t count, std::size_t C, float* planes, std::size_t plane) {
  std::size_t q = 0;
  if (C % 8 == 0)
    for (; q + 8 <= count; q += 8)
      for (std::size_t c = 0; c < C; c += 8) {
        simd::v8 r[8];
        for (int i = 0; i < 8; ++i) r[i] = simd::loadu(px + (q + i) * C + c);
        simd::transpose8x8(r);
        for (int i = 0; i < 8; ++i) simd::storeu(planes + (c + i) * plane + q, r[i]);
      }
  for (; q < count; ++q)
    for (std::size_t c = 0; c < C; ++c) planes[c * plane + q] = px[q * C + c];
}

// The inverse: F plane rows -> `count` channels-last pixels, plus the bias (may be null).
void scatter_channels(const float* planes, std::size_t plane, std::size_t count, std::size_t F, const float* bias,
                      float* px) {
  std::size_t j = 0;
  if (F % 8 == 0)
    for (; j + 8 <= count; j += 8)
      for (std::size_t f = 0; f < F; f += 8) {
        simd::v8 r[8];
        for (int i = 0; i < 8; ++i) r[i] = simd::loadu(planes + (f + i) * plane + j);
        simd::transpose8x8(r);
        const simd::v8 b = bias ? simd::loadu(bias + f) : simd::v8{};
        for (int i = 0; i < 8; ++i) simd::storeu(px + (j + i) * F + f, r[i] + b);
      }
  for (; j < count; ++j)
    for (std::size_t f = 0; f < F; ++f) px[j * F + f] = planes[f * plane + j] + (bias ? bias[f] : 0.0f);
}

// The blocked kernel spectra of the forward's tiles, recomputed only when the kernel changed.
void update_forward_kernel(FftConv::Impl& m, const Problem& p, const float* kernel) {
  const std::size_t K = p.kh * p.kw * p.c * p.f;
  if (m.fcached_kernel.size() == K && std::memcmp(m.fcached_kernel.data(), kernel, K * sizeof(float)) == 0) return;
  m.fcached_kernel.assign(kernel, kernel + K);
  const std::size_t lh = m.tiling.lh, lw = m.tiling.lw, C = p.c, F = p.f;
  m.kblocked.resize(detail::packed_kernel_size(m.fnb, C, F));
  const float s = m.fplan->inverse_scale();
#pragma omp parallel
  {
    AlignedVector<float> grid(lh * lw);
    AlignedVector<Complex> spectrum(m.fnb);
#pragma omp for schedule(static)
    for (std::size_t cf = 0; cf < C * F; ++cf) {
      const std::size_t c = cf / F, f = cf % F;
      std::fill(grid.begin(), grid.end(), 0.0f);
      // Flipped placement: k[u][v] at (-u mod lh, -v mod lw) turns convolution into correlation.
      for (std::size_t u = 0; u < p.kh; ++u)
        for (std::size_t v = 0; v < p.kw; ++v)
          grid[((lh - u) % lh) * lw + (lw - v) % lw] = kernel[((u * p.kw + v) * C + c) * F + f];
      m.fplan->forward(grid.data(), spectrum.data());
      detail::pack_kernel_spectrum(spectrum.data(), m.fnb, C, F, c, f, s, m.kblocked.data());
    }
  }
}

}  // namespace

// Overlap-save: the input tile whose top-left is (i0, j0) in padded coordinates gives, as the
// top-left (lh - kh + 1) x (lw - kw + 1) of its cyclic correlation with the kernel, the outputs
// starting at (i0, j0). Tiles go a group at a time through: planes -> r2c -> per-bin products
// -> c2r -> channels-last output.
void FftConv::forward(const Problem& p, const float* x, const float* kernel, const float* bias, float* y) {
  Impl& m = *impl_;
  const FftTiling& T = m.tiling;
  const std::size_t C = p.c, F = p.f, lh = T.lh, lw = T.lw, to_h = lh - p.kh + 1, to_w = lw - p.kw + 1;
  const std::size_t per_image = T.tiles(), total = p.n * per_image, G = T.group, slot = m.fslot;
  update_forward_kernel(m, p, kernel);
  m.xspec.clear();  // a later backward transforms the whole planes itself
  m.fbuf_a.resize(G * std::max(C, F) * slot);
  m.fbuf_b.resize(G * std::max(C, F) * slot);
  float* const in_planes = m.fbuf_b.data();
  Complex* const xs = reinterpret_cast<Complex*>(m.fbuf_a.data());
  Complex* const ys = reinterpret_cast<Complex*>(m.fbuf_b.data());
  float* const out_planes = m.fbuf_a.data();
  const std::size_t blocks = m.fbins / detail::kBinBlock;
  for (std::size_t g0 = 0; g0 < total; g0 += G) {
    const std::size_t gn = std::min(G, total - g0);
    auto origin = [&](std::size_t g, std::size_t& n, std::size_t& i0, std::size_t& j0) {
      n = g / per_image;
      i0 = (g % per_image) / T.tw * to_h;
      j0 = g % T.tw * to_w;
    };
#pragma omp parallel
    {
      // Input tiles (zero outside the image) as C planes each, a row of all channels at a time
      // (contiguous reads of the channels-last input).
#pragma omp for schedule(static)
      for (std::size_t tr = 0; tr < gn * lh; ++tr) {
        const std::size_t t = tr / lh, r = tr % lh;
        std::size_t n, i0, j0;
        origin(g0 + t, n, i0, j0);
        float* dst = in_planes + t * C * slot + r * lw;
        // Columns [q0, q1) of the tile fall inside the image.
        const std::ptrdiff_t x0 = std::ptrdiff_t(j0) - std::ptrdiff_t(p.pad_left);
        const std::ptrdiff_t iy = std::ptrdiff_t(i0 + r) - std::ptrdiff_t(p.pad_top);
        std::size_t q0 = std::size_t(std::clamp<std::ptrdiff_t>(-x0, 0, std::ptrdiff_t(lw)));
        std::size_t q1 = std::size_t(std::clamp<std::ptrdiff_t>(std::ptrdiff_t(p.w) - x0, std::ptrdiff_t(q0), std::ptrdiff_t(lw)));
        if (iy < 0 || iy >= std::ptrdiff_t(p.h)) q0 = q1 = 0;
        const float* src = x + ((n * p.h + std::size_t(std::max<std::ptrdiff_t>(iy, 0))) * p.w) * C;
        for (std::size_t c = 0; c < C; ++c) {
          float* row = dst + c * slot;
          std::fill(row, row + q0, 0.0f);
          std::fill(row + q1, row + lw, 0.0f);
        }
        if (q1 > q0) gather_channels(src + std::size_t(x0 + std::ptrdiff_t(q0)) * C, q1 - q0, C, dst + q0, slot);
      }
#pragma omp for schedule(static)
      for (std::size_t tc = 0; tc < gn * C; ++tc) m.fplan->forward(in_planes + tc * slot, xs + tc * slot / 2);
      // Y[t][f] = sum_c X[t][c] K[c][f], bin block by bin block.
      {
        const std::size_t nt = std::size_t(omp_get_num_threads()), id = std::size_t(omp_get_thread_num());
        detail::bin_gemm(xs, m.kblocked.data(), ys, gn, C, F, slot / 2, blocks * id / nt,
                         blocks * (id + 1) / nt);
      }
#pragma omp barrier
      // Output tile planes (c2r destroys ys; it is rewritten for every group).
#pragma omp for schedule(static)
      for (std::size_t tf = 0; tf < gn * F; ++tf)
        m.fplan->inverse_unscaled(ys + tf * slot / 2, out_planes + tf * slot);
      // The valid to_h x to_w corner of each tile, channels last, plus the bias.
#pragma omp for schedule(static)
      for (std::size_t ti = 0; ti < gn * to_h; ++ti) {
        const std::size_t t = ti / to_h, i = ti % to_h;
        std::size_t n, i0, j0;
        origin(g0 + t, n, i0, j0);
        if (i0 + i >= p.oh) continue;
        const std::size_t nw = std::min(to_w, p.ow - j0);
        float* dst = y + ((n * p.oh + i0 + i) * p.ow + j0) * F;
        const float* src = out_planes + t * F * slot + i * lw;
        scatter_channels(src, slot, nw, F, bias, dst);
      }
    }
  }
}

void FftConv::invalidate_input() { impl_->xspec.clear(); }

void FftConv::backward(const Problem& p, const float* x, const float* kernel, const float* dy, float* dx, float* dkernel,
                       float* dbias) {
  Impl& m = *impl_;
  m.ensure_backward_plan();
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
    for (std::size_t b0 = 0; b0 < nb; b0 += kBackwardBins) {
      const std::size_t len = std::min(kBackwardBins, nb - b0);
      for (std::size_t c = 0; c < C; ++c)
        for (std::size_t f = 0; f < F; ++f)
          for (std::size_t n = 0; n < N; ++n)
            fourierconv::detail::multiply_accumulate_spectra(acc.data() + (c * F + f) * nb + b0, m.work.data() + (n * F + f) * nb + b0, m.xspec.data() + (n * C + c) * nb + b0,
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
    for (std::size_t b0 = 0; b0 < nb; b0 += kBackwardBins) {
      const std::size_t len = std::min(kBackwardBins, nb - b0);
      for (std::size_t n = 0; n < N; ++n)
        for (std::size_t c = 0; c < C; ++c)
          for (std::size_t f = 0; f < F; ++f)
            fourierconv::detail::multiply_accumulate_spectra(acc.data() + (n * C + c) * nb + b0, m.work.data() + (n * F + f) * nb + b0, m.kspec.data() + (c * F + f) * nb + b0,
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
