// Conv2D: Keras's 2-D convolution layer (cross-correlation, channels last).
//   input (N, H, W, C) -> output (N, OH, OW, filters); kernel (kh, kw, C, filters), bias (filters,)
//   Output sizes and the 'same' split: see conv/problem.hpp.
// C++ reads like the Keras call:
//   Conv2D(32, {3, 3}, {.activation = "relu", .input_shape = {28, 28, 1}})
#pragma once

#include <string>
#include <utility>

#include "fourierconv/conv/problem.hpp"
#include "fourierconv/nn/layer.hpp"

namespace fourierconv::nn {

using Size2 = std::pair<std::size_t, std::size_t>;

struct Conv2DArgs {
  Size2 strides{1, 1};
  std::string padding = "valid";
  Size2 dilation_rate{1, 1};
  std::string activation = "linear";
  bool use_bias = true;
  std::string kernel_initializer = "glorot_uniform";
  std::string bias_initializer = "zeros";
  // "auto" | "direct" | "fft": how the convolution is computed (conv/choose.hpp).
  std::string algorithm = "auto";
  Shape input_shape{};  // (H, W, C) for the first layer of a model
  std::string name{};   // default: conv2d, conv2d_1, ...
};

class Conv2D : public Layer {
 public:
  Conv2D(std::size_t filters, Size2 kernel_size, Conv2DArgs args = {});
  std::string class_name() const override { return "Conv2D"; }
  std::vector<std::string> detail() const override;

  std::size_t filters() const { return filters_; }
  Size2 kernel_size() const { return kernel_size_; }
  const Conv2DArgs& args() const { return args_; }
  // The algorithm used for the forward pass, decided in build() for the batch size seen
  // first; "direct" or "fft", with the reason.
  const std::string& algorithm_used() const { return algorithm_used_; }
  const std::string& algorithm_reason() const { return algorithm_reason_; }

 protected:
  Shape build_impl(const Shape& input_shape) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  conv::Problem problem_for(std::size_t n) const;
  std::size_t filters_;
  Size2 kernel_size_;
  Conv2DArgs args_;
  conv::Padding padding_;
  std::string algorithm_used_ = "direct", algorithm_reason_;
  struct FftState;
  std::shared_ptr<FftState> fft_;
};

}  // namespace fourierconv::nn
