// The channel sums of an FFT convolution as one small complex matrix product per frequency
// bin (NNPACK's "tuple GEMM"): for every bin b,
//   Y[t][f](b) = sum_c X[t][c](b) * K[c][f](b)        t: tiles (images or overlap-save tiles)
// Bins are processed eight at a time in SIMD registers, split into real and imaginary parts,
// so a kernel spectrum block is loaded once per group of tiles instead of once per tile.
//
// Layouts (internal to the FFT convolution):
//   X, Y: interleaved complex spectra as FFTW writes and reads them, one plane of `stride`
//         bins per (t, c) resp. (t, f); `stride` is a multiple of kBinBlock.
//   K:    blocked: for bin block j, group g of 4 filters (the last padded), channel c and
//         filter q of the group, 16 floats: the real parts of the block's 8 bins, then the
//         imaginary parts, in the lane order kLaneBin (the order an in-lane deinterleave of two
//         AVX registers produces, so X needs two shuffles, not four). A group's lines for
//         consecutive channels are adjacent, so a block of channels x 4 filters is one
//         contiguous piece (lines F x 64 bytes apart mapped to one L1 set and evicted each other).
#pragma once

#include <cstddef>

#include "fourierconv/fft.hpp"

namespace fourierconv::conv::detail {

constexpr std::size_t kBinBlock = 8;
constexpr std::size_t kLaneBin[kBinBlock] = {0, 1, 4, 5, 2, 3, 6, 7};  // lane -> bin in block (an involution)

// Floats of the blocked kernel spectra for C x F kernels of nb bins.
constexpr std::size_t kFilterGroup = 4;
inline std::size_t packed_kernel_size(std::size_t nb, std::size_t C, std::size_t F) {
  const std::size_t padded_f = (F + kFilterGroup - 1) / kFilterGroup * kFilterGroup;
  return (nb + kBinBlock - 1) / kBinBlock * C * padded_f * 2 * kBinBlock;
}
// Offset in floats of block j's 16 floats for kernel (c, f).
inline std::size_t packed_kernel_offset(std::size_t j, std::size_t c, std::size_t f, std::size_t C, std::size_t F) {
  const std::size_t groups = (F + kFilterGroup - 1) / kFilterGroup;
  return (((j * groups + f / kFilterGroup) * C + c) * kFilterGroup + f % kFilterGroup) * 2 * kBinBlock;
}
// Writes spectrum (nb interleaved bins) of kernel (c, f), times scale, into the blocked K;
// the lanes past nb in the last block are zero.
void pack_kernel_spectrum(const Complex* spectrum, std::size_t nb, std::size_t C, std::size_t F, std::size_t c,
                          std::size_t f, float scale, float* K);

// Y planes of T tiles x F filters for bin blocks [j0, j1): Y[t][f] = sum_c X[t][c] K[c][f].
// X and Y planes are `stride` bins apart ((t*C + c) * stride, (t*F + f) * stride).
void bin_gemm(const Complex* X, const float* K, Complex* Y, std::size_t T, std::size_t C, std::size_t F,
              std::size_t stride, std::size_t j0, std::size_t j1);

// The kernel gradient's product, a reduction over tiles: for bin blocks [j0, j1),
//   D[c][f] += sum_t X[t][c] * conj(G[t][f])
// X planes (t*C + c) * stride and G planes (t*F + f) * stride bins apart, D planes
// (c*F + f) * dstride apart, all interleaved complex.
void bin_gemm_conj_tiles(const Complex* X, const Complex* G, Complex* D, std::size_t T, std::size_t C, std::size_t F,
                         std::size_t stride, std::size_t dstride, std::size_t j0, std::size_t j1);

}  // namespace fourierconv::conv::detail
