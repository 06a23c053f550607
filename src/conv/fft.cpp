#include "fourierconv/conv/fft.hpp"

#include <algorithm>
#include <cstring>
#include <omp.h>
#include <vector>

#include "fourierconv/conv/choose.hpp"
#include "fourierconv/error.hpp"
#include "conv/bin_gemm.hpp"
#include "real_pairs.hpp"
#include "simd.hpp"

namespace fourierconv::conv {

bool fft_supports(const Problem& p, std::string* why) {
  std::string reason;
  if (p.sh != 1 || p.sw != 1) reason = "strides other than 1";
  else if (p.dh != 1 || p.dw != 1) reason = "dilation other than 1";
  if (why) *why = reason;
  return reason.empty();
}

Problem input_gradient_problem(const Problem& p) {
  Problem q = p;
  q.h = p.oh, q.w = p.ow, q.c = p.f, q.f = p.c;
  q.pad_top = p.kh - 1 - p.pad_top, q.pad_bottom = p.kh - 1 - p.pad_bottom;
  q.pad_left = p.kw - 1 - p.pad_left, q.pad_right = p.kw - 1 - p.pad_right;
  q.oh = p.h, q.ow = p.w;
  return q;
}

struct FftConv::Impl {
  // Overlap-save tiles (a single tile is the whole padded plane), transformed a group at a
  // time, two channels per complex transform; the channel sums are per-bin products.
  FftTiling tiling;
  // Bins of a tile's half spectrum, the same rounded up to whole bin blocks, and the floats
  // between consecutive slots of the buffers (a real plane or a half spectrum; a pair plane,
  // lh x lw complex, takes two slots).
  std::size_t fnb = 0, fbins = 0, fslot = 0;
  std::shared_ptr<const FftPlan> fplan;         // r2c/c2r: kernel spectra, an odd channel or filter
  std::shared_ptr<const ComplexFftPlan> cplan;  // c2c: two channels or filters at once
  std::vector<float> fcached_kernel;            // the kernel whose spectra kblocked holds
  AlignedVector<float> kblocked;                // detail::pack_kernel_spectrum layout, scales folded in
  // Buffers of group * (max(C, F) + 1) slots. Forward, in turn: input pair planes (b) -> input
  // half spectra (a) -> output half spectra (b) -> output pair planes (a); a third less memory
  // than separate buffers, which leaves the kernel spectra more room in the cache. Kernel
  // gradient: pair planes (c), input spectra (a), output-gradient spectra (b). Padding bins
  // (past fnb) hold leftovers; they meet zero kernel lanes and no transform reads them.
  AlignedVector<float> fbuf_a, fbuf_b, fbuf_c;
  AlignedVector<Complex> dk_spectra;  // (C, F, fbins): the kernel gradient's sums over tiles
  // The input gradient is a forward problem of its own (input_gradient_problem) on a second
  // FftConv, made by the first backward that asks for it.
  FftRigor rigor = FftRigor::Estimate;
  std::unique_ptr<FftConv> dx_conv;
  std::vector<float> rotated;  // the kernel rotated by 180 degrees, (kh, kw, F, C)
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
  m.rigor = rigor;
  m.tiling = tiling;
  m.fplan = FftPlan::get({m.tiling.lh, m.tiling.lw}, 1, rigor);
  m.cplan = ComplexFftPlan::get(m.tiling.lh, m.tiling.lw, rigor);
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

// Channels-last pixels -> pair plane rows: `count` pixels of C floats become C/2 complex rows
// (channel 2m the real part, 2m+1 the imaginary part), rows `pslot` floats apart; the two
// channels of a pair are adjacent in a pixel, so this is a transpose of 64-bit pairs, done in
// 4 x 4 register blocks where C allows. An odd last channel is not handled here.
FC_MULTIVERSION void gather_pairs(const float* px, std::size_t count, std::size_t C, float* rows, std::size_t pslot) {
  const std::size_t pairs = C / 2;
  std::size_t q = 0;
  if (C % 8 == 0)
    for (; q + 4 <= count; q += 4)
      for (std::size_t m = 0; m < pairs; m += 4) {
        simd::v4d r[4];
        for (int i = 0; i < 4; ++i) r[i] = simd::loadu_pairs(px + (q + i) * C + 2 * m);
        simd::transpose4x4(r);
        for (int j = 0; j < 4; ++j) simd::storeu_pairs(rows + (m + j) * pslot + 2 * q, r[j]);
      }
  for (; q < count; ++q)
    for (std::size_t m = 0; m < pairs; ++m) {
      rows[m * pslot + 2 * q] = px[q * C + 2 * m];
      rows[m * pslot + 2 * q + 1] = px[q * C + 2 * m + 1];
    }
}

// The inverse: F/2 complex rows (filter 2n the real part, 2n+1 the imaginary part) -> `count`
// channels-last pixels of F floats, plus the bias (may be null). An odd last filter is not
// handled here.
FC_MULTIVERSION void scatter_pairs(const float* rows, std::size_t pslot, std::size_t count, std::size_t F, const float* bias,
                   float* px) {
  const std::size_t pairs = F / 2;
  std::size_t j = 0;
  if (F % 8 == 0)
    for (; j + 4 <= count; j += 4)
      for (std::size_t n = 0; n < pairs; n += 4) {
        simd::v4d r[4];
        for (int i = 0; i < 4; ++i) r[i] = simd::loadu_pairs(rows + (n + i) * pslot + 2 * j);
        simd::transpose4x4(r);
        const simd::v8 b = bias ? simd::loadu(bias + 2 * n) : simd::v8{};
        for (int k = 0; k < 4; ++k) {
          simd::v8 v;
          std::memcpy(&v, &r[k], sizeof v);
          simd::storeu(px + (j + k) * F + 2 * n, v + b);
        }
      }
  for (; j < count; ++j)
    for (std::size_t n = 0; n < pairs; ++n) {
      px[j * F + 2 * n] = rows[n * pslot + 2 * j] + (bias ? bias[2 * n] : 0.0f);
      px[j * F + 2 * n + 1] = rows[n * pslot + 2 * j + 1] + (bias ? bias[2 * n + 1] : 0.0f);
    }
}

// Row r of a tile, as C/2 pair rows (and the odd channel's real row): column q of the tile
// shows pixel (iy, x0 + q) of `img` (h x w x C, channels last) for q < cols, 0 beyond and
// outside the image (iy outside [0, h): a zero row). `pairs` is the tile's first pair region.
void fill_tile_row(const float* img, std::size_t h, std::size_t w, std::size_t C, std::ptrdiff_t iy, std::ptrdiff_t x0,
                   std::size_t cols, std::size_t lw, std::size_t r, float* pairs, std::size_t pslot) {
  std::size_t q0 = std::size_t(std::clamp<std::ptrdiff_t>(-x0, 0, std::ptrdiff_t(cols)));
  std::size_t q1 = std::size_t(std::clamp<std::ptrdiff_t>(std::ptrdiff_t(w) - x0, std::ptrdiff_t(q0), std::ptrdiff_t(cols)));
  if (iy < 0 || iy >= std::ptrdiff_t(h)) q0 = q1 = 0;
  const float* first = q1 > q0 ? img + (std::size_t(iy) * w + std::size_t(x0 + std::ptrdiff_t(q0))) * C : nullptr;
  float* dst = pairs + r * 2 * lw;
  for (std::size_t pr = 0; pr < C / 2; ++pr) {
    float* row = dst + pr * pslot;
    std::fill(row, row + 2 * q0, 0.0f);
    std::fill(row + 2 * q1, row + 2 * lw, 0.0f);
  }
  if (first) gather_pairs(first, q1 - q0, C, dst + 2 * q0, pslot);
  if (C % 2) {  // the odd channel: a real plane row
    float* row = pairs + (C / 2) * pslot + r * lw;
    std::fill(row, row + q0, 0.0f);
    std::fill(row + q1, row + lw, 0.0f);
    for (std::size_t q = q0; q < q1; ++q) row[q] = first[(q - q0) * C + C - 1];
  }
}

// Half spectra of pair pr of a tile (channels 2pr, 2pr+1 through one c2c, separated; an odd
// last channel through r2c) into spectra + c * sstride (complex), `full` a scratch of lh*lw.
void pair_spectra(const FftConv::Impl& m, const float* pairs, std::size_t pslot, std::size_t C, std::size_t pr,
                  Complex* spectra, std::size_t sstride, Complex* full) {
  const std::size_t c = 2 * pr;
  const float* region = pairs + pr * pslot;
  if (c + 1 < C) {
    m.cplan->forward(reinterpret_cast<const Complex*>(region), full);
    fourierconv::detail::separate_pair(full, m.tiling.lh, m.tiling.lw, spectra + c * sstride, spectra + (c + 1) * sstride);
  } else {
    m.fplan->forward(region, spectra + c * sstride);
  }
}

// Tile g of the tiling (numbered image by image, row by row): its image n and the top-left
// (i0, j0) of its input window in padded coordinates, which is also the position of its first
// output.
struct TileOrigin {
  std::size_t n, i0, j0;
};
TileOrigin tile_origin(const Problem& p, const FftTiling& t, std::size_t g) {
  const std::size_t per_image = t.tiles();
  return {g / per_image, (g % per_image) / t.tw * (t.lh - p.kh + 1), g % t.tw * (t.lw - p.kw + 1)};
}

// Within a parallel region: the half spectra of input tiles g0 .. g0+gn-1, through pair planes
// (`pairs`, ceil(C/2) pair regions per tile) into slots t*C + c of `xs`.
void input_tile_spectra(const FftConv::Impl& m, const Problem& p, const float* x, std::size_t g0, std::size_t gn,
                        float* pairs, Complex* xs, Complex* full) {
  const std::size_t C = p.c, Cp = (C + 1) / 2, lh = m.tiling.lh, lw = m.tiling.lw, pslot = 2 * m.fslot;
  // A row of all channels at a time: contiguous reads of the channels-last input.
#pragma omp for schedule(static)
  for (std::size_t tr = 0; tr < gn * lh; ++tr) {
    const std::size_t t = tr / lh, r = tr % lh;
    const TileOrigin o = tile_origin(p, m.tiling, g0 + t);
    fill_tile_row(x + o.n * p.h * p.w * C, p.h, p.w, C, std::ptrdiff_t(o.i0 + r) - std::ptrdiff_t(p.pad_top),
                  std::ptrdiff_t(o.j0) - std::ptrdiff_t(p.pad_left), lw, lw, r, pairs + t * Cp * pslot, pslot);
  }
#pragma omp for schedule(static)
  for (std::size_t tp = 0; tp < gn * Cp; ++tp)
    pair_spectra(m, pairs + tp / Cp * Cp * pslot, pslot, C, tp % Cp, xs + tp / Cp * C * m.fslot / 2, m.fslot / 2, full);
}

// The blocked kernel spectra of the forward's tiles, recomputed only when the kernel changed.
// Channels that travel in pairs carry twice their spectrum (detail::separate_pair), so their kernel
// rows get the 1/2 here.
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
      const bool paired = c < C / 2 * 2;
      detail::pack_kernel_spectrum(spectrum.data(), m.fnb, C, F, c, f, paired ? 0.5f * s : s, m.kblocked.data());
    }
  }
}

}  // namespace

