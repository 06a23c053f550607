// The FFT algorithm for conv::Problem (stride 1, dilation 1, valid or same padding).
//
// Each padded input plane is transformed once per pass and reused for every output channel;
// the channel sums are products in frequency space, a complex matrix product per bin
// (N x C)(C x F), done in cache-sized blocks of bins (NNPACK; Mathieu et al., 2014):
//   grid P x Q = next_fast_size(H + pt + pb) x next_fast_size(W + pl + pr) (no wrap-around
//   reaches the outputs, which sit at the grid's top-left);
//   forward:  Y[n,f] = sum_c X[n,c] . Kc[c,f]       (Kc: the kernel placed flipped, so the
//             circular convolution is Keras's cross-correlation)
//   backward: dX[n,c] = sum_f G[n,f] . conj(Kc[c,f]),  dKc[c,f] = sum_n G[n,f] . conj(X[n,c])
// Kernel spectra are cached and recomputed only when the kernel's values change, so
// inference with fixed weights pays C*F kernel transforms once.
#pragma once

#include <memory>
#include <string>

#include "fourierconv/conv/problem.hpp"
#include "fourierconv/fft.hpp"
#include "fourierconv/tensor.hpp"

namespace fourierconv::conv {

// Whether the FFT algorithm handles p; if not, *why says which property stops it.
bool fft_supports(const Problem& p, std::string* why = nullptr);
// The FFT grid of p (P, Q).
std::pair<std::size_t, std::size_t> fft_grid(const Problem& p);

class FftConv {
 public:
  // Plans for p's shape (any batch size). Throws Error when fft_supports(p) is false.
  explicit FftConv(const Problem& p, FftRigor rigor = fft_rigor());
  ~FftConv();
  FftConv(FftConv&&) noexcept;
  FftConv& operator=(FftConv&&) noexcept;

  // Same contracts as direct_forward / direct_backward (conv/direct.hpp). backward uses the
  // input spectra kept by the last forward, which must have had the same x.
  void forward(const Problem& p, const float* x, const float* kernel, const float* bias, float* y);
  void backward(const Problem& p, const float* x, const float* kernel, const float* dy, float* dx, float* dkernel,
                float* dbias);
  // Forgets the kept input spectra (the next backward transforms x itself).
  void invalidate_input();

 
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace fourierconv::conv
