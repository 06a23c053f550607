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
// The forward pass's FFT input tile size L (L x L tiles, overlap-save), or 0 for whole
// planes: the cheaper by the same cost model; FOURIERCONV_FFT_TILE=L forces it (0: whole).
std::size_t fft_tile(const Problem& p);
// The estimates alone.
double direct_cost_us(const Problem& p, Pass pass);
double fft_cost_us(const Problem& p, Pass pass);

}  // namespace fourierconv::conv
