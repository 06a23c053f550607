// Winograd's minimal filtering algorithm F(4x4, 3x3) for conv::Problem's forward pass (Lavin
// and Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016, section 4.2, with
// their interpolation points 0, +-1, +-2 and infinity):
//   Y = A^T [ (G g G^T) (.) (B^T d B) ] A
// for each 6 x 6 input tile d (stride 4) and 3 x 3 kernel slice g, summed over input channels:
// 36 multiply-adds per (input channel, filter) pair give 16 outputs, where the direct sum needs
// 144. The
// element-wise products summed over channels are 36 small GEMMs, (tiles x C) @ (C x F), one per
// transformed position; the transforms of the input (B^T d B) and of the products (A^T m A) are
// additions and small constant multiples, vectorized across channels (channels last).
//
// Numerics: the transforms mix the whole 6 x 6 tile before the products, so an output's rounding
// error scales with its tile's magnitudes (sum over the tile and channels of |x|, times the
// kernel's |g|), not with its own window's terms: ~1e-6 of that scale in float32 (the tests bound
// it against a double sum), so one value 1e4 times its neighbours leaves the tile's other
// outputs with errors relative to their own terms of ~7e-4 with 16 channels and up to 1e-2 with
// one, where the direct sum keeps ~1e-7. The transforms scale
// values by up to 25, so products overflow about 10 times earlier than in the direct sum. A NaN
// or Inf reaches every output of the tiles that hold it (up to 25 outputs in 4 overlapping
// tiles, as NaN), not only the outputs whose windows hold it. Each thread keeps its working
// buffers (and the caller the transformed kernel, 36 C F floats) at their largest size.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "fourierconv/conv/problem.hpp"
#include "fourierconv/tensor.hpp"

namespace fourierconv::conv {

// Whether winograd_forward computes p: a 3 x 3 kernel, stride 1, dilation 1 (any padding, batch
// and channel counts). Otherwise false, with the reason in *why when given.
bool winograd_supports(const Problem& p, std::string* why = nullptr);

// The blocks of tiles winograd_forward splits p into (for the cost model: each block reads the
// transformed kernel, 36 C F floats, once).
std::size_t winograd_blocks(const Problem& p);

// The transformed kernel (G g G^T: 36 C F floats, the filters padded to the vector width) of
// the last kernel winograd_forward saw with it, kept between calls: a layer whose weights do not
// change between calls (inference) transforms them once, as FftConv keeps its kernel spectra.
// The kernel is compared with the one kept (9 C F floats, a memcmp) on every call; a changed
// kernel (a training step) is transformed again. Not for concurrent calls.
class WinogradKernel {
 public:
  // U for p's kernel `kernel` with filters padded to fp, transformed only when the kernel, C, F
  // or fp differ from the last call's.
  const float* transformed(const Problem& p, const float* kernel, std::size_t fp);

 private:
  std::vector<float> kernel_;
  AlignedVector<float> u_;  // 64-byte aligned: the GEMMs load it with aligned vector loads
  std::size_t c_ = 0, f_ = 0, fp_ = 0;
};

// x: (N,H,W,C), kernel: (3,3,C,F) (Keras's layout), bias: (F,) or null -> y: (N,OH,OW,F); with
// relu, y = max(y, 0) as it is stored (NaN passes, as Keras's relu). With `cache`, the
// transformed kernel is taken from it (and updated when the kernel changed); without, it is
// computed for this call. Throws Error when !winograd_supports(p). Runs on the OpenMP team
// when called outside a parallel region.
void winograd_forward(const Problem& p, const float* x, const float* kernel, const float* bias, float* y,
                      bool relu = false, WinogradKernel* cache = nullptr);

}  // namespace fourierconv::conv