// Overlap-save: the input tile whose top-left is (i0, j0) in padded coordinates gives, as the
// top-left (lh - kh + 1) x (lw - kw + 1) of its cyclic correlation with the kernel, the outputs
// starting at (i0, j0). Tiles go a group at a time through: pair planes (two channels as one
// complex plane) -> c2c -> the two half spectra -> per-bin products -> pairs of output spectra
// combined -> c2c -> channels-last output. An odd last channel or filter goes through r2c/c2r.
void FftConv::forward(const Problem& p, const float* x, const float* kernel, const float* bias, float* y) {
  Impl& m = *impl_;
  const FftTiling& T = m.tiling;
  const std::size_t C = p.c, F = p.f, lh = T.lh, lw = T.lw, to_h = lh - p.kh + 1, to_w = lw - p.kw + 1;
  const std::size_t per_image = T.tiles(), total = p.n * per_image, G = T.group, slot = m.fslot;
  const std::size_t Fp = (F + 1) / 2, pslot = 2 * slot;  // pair regions: two slots
  update_forward_kernel(m, p, kernel);
  m.fbuf_a.resize(G * (std::max(C, F) + 1) * slot);
  m.fbuf_b.resize(G * (std::max(C, F) + 1) * slot);
  float* const in_pairs = m.fbuf_b.data();                           // (t, pair) regions
  Complex* const xs = reinterpret_cast<Complex*>(m.fbuf_a.data());    // (t, c) slots
  Complex* const ys = reinterpret_cast<Complex*>(m.fbuf_b.data());    // (t, f) slots
  float* const out_pairs = m.fbuf_a.data();                          // (t, pair) regions
  const std::size_t blocks = m.fbins / detail::kBinBlock;
  for (std::size_t g0 = 0; g0 < total; g0 += G) {
    const std::size_t gn = std::min(G, total - g0);
#pragma omp parallel
    {
      static thread_local AlignedVector<Complex> full;  // one full lh x lw spectrum
      full.resize(lh * lw);
      input_tile_spectra(m, p, x, g0, gn, in_pairs, xs, full.data());
      // Y[t][f] = sum_c X[t][c] K[c][f], bin block by bin block.
      {
        const std::size_t nt = std::size_t(omp_get_num_threads()), id = std::size_t(omp_get_thread_num());
        detail::bin_gemm(xs, m.kblocked.data(), ys, gn, C, F, slot / 2, blocks * id / nt, blocks * (id + 1) / nt);
      }
#pragma omp barrier
      // Output tiles, two filters per complex transform (c2r destroys its input: ys is
      // rewritten for every group).
#pragma omp for schedule(static)
      for (std::size_t tp = 0; tp < gn * Fp; ++tp) {
        const std::size_t t = tp / Fp, pr = tp % Fp, f = 2 * pr;
        Complex* y0 = ys + (t * F + f) * slot / 2;
        float* region = out_pairs + tp * pslot;
        if (f + 1 < F) {
          fourierconv::detail::combine_pair(y0, y0 + slot / 2, lh, lw, full.data());
          m.cplan->backward_unscaled(full.data(), reinterpret_cast<Complex*>(region));
        } else {
          m.fplan->inverse_unscaled(y0, region);
        }
      }
      // The valid to_h x to_w corner of each tile, channels last, plus the bias.
#pragma omp for schedule(static)
      for (std::size_t ti = 0; ti < gn * to_h; ++ti) {
        const std::size_t t = ti / to_h, i = ti % to_h;
        const TileOrigin o = tile_origin(p, T, g0 + t);
        if (o.i0 + i >= p.oh) continue;
        const std::size_t nw = std::min(to_w, p.ow - o.j0);
        float* dst = y + ((o.n * p.oh + o.i0 + i) * p.ow + o.j0) * F;
        scatter_pairs(out_pairs + t * Fp * pslot + i * 2 * lw, pslot, nw, F, bias, dst);
        if (F % 2) {  // the odd filter: a real plane row
          const float* row = out_pairs + (t * Fp + F / 2) * pslot + i * lw;
          const float b = bias ? bias[F - 1] : 0.0f;
          for (std::size_t j = 0; j < nw; ++j) dst[j * F + F - 1] = row[j] + b;
        }
      }
    }
  }
}

