// The algorithm choice for a conv::Problem: a pure function, unit-tested without running any
// convolution (as PyTorch's select_conv_backend and NNPACK's select_algorithm).
//
// Cost model (microseconds), constants measured on the development machine with
// `build/fourierconv bench --calibrate-conv` (BENCHMARKS.md):
//   direct  = MACs * ns_per_mac (small-tap kernel or im2col + sgemm) + im2col copies
//   fft     = transforms * kFftNsPerPoint * PQ log2(PQ) + complex MACs * kCmacNs
//     forward:  N*C input + N*F output transforms (+ C*F kernel transforms when training,
//               since the kernel changes every step; cached at inference), N*C*F*bins products,
//               per whole plane or per overlap-save tile, whichever is cheaper
//     backward: N*F + N*C + C*F transforms, 2*N*C*F*bins products (without the input
//               gradient: N*F + C*F transforms, one product; direct likewise halves)
// The FFT needs stride 1 and dilation 1; otherwise direct is chosen and the reason says so.
#pragma once

#include <cstddef>
#include <string>

#include "fourierconv/conv/problem.hpp"

namespace fourierconv::conv {

enum class Algorithm { Direct, Fft };
std::string to_string(Algorithm a);
// BackwardWeightsOnly: the kernel gradient without the input gradient (a model's first layer).
enum class Pass { Inference, TrainingForward, Backward, BackwardWeightsOnly };

struct Choice {
  Algorithm algorithm = Algorithm::Direct;
  std::string reason;
  double direct_us = 0, fft_us = 0;
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

}  // namespace fourierconv::conv
