#include "signal/choose.hpp"

#include <cmath>
#include <sstream>

#include "signal/engine.hpp"

namespace fourierconv::signal::detail {

namespace {

// Cost constants of the first machine (2-core Zen 3, FFTW 3.3.10 Estimate plans), fitted to
// `fourierconv bench --calibrate`'s timings (bench/history_first_machine.md). They need only be
// right within ~1.5x: away from the crossovers the methods differ by far more.
struct Constants {
  double mac_ns;        // one multiply-add of the direct method, both cores
  double fft_ns;        // per N log2 N of one transform of N points (r2c for reals, c2c for complex)
  double product_ns;    // per complex bin of the spectrum product
};

// Fitted to the timings of every method on 1-D, 2-D, batched and 3-D problems of each type
// (bench/history_first_machine.md, "the one-shot cost model"): float32's direct sums are
// vectorized 8 wide, the other types' less so; FFTs cost more per point once a grid leaves L2
// (kLargeGrid).
Constants constants(DType t) {
  switch (t) {
    case DType::Float32: return {0.04, 0.25, 0.5};
    case DType::Float64: return {0.07, 0.35, 0.6};
    case DType::Complex64: return {0.3, 0.45, 0.6};
    case DType::Complex128: return {0.6, 0.6, 0.8};
    default: return {0.2, 0.35, 0.6};  // integers and bool: 64-bit scalar sums
  }
}
constexpr double kCopyNs = 0.25;      // per element copied (padding, cropping)
constexpr double kRowNs = 8.0;        // per output row and kernel row of the direct method (set-up)
constexpr double kFixedNs = 5e3;      // per call: checks, allocations
// More per call for an FFT method: plan lookups under the planner lock, the kernel's spectrum,
// work buffers. It also keeps tiny problems on the direct method, exact as scipy's tests
// expect of them (its choose_conv_method picks direct there too).
constexpr double kFftFixedNs = 1e4;
constexpr double kLargeGrid = 1 << 18;  // points beyond which a transform runs from memory
// Overlap-save tiles are chosen to keep their spectra in L2: measured ~0.6x the per-point time
// of fft_ns's whole-grid fit (2-D float32 256^2 * 15^2: 0.53 ms against 0.74 estimated;
// complex128 512^2 * 9^2: 3.0 ms against 5.8).
constexpr double kInCache = 0.6;
constexpr double kL2Bytes = 512 << 10;

double fft_ns(double points, const Constants& c) {
  const double penalty = points > kLargeGrid ? 2.0 : 1.0;
  return c.fft_ns * penalty * points * std::log2(std::max(points, 2.0));
}

}  // namespace

Costs estimate_costs(const Geometry& g, DType direct_type, DType fft_type, bool zero_fill) {
  const double B = double(g.batch_size()), xi = double(g.x_items()), ki = double(g.k_items());
  double out = 1, kp = 1, ext = 1;
  for (const ConvAxis& a : g.axes) out *= double(a.out), kp *= double(a.k), ext *= double(a.extended());
  Constants d = constants(direct_type);
  const Constants f = constants(fft_type);
  // The direct method's several-rows kernel on AVX-512 (engine_direct.cpp), measured on a 2-core
  // Xeon (BENCHMARKS.md 0b): 256^2 float32 * 15^2 227 us, * 31^2 0.92 ms; float64 * 15^2
  // 0.37-0.46 ms, * 31^2 1.44-1.51 ms.
  // The rest (leftover rows; border columns where the rows are not padded) runs at the one-row rate.
  const double wide_share = direct_rows_wide_share(g, direct_type, zero_fill);
  d.mac_ns = wide_share * (direct_type == DType::Float32 ? 0.015 : 0.025) + (1 - wide_share) * d.mac_ns;
  const bool cplx = is_complex(fft_type);
  Costs c;
  const double out_rows = out / double(g.axes.back().out), k_rows = kp / double(g.axes.back().k);
  c.direct = B * (out * kp * d.mac_ns + out_rows * k_rows * kRowNs + out * kCopyNs) + kFixedNs;
  // Any FFT method transforms at least every output point twice (a forward and an inverse),
  // at no less than the per-point cost of a tile twice the kernel held in cache: when the
  // direct sum costs less than that bound, the FFT estimates (a search over tile sizes) are
  // not needed. (A bound on one whole-grid transform, as this was, is no bound for overlap-
  // save: complex128 1024^2 * 7^2 took 34 ms direct against 8.6 ms in tiles.)
  const double bound = B * out * 2 * kInCache * f.fft_ns * std::log2(std::max(2 * kp, 4.0)) + kFixedNs + kFftFixedNs;
  if (c.direct <= bound) {
    c.fft = c.blocked = INFINITY;
    c.direct *= 1e-9;
    return c;
  }
  // FFT: one forward per x item, one per kernel item, one inverse per output item.
  double grid = 1;
  for (auto L : fft_grid(g, zero_fill)) grid *= double(L);
  const double bins = cplx ? grid : grid / 2;
  // One item on a 1-D grid past kLargeGrid: its two forward transforms run side by side, one
  // per core (FftConvolver::convolve_once), costing about one.
  const double transforms = g.axes.size() == 1 && B == 1 && xi == 1 && ki == 1 && grid > kLargeGrid ? 2 : xi + ki + B;
  c.fft = transforms * fft_ns(grid, f) + B * (bins * f.product_ns + 2 * grid * kCopyNs) + kFixedNs + kFftFixedNs;
  // Blocked: per tile a forward, a product and an inverse; one kernel transform per kernel item.
  const std::size_t cbytes = fft_type == DType::Float32 || fft_type == DType::Complex64 ? 8 : 16;
  const Blocking b = choose_blocking(g, cplx ? cbytes : cbytes / 2);
  double tile = 1;
  for (auto L : b.tile) tile *= double(L);
  const double tbins = cplx ? tile : tile / 2;
  // In cache only when the tile's spectrum fits a core's L2 (1-D tiles for 65,536 taps do not).
  const double tile_bytes = tile * double(cplx ? cbytes : cbytes / 2);
  const double tile_fft = (tile_bytes <= kL2Bytes ? kInCache : 1.0) * fft_ns(tile, f);
  c.blocked = ki * tile_fft + B * double(b.tiles) * (2 * tile_fft + tbins * f.product_ns + 2 * tile * kCopyNs) + kFixedNs + kFftFixedNs;
  c.direct *= 1e-9, c.fft *= 1e-9, c.blocked *= 1e-9;
  return c;
}

MethodChoice choose_by_model(const Geometry& g, DType direct_type, DType fft_type, bool zero_fill, Mode mode,
                             bool with_reason) {
  const Costs c = estimate_costs(g, direct_type, fft_type, zero_fill);
  MethodChoice m;
  m.direct_us = c.direct * 1e6;
  m.fft_us = c.fft * 1e6;
  m.overlap_add_us = c.blocked * 1e6;
  if (c.direct <= c.fft && c.direct <= c.blocked) m.method = Method::Direct;
  else if (c.fft <= c.blocked) m.method = Method::Fft;
  else m.method = Method::OverlapAdd;
  if (!with_reason) return m;
  std::ostringstream os;
  os.precision(3);
  os << to_string(m.method) << " for " << g.describe() << " (" << to_string(mode) << "): estimated direct " << m.direct_us
     << " us, fft " << m.fft_us << " us, overlap-add " << m.overlap_add_us << " us";
  m.reason = os.str();
  return m;
}

}  // namespace fourierconv::signal::detail