namespace {

// The kernel gradient on the forward's tiles. Per tile, the spectra of the input tile (X) and
// of the output-gradient tile (G: the tile's outputs at its top-left, zero elsewhere); summed
// over tiles, D[c][f] = X conj(G) is the spectrum of the circular correlation whose lags
// (u, v) < (kh, kw) are dK[u][v][c][f] (no wrap-around: a tile's outputs are lh - kh + 1 rows
// of an lh-row tile). The C*F inverse transforms are of tile size, two per complex transform.
void kernel_gradient(FftConv::Impl& m, const Problem& p, const float* x, const float* dy, float* dk) {
  const FftTiling& T = m.tiling;
  const std::size_t C = p.c, F = p.f, lh = T.lh, lw = T.lw, to_h = lh - p.kh + 1, to_w = lw - p.kw + 1;
  const std::size_t per_image = T.tiles(), total = p.n * per_image, G = T.group, slot = m.fslot;
  const std::size_t Fp = (F + 1) / 2, pslot = 2 * slot, sb = slot / 2, dstride = m.fbins;
  const std::size_t slots = G * (std::max(C, F) + 1) * slot;
  m.fbuf_a.resize(slots);
  m.fbuf_b.resize(slots);
  m.fbuf_c.resize(slots);
  m.dk_spectra.resize(C * F * dstride);
  std::fill(m.dk_spectra.begin(), m.dk_spectra.end(), Complex(0, 0));
  Complex* const xs = reinterpret_cast<Complex*>(m.fbuf_a.data());
  Complex* const gs = reinterpret_cast<Complex*>(m.fbuf_b.data());
  float* const pairs = m.fbuf_c.data();
  Complex* const D = m.dk_spectra.data();
  const std::size_t blocks = m.fbins / detail::kBinBlock;
  for (std::size_t g0 = 0; g0 < total; g0 += G) {
    const std::size_t gn = std::min(G, total - g0);
#pragma omp parallel
    {
      static thread_local AlignedVector<Complex> full;
      full.resize(lh * lw);
      input_tile_spectra(m, p, x, g0, gn, pairs, xs, full.data());
#pragma omp for schedule(static)
      for (std::size_t tr = 0; tr < gn * lh; ++tr) {
        const std::size_t t = tr / lh, r = tr % lh;
        const TileOrigin o = tile_origin(p, T, g0 + t);
        const std::ptrdiff_t iy = r < to_h ? std::ptrdiff_t(o.i0 + r) : -1;  // rows past the tile's outputs: 0
        fill_tile_row(dy + o.n * p.oh * p.ow * F, p.oh, p.ow, F, iy, std::ptrdiff_t(o.j0), to_w, lw, r,
                      pairs + t * Fp * pslot, pslot);
      }
#pragma omp for schedule(static)
      for (std::size_t tp = 0; tp < gn * Fp; ++tp)
        pair_spectra(m, pairs + tp / Fp * Fp * pslot, pslot, F, tp % Fp, gs + tp / Fp * F * sb, sb, full.data());
      {
        const std::size_t nt = std::size_t(omp_get_num_threads()), id = std::size_t(omp_get_thread_num());
        detail::bin_gemm_conj_tiles(xs, gs, D, gn, C, F, sb, dstride, blocks * id / nt, blocks * (id + 1) / nt);
      }
#pragma omp barrier
    }
  }
  // Inverse transforms, two (c, f) planes per complex transform; separate_pair doubled the
  // spectra of paired channels and filters.
  const std::size_t CF = C * F;
  const float s = m.fplan->inverse_scale();
  auto scale = [&](std::size_t cf) {
    const std::size_t c = cf / F, f = cf % F;
    return s * (c < C / 2 * 2 ? 0.5f : 1.0f) * (f < F / 2 * 2 ? 0.5f : 1.0f);
  };
  auto store = [&](std::size_t cf, const float* plane, std::size_t step) {  // plane: lh x lw, `step` floats apart
    const std::size_t c = cf / F, f = cf % F;
    const float sc = scale(cf);
    for (std::size_t u = 0; u < p.kh; ++u)
      for (std::size_t v = 0; v < p.kw; ++v) dk[((u * p.kw + v) * C + c) * F + f] = plane[(u * lw + v) * step] * sc;
  };
#pragma omp parallel
  {
    static thread_local AlignedVector<Complex> full, out;
    full.resize(lh * lw);
    out.resize(lh * lw);
#pragma omp for schedule(static)
    for (std::size_t q = 0; q < (CF + 1) / 2; ++q) {
      const std::size_t cf = 2 * q;
      if (cf + 1 < CF) {
        fourierconv::detail::combine_pair(D + cf * dstride, D + (cf + 1) * dstride, lh, lw, full.data());
        m.cplan->backward_unscaled(full.data(), out.data());
        const float* o = reinterpret_cast<const float*>(out.data());
        store(cf, o, 2);
        store(cf + 1, o + 1, 2);
      } else {
        float* plane = reinterpret_cast<float*>(out.data());
        m.fplan->inverse_unscaled(D + cf * dstride, plane);
        store(cf, plane, 1);
      }
    }
  }
}

}  // namespace

