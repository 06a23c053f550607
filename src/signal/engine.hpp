// Internal: the convolution engine on canonical arrays (geometry.hpp), for every element type.
//
//   FftConvolver<T>, T in {float, double, complex<float>, complex<double>}: the FFT method
//   (one transform of the whole convolved extent per item) and the blocked method (overlap-save
//   tiles of E, scipy's overlap-add in effect), with the kernel's spectra computed once at
//   construction (the planned Convolver reuses them). Real types use r2c/c2r, complex c2c.
//   direct_convolve<T>: the direct sum, for every element type (integers exactly, in their own
//   wrap-around arithmetic as numpy's; bool as logical or of ands).
// Both compute y = sum_u k[u] E[i + k - 1 - u] over the convolved axes for every output batch
// item (x and kernel items chosen by the broadcasting of geometry.hpp).
#pragma once

#include <complex>
#include <memory>
#include <vector>

#include "fourierconv/array.hpp"
#include "fourierconv/fft.hpp"
#include "signal/geometry.hpp"

namespace fourierconv::signal::detail {

template <class T>
class FftConvolver {
 public:
  // kernel: the canonical kernel (k_batch + k per axis), C-contiguous. fill: E's fill value.
  FftConvolver(const Geometry& g, const T* kernel, bool blocked, FftRigor rigor, T fill = T{});
  ~FftConvolver();
  FftConvolver(FftConvolver&&) noexcept;
  // x: canonical x (x_batch + n per axis); y: canonical output (batch + out per axis).
  void run(const T* x, T* y) const;
  // FftConvolver(g, kernel, blocked, rigor, fill).run(x, y), for a one-shot call: a single
  // large grid transforms its kernel and its input at once, on one core each.
  static void convolve_once(const Geometry& g, const T* kernel, const T* x, T* y, bool blocked, FftRigor rigor, T fill = T{});
  const std::vector<std::size_t>& grid() const;  // transform size per convolved axis
  std::size_t tiles() const;                      // per item (1: the whole-extent FFT)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

template <class T>
void direct_convolve(const Geometry& g, const T* x, const T* kernel, T* y, T fill = T{});
// The share of the outputs that direct_convolve computes with its several-rows kernel on
// 16-float (8-double) vectors (interior columns of whole row groups; 0 where that kernel does
// not run) for element type t and a zero or other fill: the cost model's direct rate.
double direct_rows_wide_share(const Geometry& g, DType t, bool zero_fill);

// The FFT tile per convolved axis that minimizes the blocked method's estimated cost, with the
// number of tiles per item. A pure function (choose.cpp's cost model uses it too).
struct Blocking {
  std::vector<std::size_t> tile;  // L per axis (>= k)
  std::size_t tiles = 1;
};
// spectrum_bytes_per_point: bytes of spectrum per grid point (complex types: the complex size;
// real ones: half of it, r2c keeping half the bins).
Blocking choose_blocking(const Geometry& g, std::size_t spectrum_bytes_per_point);
// The whole-extent grid of the FFT method (fast sizes), per convolved axis.
std::vector<std::size_t> fft_grid(const Geometry& g, bool zero_fill);
// Whether the FFT method transforms x itself (linear modes with a zero fill, or circular)
// rather than the extended input E.
bool fft_on_x(const Geometry& g, bool zero_fill);

}  // namespace fourierconv::signal::detail
