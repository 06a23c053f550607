// SpectralConv2D: learned Fourier modes (the FNO layer of Li et al., 2021) -- the Fourier
// layer that DOES have parameters, because its frequency response is trained instead of fixed.
//
//   input (N, H, W, C) -> output (N, H, W, filters)
//   X_c = rfft2(x_c) on the H x W grid (half spectrum H x (W/2+1));
//   Y_f[k] = sum_c X_c[k] W_cf[k] for the retained modes k: rows [0, m1) (weights1) and
//   rows [H-m1, H) (weights2), columns [0, m2); all other bins are zero;
//   y_f = irfft2(Y_f) + bias_f   (numpy's irfft2: the imaginary parts of the self-conjugate
//   bins in columns 0 and W/2 are ignored).
// Weights: weights1, weights2 of shape (C, filters, m1, m2, 2) -- complex numbers stored as
// (re, im) pairs, so a complex weight counts as 2 parameters -- and bias (filters,).
// Their shapes do not depend on H and W: the same weights apply to any input with
// 2*m1 <= H and m2 <= W/2 + 1 (resolution independence; build another layer for the new
// size and copy the weights in).
// Initialization as in FNO: re and im uniform in [0, 1/(C*filters)); bias zeros.
#pragma once

#include <memory>

#include "fourierconv/fft.hpp"
#include "fourierconv/nn/layers/conv2d.hpp"

namespace fourierconv::nn {

struct SpectralConv2DArgs {
  std::string activation = "linear";
  bool use_bias = true;
  Shape input_shape{};
  std::string name{};
};

class SpectralConv2D : public Layer {
 public:
  SpectralConv2D(std::size_t filters, Size2 modes, SpectralConv2DArgs args = {});
  std::string class_name() const override { return "SpectralConv2D"; }
  std::vector<std::string> detail() const override;
  std::size_t filters() const { return filters_; }
  Size2 modes() const { return modes_; }
  const SpectralConv2DArgs& args() const { return args_; }

 protected:
  Shape build_impl(const Shape& input_shape) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dy, Tensor* dx) override;
  bool fuses_activation() const override { return true; }

 private:
  struct Plan;
  void call_tuple(const Tensor& x, Tensor& y);
  void backward_tuple(const Tensor& dz, Tensor* dx);
  std::size_t filters_;
  Size2 modes_;
  SpectralConv2DArgs args_;
  std::shared_ptr<Plan> plan_;
  std::vector<Complex> xmodes_;  // retained input modes of the last call: (N, C, 2*m1*m2)
};

}  // namespace fourierconv::nn
