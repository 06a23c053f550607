// Flatten (Keras): (N, d1, d2, ...) -> (N, d1*d2*...), row-major, so for (N, H, W, C) the
// index is (h*W + w)*C + c (channel fastest).
#pragma once

#include "fourierconv/nn/layer.hpp"

namespace fourierconv::nn {

struct FlattenArgs {
  Shape input_shape{};
  std::string name{};
};

class Flatten : public Layer {
 public:
  explicit Flatten(FlattenArgs args = {});
  std::string class_name() const override { return "Flatten"; }
  bool aliases_input() const override { return true; }  // a reshape: nothing is copied

 protected:
  Shape build_impl(const Shape& input_shape) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;
};

}  // namespace fourierconv::nn
