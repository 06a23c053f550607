// The algorithm choice for a conv::Problem: a pure function, unit-tested without running any
// convolution (as PyTorch's select_conv_backend and NNPACK's select_algorithm).
//
// Cost model (microseconds), constants fitted to timings on the development machines
// (BENCHMARKS.md, sections 4 and 0d):
//   direct  = MACs * ns_per_mac (forward: the register-blocked kernel, x 0.7 when it runs in
//             AVX-512 registers, or im2col + sgemm; backward: im2col + sgemm or the small-tap
//             loop) + im2col copies
//   fft     = transforms * ns per point (nearly constant for FFTW's measured plans) + tile
//             filling + per-bin products (the larger of their FMA time and the time to read
//             the kernel spectra from memory once per group of tiles)
//     forward:  (C + F) / 2 complex transforms per tile (+ C*F kernel transforms when training,
//               since the kernel changes every step; cached at inference), for the cheapest
//               tiling (fft_tiling: whole planes or overlap-save tiles)
//     backward: kernel gradient on the same tiles ((C + F) / 2 complex transforms per tile,
//               the per-bin products, C*F / 2 inverse ones); input gradient as the tiled
//               forward of input_gradient_problem(p) (left out for BackwardWeightsOnly;
//               direct likewise halves)
//   winograd = per 4x4 output tile, 36 (C F MACs + C + F transformed floats), or the kernel's
//             transformed 36 C F floats read once per block of tiles where they pass the cache
//             and that takes longer; + the kernel's transform; chosen only below 0.8 x the better of the two others, with at least 16
//             channels and 16 filters (forward passes; FOURIERCONV_NO_WINOGRAD set to any value
//             turns the choice off)
// The FFT needs stride 1 and dilation 1; otherwise direct is chosen and the reason says so.
#pragma once

#include <cstddef>
#include <string>

#include "fourierconv/conv/problem.hpp"

namespace fourierconv::conv {

// Winograd: F(4x4, 3x3) (conv/winograd.hpp), forward passes only; backward passes choose between
// direct and FFT.
enum class Algorithm { Direct, Fft, Winograd };
std::string to_string(Algorithm a);
// BackwardWeightsOnly: the kernel gradient without the input gradient (a model's first layer).
enum class Pass { Inference, TrainingForward, Backward, BackwardWeightsOnly };

struct Choice {
  Algorithm algorithm = Algorithm::Direct;
  std::string reason;
  double direct_us = 0, fft_us = 0, winograd_us = 0;  // winograd_us: infinite where it does not apply
};

Choice choose(const Problem& p, Pass pass);
// The forward pass's overlap-save tiling: th x tw input tiles of lh x lw per image, each giving
// (lh - kh + 1) x (lw - kw + 1) outputs. One tile of the whole padded plane (th = tw = 1) is
// the plain FFT convolution. The cheapest by the cost model; FOURIERCONV_FFT_TILE=L (or LHxLW)
// forces the tile size, FOURIERCONV_FFT_TILE=0 whole planes.
struct FftTiling {
  std::size_t lh = 1, lw = 1, th = 1, tw = 1;
  std::size_t group = 1;  // tiles transformed and multiplied together (bounded memory)
  std::size_t tiles() const { return th * tw; }
};
FftTiling fft_tiling(const Problem& p);
// The tiling of p with lh x lw tiles (lh >= kh, lw >= kw).
FftTiling fft_tiling(const Problem& p, std::size_t lh, std::size_t lw);
// The estimates alone.
double direct_cost_us(const Problem& p, Pass pass);
double fft_cost_us(const Problem& p, Pass pass);
double winograd_cost_us(const Problem& p, Pass pass);

}  // namespace fourierconv::conv