void FftConv::backward(const Problem& p, const float* x, const float* kernel, const float* dy, float* dx, float* dkernel,
                       float* dbias) {
  Impl& m = *impl_;
  if (dbias) {
    std::fill(dbias, dbias + p.f, 0.0f);
    for (std::size_t i = 0; i < p.n * p.oh * p.ow; ++i)
      for (std::size_t f = 0; f < p.f; ++f) dbias[f] += dy[i * p.f + f];
  }
  if (dx) {
    // dx is the correlation of dy (padded by k-1-pad) with the kernel rotated by 180 degrees,
    // channels and filters swapped: a forward problem of its own, on the tiled path.
    const Problem q = input_gradient_problem(p);
    if (!m.dx_conv) m.dx_conv = std::make_unique<FftConv>(q, m.rigor);
    m.rotated.resize(p.kh * p.kw * p.c * p.f);
    for (std::size_t u = 0; u < p.kh; ++u)
      for (std::size_t v = 0; v < p.kw; ++v)
        for (std::size_t c = 0; c < p.c; ++c)
          for (std::size_t f = 0; f < p.f; ++f)
            m.rotated[((u * p.kw + v) * p.f + f) * p.c + c] =
                kernel[(((p.kh - 1 - u) * p.kw + (p.kw - 1 - v)) * p.c + c) * p.f + f];
    m.dx_conv->forward(q, dy, m.rotated.data(), nullptr, dx);
  }
  if (dkernel) kernel_gradient(m, p, x, dy, dkernel);
}

}  // namespace fourierconv::conv
