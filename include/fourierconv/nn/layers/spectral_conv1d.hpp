// SpectralConv1D: learned Fourier modes on signals (the 1-D FNO layer of Li et al., 2021,
// "Fourier Neural Operator for Parametric PDEs", their SpectralConv1d).
//
//   input (N, L, C) -> output (N, L, filters)
//   X_c = rfft(x_c) (L/2 + 1 bins); Y_f[k] = sum_c X_c[k] W_cf[k] for k < modes, 0 above;
//   y_f = irfft(Y_f, L) + bias_f   (numpy's irfft: the imaginary parts of bins 0 and L/2 are
//   ignored).
// Weights: weights1 (C, filters, modes, 2) -- complex numbers as (re, im) pairs, 2 parameters
// each, as FNO's count_params counts a complex weight -- and bias (filters,) (FNO adds it by
// a parallel 1x1 convolution; here it is the layer's own). The weights do not depend on L:
// any L with modes <= L/2 + 1 takes them.
// Initialization as in FNO: re and im uniform in [0, 1/(C*filters)); bias zeros.
#pragma once

#include <memory>

#include "fourierconv/fft.hpp"
#include "fourierconv/nn/layer.hpp"

namespace fourierconv::nn {

struct SpectralConv1DArgs {
  std::string activation = "linear";
  bool use_bias = true;
  Shape input_shape{};
  std::string name{};
};

class SpectralConv1D : public Layer {
 public:
  SpectralConv1D(std::size_t filters, std::size_t modes, SpectralConv1DArgs args = {});
  std::string class_name() const override { return "SpectralConv1D"; }
  std::vector<std::string> detail() const override;
  std::size_t filters() const { return filters_; }
  std::size_t modes() const { return modes_; }
  const SpectralConv1DArgs& args() const { return args_; }

 protected:
  Shape build_impl(const Shape& input_shape) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dy, Tensor* dx) override;

 private:
  struct Plan;
  std::size_t filters_, modes_;
  SpectralConv1DArgs args_;
  std::shared_ptr<Plan> plan_;
  std::vector<Complex> xmodes_;  // retained input modes of the last call: (N, C, modes)
  std::vector<Complex> g_;       // backward: dL/dY on the modes, (N, filters, modes)
};

}  // namespace fourierconv::nn
