#include "signal/choose.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "signal/engine.hpp"
#include "simd.hpp"

namespace fourierconv::signal::detail {

namespace {

// Per-core cost constants, fitted on this project's reference machine (2-core AMD EPYC, CPU
// family 26, with AVX-512; FFTW 3.3.10 Estimate plans; BENCHMARKS.md 0f: every method timed on
// images of 64^2 to 4096^2 with kernels of 3 to 63, float32, float64 and complex128, and on
// 1-D signals). They need only be right within ~1.5x: away from the crossovers the methods
// differ by far more. Work that the engines share among threads (engine_direct.cpp,
// engine_fft.cpp) is divided by the threads it gets.
struct Constants {
  double mac_ns;        // one multiply-add of the direct method's one-row kernel
  double fft_ns;        // per N log2 N of one transform of N points (r2c for reals, c2c for complex)
  double product_ns;    // per complex bin of the spectrum product
  bool planes = false;  // fft_ns is the plane transforms' (kPlaneFftNs)
};

// The one-row direct kernel (1-D signals, on one thread; 2-D borders and leftover rows)
// measured on 1-D float32/float64 signals of 8,192 and 100,000 samples with 257 and 64 taps,
// complex128 on 64^2 and 256^2 images with 15 x 15; FFTs cost more per point once a grid
// leaves the caches (kLargeGrid).
Constants constants(DType t) {
  switch (t) {
    case DType::Float32: return {0.045, 0.11, 0.2};
    case DType::Float64: return {0.075, 0.15, 0.25};
    case DType::Complex64: return {0.3, 0.16, 0.25};
    case DType::Complex128: return {0.55, 0.2, 0.3};
    default: return {0.3, 0.15, 0.25};  // integers and bool: 64-bit scalar sums
  }
}
// The several-rows kernel (engine_direct.cpp), per core: on AVX-512 1024^2 * 31^2 took 5.7 ms
// (float32) and 10.6 ms (float64) on two cores; on 8-float vectors (no AVX-512) the rates of
// the first machine (2-core Zen 3: 256^2 float32 * 15^2 in 0.67 ms), scaled by its FFTs' rate
// to this machine's (not measured on a machine without AVX-512 this time).
constexpr double kRowsMacNsFloat32 = 0.011, kRowsMacNsFloat64 = 0.021;
constexpr double kNarrowRowsMacNsFloat32 = 0.04, kNarrowRowsMacNsFloat64 = 0.08;
constexpr double kCopyNs = 0.3;       // per element copied (padding, cropping), per core
constexpr double kRowNs = 4.0;        // per output row and kernel row of the direct method (set-up)
constexpr double kFixedNs = 5e3;      // per call: checks, allocations
// More per call for an FFT method: plan lookups under the planner lock, the kernel's spectrum,
// work buffers. It also keeps tiny problems on the direct method, exact as scipy's tests
// expect of them (its choose_conv_method picks direct there too).
constexpr double kFftFixedNs = 1e4;
// Per overlap-save tile: the transforms' call overhead and the scatter of its outputs (a
// one-shot 100,000-sample float32 signal with 64 taps took 146 us in tiles).
constexpr double kTileNs = 500;
constexpr double kLargeGrid = 1 << 18;  // points beyond which a transform runs from memory
// float32 grids on the plane transforms (plane_grid, engine.hpp), per N log2 N of one
// transform: 128^2 r2c + product + c2r 18.7 us against FFTW's 41 on this machine.
constexpr double kPlaneFftNs = 0.05;

// (The plane transforms, whose passes stay in cache longer: 1024^2 1.2x, 2048^2 1.4x the
// per-point cost of 256^2.)
double fft_ns(double points, const Constants& c) {
  const double penalty = points > kLargeGrid ? (c.planes ? 1.3 : 2.0) : 1.0;
  return c.fft_ns * penalty * points * std::log2(std::max(points, 2.0));
}

}  // namespace

// (choose.hpp.) 64^2 float32 'same' with 63 x 63 sums 75% of the nominal kernel rows: the
// model counted all of them, 103 us estimated against 80 measured.
double reached_share(const ConvAxis& a) {
  if (a.ext != Extension::Fill || a.out == 0) return 1;
  const std::ptrdiff_t shift = a.start - std::ptrdiff_t(a.k - 1), n = std::ptrdiff_t(a.n), k = std::ptrdiff_t(a.k),
                       out = std::ptrdiff_t(a.out);
  // Output o reads E[o + u], u < k, which is x[o + u + shift] where 0 <= o + u + shift < n.
  auto taps = [&](std::ptrdiff_t o) {
    return std::max<std::ptrdiff_t>(0, std::min(k, n - shift - o) - std::max<std::ptrdiff_t>(0, -shift - o));
  };
  // Every tap in range for o in [-shift, n - shift - k]; the borders are counted one by one.
  const std::ptrdiff_t lo = std::clamp<std::ptrdiff_t>(-shift, 0, out), hi = std::clamp(n - shift - k + 1, lo, out);
  double sum = double(hi - lo) * double(k);
  for (std::ptrdiff_t o = 0; o < lo; ++o) sum += double(taps(o));
  for (std::ptrdiff_t o = hi; o < out; ++o) sum += double(taps(o));
  return sum / (double(out) * double(k));
}

Costs estimate_costs(const Geometry& g, DType direct_type, DType fft_type, bool zero_fill, int threads,
                     const CostModelScales& s) {
  const double B = double(g.batch_size()), xi = double(g.x_items()), ki = double(g.k_items());
  const double P = std::max(threads, 1);
  double out = 1, kp = 1, ext = 1;
  for (const ConvAxis& a : g.axes) out *= double(a.out), kp *= double(a.k), ext *= double(a.extended());
  Constants d = constants(direct_type);
  const Constants f = constants(fft_type);
  // The rest (leftover rows; border columns where the rows are not padded) runs at the one-row rate.
  const double rows_share = direct_rows_share(g, direct_type, zero_fill);
  const bool f32 = direct_type == DType::Float32;
  const double rows_rate = simd::wide_vectors() ? (f32 ? kRowsMacNsFloat32 : kRowsMacNsFloat64)
                                                : (f32 ? kNarrowRowsMacNsFloat32 : kNarrowRowsMacNsFloat64);
  d.mac_ns = rows_share * rows_rate + (1 - rows_share) * d.mac_ns;
  const bool cplx = is_complex(fft_type);
  Costs c;
  const double out_rows = out / double(g.axes.back().out), k_rows = kp / double(g.axes.back().k);
  // Rows (or row groups) are shared among the threads: one 1-D signal runs on one.
  double reached = 1;  // the taps summed: rows of the fill value are skipped
  for (std::size_t i = 0; i + 1 < g.axes.size(); ++i) reached *= reached_share(g.axes[i]);
  const double macs = B * out * kp, direct_threads = macs > kParallelMacs ? std::min(P, B * out_rows) : 1.0;
  // The scales multiply the work, not the fixed parts per call (they measure throughput).
  c.direct_fixed = kFixedNs * 1e-9, c.fft_fixed = (kFixedNs + kFftFixedNs) * 1e-9;
  c.direct = s.direct * B * (out * kp * reached * d.mac_ns + out_rows * k_rows * kRowNs + out * kCopyNs) / direct_threads +
             kFixedNs;
  // Any FFT method transforms at least every output point twice (a forward and an inverse),
  // at no less than the per-point cost of a tile twice the kernel, on every thread: when the
  // direct sum costs less than that bound, the FFT estimates (a search over tile sizes) are
  // not needed. (A bound on one whole-grid transform, as this was, is no bound for overlap-
  // save: complex128 1024^2 * 7^2 took 34 ms direct against 8.6 ms in tiles.)
  // (float32 in two axes: at the plane transforms' rate, the lower.)
  // (Scaled by the least of the FFT scales that can apply.)
  const bool f32_2d = fft_type == DType::Float32 && g.axes.size() == 2;
  const double bound_ns = f32_2d ? std::min(f.fft_ns, kPlaneFftNs) : f.fft_ns;
  const double bound = (f32_2d ? std::min(s.fft, s.plane_fft) : s.fft) * B * out * 2 * bound_ns *
                           std::log2(std::max(2 * kp, 4.0)) / P +
                       kFixedNs + kFftFixedNs;
  if (c.direct <= bound) {
    c.fft = c.blocked = INFINITY;
    c.fft_bound = bound * 1e-9;
    c.direct *= 1e-9;
    return c;
  }
  // FFT: one forward per x item, one per kernel item (made before the items run, on one
  // thread unless the grid is threaded), one inverse per output item; items on up to B threads when there are several, one
  // large grid on FFTW's threads (which scale poorly: about 1.5x on two; assumed to gain no
  // more than 2x on more, not measured), else on one.
  const bool planes = fft_type == DType::Float32 && g.axes.size() == 2;
  const std::vector<std::size_t> fgrid = fft_grid(g, zero_fill, planes);
  double grid = 1;
  for (auto L : fgrid) grid *= double(L);
  Constants fp = f;  // the whole grid's transforms
  if (planes && plane_grid(fgrid)) fp.fft_ns = kPlaneFftNs, fp.planes = true;
  // Complex bins of the product: the plane transforms' layout keeps whole blocks of 8 rows
  // (ceil((P/2 + 1) / 8) 8 Q: twice P Q / 2 on 8-row grids).
  auto bins_of = [&](const std::vector<std::size_t>& gr, bool plane, double points) {
    return plane ? double((gr[0] / 2 + 8) / 8 * 8 * gr[1]) : cplx ? points : points / 2;
  };
  const double bins = bins_of(fgrid, fp.planes, grid);
  const bool threaded_grid = B == 1 && grid >= double(kThreadedGrid);
  const double fftw_threads = std::min(1 + 0.5 * (P - 1), 2.0);
  // One grid's transforms on several threads: FFTW's on a large grid, the plane transforms'
  // (kPlaneThreadedPoints; 1.6x measured on two) on a smaller one.
  const bool split_planes = B == 1 && P >= 2 && grid >= double(kPlaneThreadedPoints) && planes && plane_grid(fgrid);
  const double grid_threads = split_planes ? 1.6 : threaded_grid ? fftw_threads : 1.0;
  const double item_threads = B > 1 && B * grid > kParallelPoints ? std::min(P, B) : grid_threads;
  const double one_grid = fft_ns(grid, fp);
  double transforms = ki * one_grid / grid_threads + (xi + B) * one_grid / item_threads;
  // One item by one kernel (FftConvolver::convolve_once): the two forward transforms side by
  // side, one per core, and the inverse alone (on several threads on a large grid).
  if (B == 1 && xi == 1 && ki == 1 && P >= 2 && side_by_side_forwards(std::size_t(grid), g.axes.size()))
    transforms = one_grid * (1 + 1 / grid_threads);
  c.fft = (fp.planes ? s.plane_fft : s.fft) * (transforms + B * (bins * f.product_ns + 2 * grid * kCopyNs) / item_threads) +
          kFixedNs + kFftFixedNs;
  // Blocked: per tile a forward, a product and an inverse, tiles on all threads; one kernel
  // transform per kernel item.
  const std::size_t cbytes = fft_type == DType::Float32 || fft_type == DType::Complex64 ? 8 : 16;
  const Blocking b = choose_blocking(g, cplx ? cbytes : cbytes / 2, planes);
  double tile = 1;
  for (auto L : b.tile) tile *= double(L);
  Constants ft = f;
  if (planes && plane_grid(b.tile)) ft.fft_ns = kPlaneFftNs, ft.planes = true;
  const double tbins = bins_of(b.tile, ft.planes, tile), items = B * double(b.tiles);
  const double tile_fft = fft_ns(tile, ft);
  const double tile_threads = items > 1 && items * tile > kParallelPoints ? std::min(P, items) : 1.0;
  c.blocked = (ft.planes ? s.plane_fft : s.fft) *
                  (ki * tile_fft + items * (2 * tile_fft + tbins * f.product_ns + 2 * tile * kCopyNs + kTileNs) / tile_threads) +
              kFixedNs + kFftFixedNs;
  if (b.tiles == 1) c.blocked = c.fft;  // one tile runs as the whole-grid FFT (engine_fft.cpp)
  c.direct *= 1e-9, c.fft *= 1e-9, c.blocked *= 1e-9;
  return c;
}

// Each scale is within [1/3, 3] (calibrate.cpp) and multiplies a method's work, not its fixed
// part: no scales can put another method under the cheapest when its work divided by 3 (plus
// its fixed part) stays above the cheapest's work tripled (plus its own). Overlap-add in one
// tile is the whole-grid FFT itself (the same estimate). Where the FFT methods were not
// estimated (the direct sum under their lower bound), nothing is measured: the bound is loose
// (256^2 * 3^2: 28 us against 250 measured), so taking it for them measured on the first call
// of nearly every small filter (8 ms on a 7 us call; a new user's finding); the price is that
// such shapes near the bound keep the fitted pick (1-D float32 512 * 255: direct 11 us, fft 18).
bool scales_can_change_choice(const Costs& c) {
  if (c.fft_bound > 0) return false;
  const double e[3] = {c.direct, c.fft, c.blocked == c.fft ? INFINITY : c.blocked};
  const double fixed[3] = {c.direct_fixed, c.fft_fixed, c.fft_fixed};
  const int m = int(std::min_element(e, e + 3) - e);
  const double worst = kMaxScale * (e[m] - fixed[m]) + fixed[m];
  for (int i = 0; i < 3; ++i)
    if (i != m && (e[i] - fixed[i]) / kMaxScale + fixed[i] < worst) return true;
  return false;
}

MethodChoice choose_by_model(const Geometry& g, DType direct_type, DType fft_type, bool zero_fill, Mode mode,
                             bool with_reason, bool calibrate) {
  const int threads = omp_get_max_threads();
  Costs c = estimate_costs(g, direct_type, fft_type, zero_fill, threads);
  bool scaled = false;
  if (calibrate && scales_can_change_choice(c) && !cost_model_fitted_only()) {
    scaled = true;
    CostModelScales s = cost_model_scales(direct_type);
    const CostModelScales fs = cost_model_scales(fft_type);
    s.fft = fs.fft, s.plane_fft = fs.plane_fft;
    c = estimate_costs(g, direct_type, fft_type, zero_fill, threads, s);
  }
  MethodChoice m;
  m.direct_us = c.direct * 1e6;
  m.fft_us = c.fft * 1e6;
  m.overlap_add_us = c.blocked * 1e6;
  if (c.direct <= c.fft && c.direct <= c.blocked) m.method = Method::Direct;
  else if (c.fft <= c.blocked) m.method = Method::Fft;
  else m.method = Method::OverlapAdd;
  if (!with_reason) return m;
  // snprintf, not a stream: a stream's construction (its locale) cost a small convolution
  // through Python, which asks for the choice, a third of its time (64^2 * 3^2: 3 of 9 us).
  char us[3][32];
  const double est[3] = {m.direct_us, m.fft_us, m.overlap_add_us};
  for (int i = 0; i < 3; ++i) std::snprintf(us[i], sizeof us[i], "%.3g", est[i]);  // a stream's precision(3)
  m.reason = to_string(m.method) + " for " + g.describe() + " (" + to_string(mode) + "): estimated direct " + us[0] +
             " us, fft " + us[1] + " us, overlap-add " + us[2] + " us";
  if (c.fft_bound > 0) {  // (inf: not estimated)
    char b[32];
    std::snprintf(b, sizeof b, "%.3g", c.fft_bound * 1e6);
    m.reason += std::string(" (fft methods not estimated: at least ") + b + " us)";
  }
  if (scaled) m.reason += " (scaled to this machine)";
  return m;
}

}  // namespace fourierconv::signal::detail
