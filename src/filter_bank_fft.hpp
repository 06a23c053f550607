// Internal: a bank of F fixed real, even frequency responses applied to many small planes
// through the tuple FFT (tuple_fft.hpp) -- FourierConv2D's real-output path.
//
//   forward: x (N, H, W, C) -> y (N, H, W, C*F), y[..., c*F + f] = crop(Re(ifft2(fft2(pad(x_c)) . H_f)))
//   adjoint: dy (N, H, W, C*F) -> dx (N, H, W, C) = sum_f crop(ifft2(fft2(pad(dy_cf)) . H_f))
// on a P x Q grid (the H x W plane in its top-left, zeros elsewhere; circular when P = H).
// A real even response gives a real output, so the imaginary parts are free slots:
//   - input spectra: two planes per transform (a + i b), separated by Hermitian symmetry;
//   - output planes: filters f and f + 8 of a tuple share one inverse (lane l holds filter
//     f0 + l in its real part and f0 + 8 + l in its imaginary part), 16 filters per inverse,
//     stored channels-last with two 8-float stores per pixel;
//   - adjoint: one forward transform of dy_f + i dy_{f+8} per 16 filters, and by the evenness
//     of H: sum_f H_f . fft(dy_f) = Hermitian part of sum_lanes conj(G) . Z, G = H_f + i H_f+8.
// Everything is planned at construction; calls allocate nothing once buffers have grown.
#pragma once

#include <cstddef>
#include <vector>

#include "tuple_fft.hpp"

namespace fourierconv::detail {

class FilterBankFft {
 public:
  // even: F half spectra of P x (Q/2 + 1) (sample_response's layout), already scaled by
  // 1/(P Q) (the inverse transform's normalization).
  FilterBankFft(std::size_t H, std::size_t W, std::size_t P, std::size_t Q, std::size_t F, const std::vector<float>& even);
  // Whether this engine should run a grid of P x Q: small enough that a tuple grid stays in
  // L2 (measured: it beats FFTW's plans on such grids).
  static bool suits(std::size_t P, std::size_t Q);

  // x: (N, H, W, C) -> y: (N, H, W, C*F); relu applied as it stores (NaN passes). With a
  // pool of ph x pw (>= 1 and at most the plane; 1 x 1: none), y is instead what
  // MaxPooling2D(pool_size (ph, pw), strides the same, 'valid') makes of that output, bit for
  // bit: (N, H / ph, W / pw, C*F), the full output never stored.
  void forward(const float* x, std::size_t N, std::size_t C, float* y, bool relu, std::size_t ph = 1,
               std::size_t pw = 1) const;
  // dy: (N, H, W, C*F) -> dx: (N, H, W, C) (overwritten).
  void adjoint(const float* dy, std::size_t N, std::size_t C, float* dx) const;

 private:
  struct Scratch;
  Scratch& scratch() const;
  std::size_t H_, W_, P_, Q_, F_, tuples_;  // tuples_: filter tuples of 16
  TupleFft2D fft_;
  std::vector<CVecBuffer> g_;       // per filter tuple: G = H_f0+l + i H_f0+8+l on the full grid
  std::vector<std::size_t> mirror_;  // flat index of -k for each k of the grid
};

}  // namespace fourierconv::detail
