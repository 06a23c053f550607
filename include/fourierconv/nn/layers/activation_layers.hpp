// Keras's activation layers (keras/src/layers/activations/), over any input shape:
//   ReLU(max_value, negative_slope, threshold >= 0): min(x if x > threshold else 0, max_value)
//     - negative_slope max(threshold - x, 0) (Keras 3's ReLU.static_call);
//   LeakyReLU(negative_slope = 0.3): x for x >= 0, else negative_slope x (Keras 2's `alpha`);
//   ELU(alpha = 1): x for x > 0, else alpha (e^x - 1);
//   PReLU: x for x >= 0, else alpha x, with a learned `alpha` of the input's shape (1 along
//     `shared_axes`, 1-based as in Keras), initialized to zeros;
//   Softmax: softmax over the last axis (axis = -1 only).
#pragma once

#include <optional>
#include <vector>

#include "fourierconv/nn/layer.hpp"

namespace fourierconv::nn {

struct ReLUArgs {
  std::optional<double> max_value{};
  double negative_slope = 0.0;
  double threshold = 0.0;
  Shape input_shape{};
  std::string name{};
};

class ReLU : public Layer {
 public:
  explicit ReLU(ReLUArgs args = {});
  std::string class_name() const override { return "ReLU"; }
  const ReLUArgs& args() const { return args_; }

 protected:
  Shape build_impl(const Shape& in) override { return in; }
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  ReLUArgs args_;
};

struct LeakyReLUArgs {
  double negative_slope = 0.3;
  Shape input_shape{};
  std::string name{};
};

class LeakyReLU : public Layer {
 public:
  explicit LeakyReLU(LeakyReLUArgs args = {});
  std::string class_name() const override { return "LeakyReLU"; }
  double negative_slope() const { return slope_; }

 protected:
  Shape build_impl(const Shape& in) override { return in; }
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  double slope_;
};

struct ELUArgs {
  double alpha = 1.0;
  Shape input_shape{};
  std::string name{};
};

class ELU : public Layer {
 public:
  explicit ELU(ELUArgs args = {});
  std::string class_name() const override { return "ELU"; }
  double alpha() const { return alpha_; }

 protected:
  Shape build_impl(const Shape& in) override { return in; }
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  double alpha_;
};

struct PReLUArgs {
  std::vector<std::size_t> shared_axes{};  // 1-based axes of the input (after the batch)
  Shape input_shape{};
  std::string name{};
};

class PReLU : public Layer {
 public:
  explicit PReLU(PReLUArgs args = {});
  std::string class_name() const override { return "PReLU"; }
  const std::vector<std::size_t>& shared_axes() const { return args_.shared_axes; }

 protected:
  Shape build_impl(const Shape& in) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  PReLUArgs args_;
};

struct SoftmaxArgs {
  // The axis normalized over, counted as Keras counts it (0 is the batch axis, refused; -1 the
  // last, the default).
  int axis = -1;
  Shape input_shape{};
  std::string name{};
};

// keras.layers.Softmax: exp(x - max) / sum(exp(x - max)) along one axis.
class Softmax : public Layer {
 public:
  explicit Softmax(SoftmaxArgs args = {});
  std::string class_name() const override { return "Softmax"; }
  int axis() const { return axis_; }

 protected:
  Shape build_impl(const Shape& in) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  int axis_;
  std::size_t len_ = 0, inner_ = 1;  // the axis's length and the elements after it (0 when it is the last)
};

}  // namespace fourierconv::nn
