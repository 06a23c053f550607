// Dense (Keras): y = activation(x @ kernel + bias) on the last axis.
//   input (N, ..., D) -> (N, ..., units); kernel (D, units), bias (units,)
#pragma once

#include "fourierconv/nn/layer.hpp"

namespace fourierconv::nn {

struct DenseArgs {
  std::string activation = "linear";
  bool use_bias = true;
  std::string kernel_initializer = "glorot_uniform";
  std::string bias_initializer = "zeros";
  Shape input_shape{};
  std::string name{};
};

class Dense : public Layer {
 public:
  explicit Dense(std::size_t units, DenseArgs args = {});
  std::string class_name() const override { return "Dense"; }
  std::size_t units() const { return units_; }
  const DenseArgs& args() const { return args_; }

 protected:
  Shape build_impl(const Shape& input_shape) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  std::size_t units_;
  DenseArgs args_;
};

}  // namespace fourierconv::nn
