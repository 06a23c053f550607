#include "fourierconv/conv/choose.hpp"

#include <cmath>
#include <cstdlib>
#include <tuple>
#include <sstream>

#include "fourierconv/conv/fft.hpp"

namespace fourierconv::conv {
namespace {

// Fitted to forward and backward timings of (1, 256, 256, 16) -> 16 at k = 3..31 and of
// (32, 28, 28, C) -> F at k = 3, 7, 15 on the development machine (2-core Zen 3); see
// BENCHMARKS.md, "Conv2D calibration". Right within ~1.5x, which is all a choice needs.
constexpr double kBlockedNsPerMac = 0.015;    // register-blocked forward kernel ...
constexpr double kBlockedNsPerMacC1 = 0.03;   // ... plus this / C (one broadcast feeds fewer FMAs)
constexpr double kGemmNsPerMac = 0.06;        // backward: im2col + sgemm
constexpr double kSmallTapBwdNsPerMac = 0.24; // backward for C*kh*kw <= 32 (pixel loop)
constexpr double kIm2colNsPerFloat = 0.25;
constexpr double kFftNsPerPoint = 0.10;       // per P*Q*log2(P*Q), one real transform
constexpr double kPlaneNsPerPoint = 0.6;      // gather/scatter/zero of a plane, per grid point
constexpr double kTransformUs = 1.0;          // fixed cost per transform
constexpr double kCmacNsCached = 0.3;         // complex multiply-add, spectra in cache
constexpr double kCmacNsStreamed = 0.95;      // ... kernel spectra larger than kCacheBytes
constexpr double kCmacNsStreamedBwd = 3.5;    // ... backward (three large arrays at once)
constexpr double kCacheBytes = 4e6;
constexpr double kFixedUs = 5.0;              // per-pass overhead of either algorithm

}  // namespace

std::string to_string(Algorithm a) { return a == Algorithm::Direct ? "direct" : "fft"; }

double direct_cost_us(const Problem& p, Pass pass) {
  const bool small = p.kh * p.kw * p.c <= 32;
  const double macs = p.macs();
  if (pass == Pass::Inference || pass == Pass::TrainingForward)
    return macs * (kBlockedNsPerMac + kBlockedNsPerMacC1 / double(p.c)) * 1e-3 + kFixedUs;
  // Backward computes the kernel gradient and, unless weights-only, the input gradient: one
  // or two products of the forward's size.
  const double products = pass == Pass::Backward ? 2.0 : 1.0;
  const double copies = small ? 0.0 : products * double(p.n) * p.oh * p.ow * p.kh * p.kw * p.c;
  return (products * macs * (small ? kSmallTapBwdNsPerMac : kGemmNsPerMac) + copies * kIm2colNsPerFloat) * 1e-3 +
         kFixedUs;
}

namespace {

double transform_ns(double pq) {
  return kFftNsPerPoint * pq * std::log2(std::max(pq, 2.0)) + kPlaneNsPerPoint * pq + kTransformUs * 1e3;
}

double cmac_ns(const Problem& p, double bins, bool backward) {
  const bool streamed = double(p.c * p.f) * bins * 8.0 > kCacheBytes;
  return streamed ? (backward ? kCmacNsStreamedBwd : kCmacNsStreamed) : kCmacNsCached;
}

// Forward cost (ns) with L x L overlap-save tiles; L = 0: whole planes.
double forward_ns(const Problem& p, std::size_t L, bool training) {
  const double n = double(p.n), c = double(p.c), f = double(p.f);
  std::size_t P, Q;
  double tiles = n;
  if (L == 0) {
    std::tie(P, Q) = fft_grid(p);
  } else {
    P = Q = L;
    tiles *= double((p.oh + L - p.kh) / (L - p.kh + 1)) * double((p.ow + L - p.kw) / (L - p.kw + 1));
  }
  const double bins = double(P) * double(Q / 2 + 1);
  return tiles * (c + f) * transform_ns(double(P * Q)) + tiles * c * f * bins * cmac_ns(p, bins, false) +
         (training ? c * f * transform_ns(double(P * Q)) : 0.0);
}

}  // namespace

std::size_t fft_tile(const Problem& p) {
  if (const char* env = std::getenv("FOURIERCONV_FFT_TILE")) return std::strtoul(env, nullptr, 10);
  // Whole planes or L x L input tiles, whichever is cheaper: tiles keep the C*F kernel spectra
  // in cache (the whole-plane spectra of a 16->16 layer on 256^2 are 75 MB, streamed from
  // memory on every call) at the price of more, smaller transforms.
  auto [P, Q] = fft_grid(p);
  double best = forward_ns(p, 0, false);
  std::size_t best_l = 0;
  for (std::size_t L : {32, 48, 64, 96, 128}) {
    if (L < 2 * std::max(p.kh, p.kw) || L >= std::max(P, Q)) continue;
    const double cost = forward_ns(p, L, false);
    if (cost < best) best = cost, best_l = L;
  }
  return best_l;
}

double fft_cost_us(const Problem& p, Pass pass) {
  if (!fft_supports(p)) return INFINITY;
  if (pass == Pass::Inference || pass == Pass::TrainingForward) {
    const std::size_t L = fft_tile(p);
    return forward_ns(p, L, pass == Pass::TrainingForward) * 1e-3 + kFixedUs;
  }
  // Backward runs on whole planes: N*F + C*F transforms and one channel product for the
  // kernel gradient, N*C transforms and another product for the input gradient.
  auto [P, Q] = fft_grid(p);
  const double bins = double(P) * double(Q / 2 + 1), n = double(p.n), c = double(p.c), f = double(p.f);
  const bool dx = pass == Pass::Backward;
  return ((n * f + c * f + (dx ? n * c : 0.0)) * transform_ns(double(P * Q)) +
          (dx ? 2.0 : 1.0) * n * c * f * bins * cmac_ns(p, bins, true)) * 1e-3 +
         kFixedUs;
}

Choice choose(const Problem& p, Pass pass) {
  Choice ch;
  ch.direct_us = direct_cost_us(p, pass);
  ch.fft_us = fft_cost_us(p, pass);
  std::ostringstream os;
  os.precision(3);
  std::string why;
  if (!fft_supports(p, &why)) {
    ch.algorithm = Algorithm::Direct;
    os << "direct: the FFT algorithm does not support " << why;
  } else {
    ch.algorithm = ch.fft_us < ch.direct_us ? Algorithm::Fft : Algorithm::Direct;
    os << to_string(ch.algorithm) << ": estimated direct " << ch.direct_us << " us, fft " << ch.fft_us << " us";
  }
  ch.reason = os.str();
  return ch;
}

}  // namespace fourierconv::conv
