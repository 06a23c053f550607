// MaxPooling2D and AveragePooling2D (Keras): input (N, H, W, C) -> (N, OH, OW, C).
//   strides default to pool_size; valid: floor((n - p)/s) + 1; same: ceil(n/s), padded like
//   Conv2D. Max pooling pads with -inf; average pooling divides by the number of real
//   (unpadded) cells in each window.
#pragma once

#include <optional>
#include <vector>

#include "fourierconv/conv/problem.hpp"
#include "fourierconv/nn/layers/conv2d.hpp"

namespace fourierconv::nn {

struct Pooling2DArgs {
  std::optional<Size2> strides{};  // default: pool_size
  std::string padding = "valid";
  Shape input_shape{};
  std::string name{};
};

class Pooling2D : public Layer {
 public:
  Size2 pool_size() const { return pool_; }
  Size2 strides() const { return strides_; }
  const std::string& padding() const { return args_.padding; }

 protected:
  Pooling2D(std::string name, Size2 pool_size, Pooling2DArgs args, const char* cls);
  Shape build_impl(const Shape& input_shape) override;
  conv::Problem problem_for(std::size_t n) const;
  Size2 pool_, strides_;
  Pooling2DArgs args_;
  conv::Padding padding_;
};

class MaxPooling2D : public Pooling2D {
 public:
  explicit MaxPooling2D(Size2 pool_size = {2, 2}, Pooling2DArgs args = {});
  std::string class_name() const override { return "MaxPooling2D"; }

  // backward(dy) when this pool's input is the output of a relu: returns the gradient w.r.t.
  // the relu's input, in the same pass (an output's gradient reaches its window's maximum only
  // when that maximum is > 0, which is where relu's derivative is 1). The layer before then
  // skips its own activation pass (Sequential's training step does this).
  const Tensor& backward_through_relu(const Tensor& dy);

 protected:
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  bool through_relu_ = false;
};

class AveragePooling2D : public Pooling2D {
 public:
  explicit AveragePooling2D(Size2 pool_size, Pooling2DArgs args = {});
  std::string class_name() const override { return "AveragePooling2D"; }

 protected:
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;
};

}  // namespace fourierconv::nn
