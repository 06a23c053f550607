// The FFT algorithm for conv::Problem (stride 1, dilation 1, valid or same padding).
//
// Each input plane is transformed once per pass and reused for every output channel; the
// channel sums are products in frequency space, a complex matrix product per bin
// (NNPACK; Mathieu et al., 2014):
//   forward:  Y[t,f] = sum_c X[t,c] . Kc[c,f]       (Kc: the kernel placed flipped, so the
//             circular convolution is Keras's cross-correlation)
//   kernel gradient: dKc[c,f] = sum_t X[t,c] . conj(G[t,f]) (G: the output gradient's tiles)
//   input gradient:  the forward of input_gradient_problem(p) (dy correlated with the rotated
//                    kernel, channels and filters swapped)
// Forward: overlap-save tiles t of lh x lw (conv::fft_tiling; one tile per image is the plain
// whole-plane FFT convolution), a group of tiles at a time: two channels per complex transform
// (z = x_2m + i x_2m+1, separated into their half spectra afterwards), the per-bin products over
// bins eight at a time with the kernel spectra in a blocked layout read once per group
// (conv/bin_gemm), two filters per inverse complex transform, and the valid corner of each tile.
// Tiles keep the C*F kernel spectra small (those of a 16 -> 16 layer on whole 288 x 288 planes
// are 85 MB, read from memory on every call) at the price of some overlap.
// The kernel gradient runs on the same tiles: the correlation of an input tile with the
// tile's outputs' gradient has no wrap-around at lags below the kernel size, and its C*F
// inverse transforms are of tile size (two per complex transform).
// Kernel spectra are cached and recomputed only when the kernel's values change, so
// inference with fixed weights pays C*F kernel transforms once.
#pragma once

#include <memory>
#include <string>

#include "fourierconv/conv/choose.hpp"
#include "fourierconv/conv/problem.hpp"
#include "fourierconv/fft.hpp"
#include "fourierconv/tensor.hpp"

namespace fourierconv::conv {

// Whether the FFT algorithm handles p; if not, *why says which property stops it.
bool fft_supports(const Problem& p, std::string* why = nullptr);
// The forward problem whose output is p's input gradient (stride 1, dilation 1): dy as the
// input (N, OH, OW, F) padded by k - 1 - pad on each side, the kernel rotated by 180 degrees
// with channels and filters swapped (kh, kw, F, C), output (N, H, W, C).
Problem input_gradient_problem(const Problem& p);

class FftConv {
 public:
  // Plans for p's shape (any batch size). Throws Error when fft_supports(p) is false.
  explicit FftConv(const Problem& p, FftRigor rigor = fft_rigor());
  // With a given forward tiling (conv::fft_tiling(p, lh, lw) and a group size); throws Error
  // when its tiles do not cover p's output.
  FftConv(const Problem& p, const FftTiling& tiling, FftRigor rigor = fft_rigor());
  ~FftConv();
  FftConv(FftConv&&) noexcept;
  FftConv& operator=(FftConv&&) noexcept;

  // Same contracts as direct_forward / direct_backward (conv/direct.hpp). Nothing is kept from
  // one call to the next but the kernel spectra (recomputed when the kernel's values change).
  void forward(const Problem& p, const float* x, const float* kernel, const float* bias, float* y);
  void backward(const Problem& p, const float* x, const float* kernel, const float* dy, float* dx, float* dkernel,
                float* dbias);

  struct Impl;  // public so that the implementation's helper functions can take it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace fourierconv::conv
