// DepthwiseConv2D and SeparableConv2D, as Keras defines them (keras/src/layers/convolutional/
// depthwise_conv2d.py, separable_conv2d.py; Chollet 2017), channels last, same geometry as
// Conv2D (conv/problem.hpp: valid/same padding, strides, dilation):
//   DepthwiseConv2D: each input channel c convolved with its own depth_multiplier M filters:
//     y[n, i, j, c M + m] = b[c M + m] + sum_{u,v} xpad[n, i sh + u dh, j sw + v dw, c] K[u, v, c, m];
//     weights kernel (kh, kw, C, M), bias (C M).
//   SeparableConv2D: that depthwise step (no bias), then a 1 x 1 convolution to `filters`:
//     weights depthwise_kernel (kh, kw, C, M), pointwise_kernel (1, 1, C M, F), bias (F).
// Computed directly (no FFT path): depthwise kernels are small and their channels independent.
#pragma once

#include <cmath>

#include "fourierconv/conv/problem.hpp"
#include "fourierconv/nn/layers/conv2d.hpp"

namespace fourierconv::nn {

struct DepthwiseConv2DArgs {
  Size2 strides{1, 1};
  std::string padding = "valid";
  std::size_t depth_multiplier = 1;
  Size2 dilation_rate{1, 1};
  std::string activation = "linear";
  bool use_bias = true;
  Shape input_shape{};
  std::string name{};
};

class DepthwiseConv2D : public Layer {
 public:
  explicit DepthwiseConv2D(Size2 kernel_size, DepthwiseConv2DArgs args = {});
  std::string class_name() const override { return "DepthwiseConv2D"; }
  Size2 kernel_size() const { return kernel_; }
  const DepthwiseConv2DArgs& args() const { return args_; }
  // As Conv2D::call_affine: a following BatchNormalization at inference folded into the
  // depthwise kernel and bias (scale, shift: one per output channel, C depth_multiplier).
  // Null for a SeparableConv2D or an activation other than linear.
  const Tensor* call_affine(const Tensor& x, const std::vector<float>& scale, const std::vector<float>& shift, float hi = NAN);

 protected:
  DepthwiseConv2D(Size2 kernel_size, DepthwiseConv2DArgs args, std::size_t pointwise_filters, const char* prefix);
  Shape build_impl(const Shape& in) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

  Size2 kernel_;
  DepthwiseConv2DArgs args_;
  std::size_t filters_ = 0;  // SeparableConv2D's pointwise filters; 0: a depthwise layer
  conv::Problem p_;          // the depthwise step, for one sample (f = C M)
  Tensor mid_, dmid_;        // SeparableConv2D: the depthwise output of the last call, its gradient
  Tensor folded_kernel_, folded_bias_, folded_out_;  // call_affine's

 private:
  // hi: clamp each output to [0, hi] as it is stored (a fused relu), NaN for none.
  void depthwise(const float* x, std::size_t n, const float* k, const float* bias, float* y, float hi = NAN) const;
  void depthwise_backward(const float* x, const float* dy, std::size_t n, const float* k, float* dk, float* db, float* dx) const;
};

using SeparableConv2DArgs = DepthwiseConv2DArgs;  // the same options

class SeparableConv2D : public DepthwiseConv2D {
 public:
  SeparableConv2D(std::size_t filters, Size2 kernel_size, SeparableConv2DArgs args = {});
  std::string class_name() const override { return "SeparableConv2D"; }
  std::size_t filters() const { return filters_; }
};

}  // namespace fourierconv::nn
