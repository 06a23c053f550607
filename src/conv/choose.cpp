#include "fourierconv/conv/choose.hpp"

#include <cmath>
#include <algorithm>
#include <cstdlib>
#include <vector>
#include <sstream>

#include "fourierconv/conv/direct.hpp"
#include "fourierconv/conv/winograd.hpp"
#include "fourierconv/conv/fft.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/fft.hpp"
#include "simd.hpp"

namespace fourierconv::conv {
namespace {

// Fitted to timings of (1, 256, 256, 16) -> 16 at k = 3..31 and of batches of 28x28, 64x64 and
// 128x128 images (1 to 32 channels) on the development machine (2-core Zen 3); see
// bench/history_first_machine.md, section 4. Right within ~1.4x, which is all a choice needs.
constexpr double kBlockedNsPerMac = 0.015;    // register-blocked forward kernel ...
constexpr double kBlockedNsPerMacC1 = 0.03;   // ... plus this / C (one broadcast feeds fewer FMAs)
constexpr double kWideBlocked = 0.7;          // ... times this in 16-float registers (AVX-512;
                                              // 56x56x64 3x3: 0.011 ns per MAC, 2-core Xeon)
constexpr double kGemmFwdNsPerMac = 0.0095;   // forward through im2col + sgemm (> 64 filters;
                                              // ResNet50's 3x3 layers at batch 32: 0.009-0.011,
                                              // 2-core Xeon) ...
constexpr double kIm2colFwdNsPerFloat = 0.1;  // ... plus its columns, built in cache
constexpr double kGemmNsPerMac = 0.06;        // backward: im2col + sgemm
constexpr double kSmallTapBwdNsPerMac = 0.24; // backward for C*kh*kw <= 32 (pixel loop)
constexpr double kIm2colNsPerFloat = 0.25;
constexpr double kFftNsPerPoint = 1.75;       // per grid point x radix factor, one real transform
constexpr double kPlaneNsPerPoint = 0.25;     // gather/scatter/zero of a plane, per grid point
constexpr double kPairedTransform = 1.4;      // one c2c of two real planes, in r2c times
constexpr double kTransformUs = 0.3;          // fixed cost per transform
constexpr double kBinGemmNsPerCmac = 0.1;     // forward: the blocked per-bin product
constexpr double kMemoryNsPerByte = 0.09;     // forward: kernel spectra read from memory
constexpr double kCacheBytes = 4e6;
constexpr double kGroupBytes = 32e6;
// Winograd F(4x4, 3x3) forward (winograd.cpp), per 4 x 4 output tile: 36 positions of a
// C x F GEMM and the transforms of C input and F output channels; the kernel's transform once
// per call, and its 36 C F floats read from memory once per block of tiles when they pass the
// cache (the larger of that and the GEMMs' time). Fitted to (1, 256^2, 16 -> 16), (1, 56^2,
// 64 -> 64), (8, 28^2, 128 -> 128), (32, 14^2, 256 -> 256) and (32, 12^2, 32 -> 64) on the
// 2-core Zen 5 (BENCHMARKS.md, section 0, "Conv2D 3x3 through Winograd").
constexpr double kWinoNsPerMac = 0.02;
constexpr double kWinoNsPerFloat = 0.12;
constexpr double kWinoKernelNsPerFloat = 0.25;  // written to 36 rows: L2-bound
// Inference keeps the transformed kernel (WinogradKernel) and compares the kernel with the one it
// transformed on every call (a memcmp of its 9 C F floats): fitted to (1, 4^2, 64 -> 64), where
// that comparison and the fixed costs outweigh one tile's products, and (8, 4^2, 64 -> 64).
constexpr double kWinoCompareNsPerFloat = 0.25;
// ... and reads the kept kernel from memory once per call (another layer's may have evicted
// it), then once per further block from the last-level cache where it fits there: 0.025 ns per
// byte fitted to batch-1 calls of 7^2 and 14^2 x 128..256 channels on the 2-core Zen 4 VM
// (32 MB L3), for kernels of up to a quarter of that cache: two threads reading 9.4 MB
// (128 -> 512 channels, 4 blocks) measured 1.0-1.4x the direct kernel's time where this
// estimate had taken it.
constexpr double kCachedNsPerByte = 0.025;
constexpr double kLastLevelBytes = 8e6;
// Winograd is chosen only where its estimate is below this share of the best other: its model
// is the least tested, and its rounding differs from the direct sum's.
constexpr double kWinoMargin = 0.8;
// ... and only with at least this many channels and this many filters: the constants were
// fitted on such layers; with fewer the tile transforms dominate and were not modelled (a 7 x 12 x 5 -> 40 layer
// estimated 16 us against direct's 21 and left Conv2D + MaxPooling2D's fused direct pass).
constexpr std::size_t kWinoMinChannels = 16;
constexpr double kFixedUs = 5.0;              // per-pass overhead of either algorithm

}  // namespace

std::string to_string(Algorithm a) {
  return a == Algorithm::Direct ? "direct" : a == Algorithm::Fft ? "fft" : "winograd";
}

double direct_cost_us(const Problem& p, Pass pass) {
  const bool small = p.kh * p.kw * p.c <= 32;
  const double macs = p.macs();
  if (pass == Pass::Inference || pass == Pass::TrainingForward) {
    if (!direct_forward_is_blocked(p)) {
      const bool pointwise = p.kh == 1 && p.kw == 1 && p.sh == 1 && p.sw == 1 && p.padding == Padding::Valid;  // no columns
      const double copies = pointwise ? 0.0 : double(p.n) * p.oh * p.ow * p.kh * p.kw * p.c;
      return (macs * kGemmFwdNsPerMac + copies * kIm2colFwdNsPerFloat) * 1e-3 + kFixedUs;
    }
    // The 16-float kernels take the filters in blocks of 64, 32 and 16; the rest runs 8 wide.
    const double wide_share = direct_forward_is_wide(p) ? double(p.f / 16 * 16) / double(p.f) : 0.0;
    const double wide = 1.0 - (1.0 - kWideBlocked) * wide_share;
    return macs * (kBlockedNsPerMac + kBlockedNsPerMacC1 / double(p.c)) * wide * 1e-3 + kFixedUs;
  }
  // Backward computes the kernel gradient and, unless weights-only, the input gradient: one
  // or two products of the forward's size.
  const double products = pass == Pass::Backward ? 2.0 : 1.0;
  const double copies = small ? 0.0 : products * double(p.n) * p.oh * p.ow * p.kh * p.kw * p.c;
  return (products * macs * (small ? kSmallTapBwdNsPerMac : kGemmNsPerMac) + copies * kIm2colNsPerFloat) * 1e-3 +
         kFixedUs;
}

namespace {

// FFTW's measured plans for the sizes a tiling can pick (7-smooth, 32..320) took a nearly
// constant time per point here (2.9 to 3.9 ns per r2c + c2r pair, 2 threads: the log factor
// is offset by cache effects); factors 5 and 7 cost a little more (BENCHMARKS.md).
double radix_factor(std::size_t n) {
  double f = 1.0;
  for (; n > 1 && n % 5 == 0; n /= 5) f += 0.08;
  for (; n > 1 && n % 7 == 0; n /= 7) f += 0.16;
  while (n > 1 && n % 2 == 0) n /= 2;
  while (n > 1 && n % 3 == 0) n /= 3;
  return n == 1 ? f : 4.0 * f;  // other primes: generic or Bluestein codelets
}

double transform_ns(std::size_t lh, std::size_t lw) {
  const double pq = double(lh) * double(lw);
  return pq * kFftNsPerPoint * 0.5 * (radix_factor(lh) + radix_factor(lw)) + kTransformUs * 1e3;
}

// Tiles per group: the forward's two buffers of (max(C, F) + 1) slots per tile, a slot being a
// real tile or a half spectrum, stay within kGroupBytes (the blocked kernel spectra are read
// once per group).
std::size_t group_size(const Problem& p, std::size_t lh, std::size_t lw, std::size_t tiles) {
  const double slot = std::max(double(lh * lw), 2.0 * double(lh) * double(lw / 2 + 1)) * 4.0;
  const double per_tile = 2.0 * double(std::max(p.c, p.f) + 1) * slot;
  return std::clamp<std::size_t>(std::size_t(kGroupBytes / per_tile), 1, tiles);
}

// Forward cost (ns) of a tiling: transforms of every tile (two channels or filters per complex
// transform, which costs kPairedTransform r2c's), the per-bin products, and the blocked kernel
// spectra read once per group (from memory when they exceed the cache).
double forward_ns(const Problem& p, const FftTiling& t, bool training) {
  const double c = double(p.c), f = double(p.f);
  const double tiles = double(p.n * t.tiles()), bins = double(t.lh) * double(t.lw / 2 + 1);
  const double groups = std::ceil(tiles / double(t.group));
  const double kbytes = c * f * bins * 8.0;
  const double transforms = double(p.c / 2 + p.f / 2) * kPairedTransform + double(p.c % 2 + p.f % 2);
  // The products run at the FMA units' pace unless the kernel spectra stream from memory slower.
  const double product = std::max(tiles * c * f * bins * kBinGemmNsPerCmac,
                                  kbytes > kCacheBytes ? groups * kbytes * kMemoryNsPerByte : 0.0);
  return tiles * (transforms * transform_ns(t.lh, t.lw) + (c + f) * double(t.lh * t.lw) * kPlaneNsPerPoint) + product +
         (training ? c * f * (transform_ns(t.lh, t.lw) + double(t.lh * t.lw) * kPlaneNsPerPoint) : 0.0);
}

// Kernel gradient cost (ns) on tiling t: each tile's input and output-gradient transforms, the
// per-bin products accumulated into C*F spectra (read and written once per group), and C*F
// inverse transforms, two per complex transform.
double kernel_gradient_ns(const Problem& p, const FftTiling& t) {
  const double c = double(p.c), f = double(p.f);
  const double tiles = double(p.n * t.tiles()), bins = double(t.lh) * double(t.lw / 2 + 1);
  const double groups = std::ceil(tiles / double(t.group));
  const double dbytes = c * f * bins * 8.0;
  const double transforms = tiles * (double(p.c / 2 + p.f / 2) * kPairedTransform + double(p.c % 2 + p.f % 2)) +
                            double(p.c * p.f / 2) * kPairedTransform + double(p.c * p.f % 2);
  const double product = std::max(tiles * c * f * bins * kBinGemmNsPerCmac,
                                  dbytes > kCacheBytes ? 2.0 * groups * dbytes * kMemoryNsPerByte : 0.0);
  return transforms * transform_ns(t.lh, t.lw) + tiles * (c + f) * double(t.lh * t.lw) * kPlaneNsPerPoint + product;
}

std::size_t tiles_along(std::size_t out, std::size_t k, std::size_t l) { return (out + l - k) / (l - k + 1); }

}  // namespace

FftTiling fft_tiling(const Problem& p, std::size_t lh, std::size_t lw) {
  if (lh < p.kh || lw < p.kw)
    throw Error("fft_tiling: tile " + std::to_string(lh) + "x" + std::to_string(lw) + " is smaller than the kernel " +
                std::to_string(p.kh) + "x" + std::to_string(p.kw));
  FftTiling t;
  t.lh = lh, t.lw = lw;
  t.th = tiles_along(p.oh, p.kh, lh), t.tw = tiles_along(p.ow, p.kw, lw);
  t.group = group_size(p, lh, lw, p.n * t.tiles());
  return t;
}

FftTiling fft_tiling(const Problem& p) {
  const std::size_t whole_h = fast_padded_size(p.oh + p.kh - 1), whole_w = fast_padded_size(p.ow + p.kw - 1);
  if (const char* env = std::getenv("FOURIERCONV_FFT_TILE")) {
    char* end = nullptr;
    std::size_t lh = std::strtoul(env, &end, 10), lw = lh;
    if (end && (*end == 'x' || *end == 'X')) lw = std::strtoul(end + 1, nullptr, 10);
    if (lh == 0 || lw == 0) return fft_tiling(p, whole_h, whole_w);
    return fft_tiling(p, std::max(lh, p.kh), std::max(lw, p.kw));
  }
  // Candidate tile sizes per axis: the fast size that covers the output in 1, 2, 3, ... tiles.
  auto candidates = [](std::size_t out, std::size_t k, std::size_t whole) {
    std::vector<std::size_t> ls{whole};
    for (std::size_t n = 2; n <= 32 && (out + n - 1) / n >= std::max<std::size_t>(k / 2, 1); ++n) {
      const std::size_t l = fast_padded_size((out + n - 1) / n + k - 1);
      if (l < whole && std::find(ls.begin(), ls.end(), l) == ls.end()) ls.push_back(l);
    }
    return ls;
  };
  FftTiling best = fft_tiling(p, whole_h, whole_w);
  double best_ns = forward_ns(p, best, false);
  // Tiles at most twice as elongated as the padded image: FFTW's plans for 72 x 288 tiles ran
  // 10-15% slower per point than square ones of the same area here.
  const double aspect = double(whole_h) / double(whole_w);
  for (std::size_t lh : candidates(p.oh, p.kh, whole_h))
    for (std::size_t lw : candidates(p.ow, p.kw, whole_w)) {
      const double a = double(lh) / double(lw);
      if (a > 2.0 * std::max(aspect, 1.0) || 1.0 / a > 2.0 * std::max(1.0 / aspect, 1.0)) continue;
      const FftTiling t = fft_tiling(p, lh, lw);
      if (const double ns = forward_ns(p, t, false); ns < best_ns) best = t, best_ns = ns;
    }
  return best;
}

double fft_cost_us(const Problem& p, Pass pass) {
  if (!fft_supports(p)) return INFINITY;
  if (pass == Pass::Inference || pass == Pass::TrainingForward) {
    return forward_ns(p, fft_tiling(p), pass == Pass::TrainingForward) * 1e-3 + kFixedUs;
  }
  // The kernel gradient on the forward's tiles; the input gradient is the forward of
  // input_gradient_problem(p), with its kernel spectra recomputed (the weights change per step).
  double ns = kernel_gradient_ns(p, fft_tiling(p));
  if (pass == Pass::Backward) {
    const Problem q = input_gradient_problem(p);
    ns += forward_ns(q, fft_tiling(q), true);
  }
  return ns * 1e-3 + kFixedUs;
}

double winograd_cost_us(const Problem& p, Pass pass) {
  if (pass != Pass::Inference && pass != Pass::TrainingForward) return INFINITY;
  if (!winograd_supports(p)) return INFINITY;
  const double W = simd::wide_vectors() ? 16.0 : 8.0;
  const double c = double(p.c), cp = std::ceil(c / W) * W, fp = std::ceil(double(p.f) / W) * W;
  const double tiles = double(p.n) * std::ceil(double(p.oh) / 4.0) * std::ceil(double(p.ow) / 4.0);
  const double u_floats = 36.0 * c * fp;
  const double blocks = winograd_blocks(p);
  // The GEMMs run at the FMA units' pace unless the transformed kernel streams from memory slower.
  const double gemms = tiles * 36.0 * (c * fp * kWinoNsPerMac + (cp + fp) * kWinoNsPerFloat);
  const double u_bytes = u_floats * 4.0;
  double stream = u_bytes > kCacheBytes / 4 ? blocks * u_bytes * kMemoryNsPerByte : 0.0;
  if (pass == Pass::Inference && u_bytes > kCacheBytes / 4 && u_bytes <= kLastLevelBytes)
    stream = u_bytes * kMemoryNsPerByte + (blocks - 1.0) * u_bytes * kCachedNsPerByte;
  // Inference keeps the transformed kernel between calls (WinogradKernel, as the FFT keeps its
  // kernel spectra); a training step's changed weights are transformed again.
  const double kernel = pass == Pass::TrainingForward ? u_floats * kWinoKernelNsPerFloat
                                                     : 9.0 * c * double(p.f) * kWinoCompareNsPerFloat;
  return (std::max(gemms, stream) + kernel) * 1e-3 + kFixedUs;
}

Choice choose(const Problem& p, Pass pass) {
  Choice ch;
  ch.direct_us = direct_cost_us(p, pass);
  ch.fft_us = fft_cost_us(p, pass);
  ch.winograd_us = winograd_cost_us(p, pass);
  std::ostringstream os;
  os.precision(3);
  std::string why;
  if (!fft_supports(p, &why)) {
    ch.algorithm = Algorithm::Direct;
    os << "direct: the FFT algorithm does not support " << why;
  } else {
    ch.algorithm = ch.fft_us < ch.direct_us ? Algorithm::Fft : Algorithm::Direct;
    os << to_string(ch.algorithm) << ": estimated direct " << ch.direct_us << " us, fft " << ch.fft_us << " us";
    if (ch.algorithm == Algorithm::Fft) {
      const FftTiling t = fft_tiling(p);
      os << " (" << t.lh << "x" << t.lw << " tiles, " << t.th << "x" << t.tw << " per image)";
    }
  }
  const double best = std::min(ch.direct_us, ch.fft_us);
  const bool off = std::getenv("FOURIERCONV_NO_WINOGRAD") != nullptr;
  const bool wide = p.c >= kWinoMinChannels && p.f >= kWinoMinChannels;
  if (!off && wide && ch.winograd_us < kWinoMargin * best) {
    ch.algorithm = Algorithm::Winograd;
    os.str("");
    os << "winograd: estimated " << ch.winograd_us << " us, direct " << ch.direct_us << " us, fft " << ch.fft_us << " us";
  } else if (std::isfinite(ch.winograd_us)) {  // a 3x3 forward pass: say why Winograd was not taken
    os << "; winograd " << ch.winograd_us << " us, not taken: "
       << (off ? "FOURIERCONV_NO_WINOGRAD is set"
               : !wide ? "it needs at least 16 channels and 16 filters"
                       : "not under 0.8x the better of the others");
  }
  ch.reason = os.str();
  return ch;
}

}  // namespace fourierconv::conv
