// Keras's merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum (elementwise, with
// broadcasting over axes of size 1) and Concatenate (along `axis`). They take a list of
// tensors, so they live only in a Model graph (model.hpp), never in a Sequential.
//
// Shapes (batch excluded) must have the same rank. Elementwise: each axis is equal or 1 in
// all but one input (numpy broadcasting, as keras.layers.Add's compute_output_shape; the
// output takes the largest). Concatenate: equal except on `axis`, which counts the batch as
// axis 0 (Keras: -1 is the last axis; 0, the batch, is refused). Subtract takes exactly two.
// Maximum's and Minimum's gradient goes to the first input that holds the extreme.
// Errors: a wrong number of inputs, mismatched shapes (naming the layer and every shape).
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "fourierconv/nn/layer.hpp"

namespace fourierconv::nn {

class MergeLayer : public Layer {
 public:
  using Layer::Layer;
  // Builds for its inputs' shapes (batch excluded).
  void build(const std::vector<Shape>& input_shapes);
  const std::vector<Shape>& input_shapes() const { return input_shapes_; }
  // xs: (N, input_shapes[i]...) each -> (N, output_shape...).
  const Tensor& call(const std::vector<const Tensor*>& xs, bool training = false);
  // dy w.r.t. the last call's output -> the gradient w.r.t. each input.
  const std::vector<Tensor>& backward(const Tensor& dy);

 protected:
  virtual Shape merge_shape(const std::vector<Shape>& shapes) const = 0;
  virtual void merge(const std::vector<const Tensor*>& xs, Tensor& y) = 0;
  virtual void merge_backward(const std::vector<const Tensor*>& xs, const Tensor& dy, std::vector<Tensor>& dxs) = 0;
  // A merge layer takes a list: the single-input path is an error.
  Shape build_impl(const Shape&) override;
  void call_impl(const Tensor&, Tensor&, bool) override;
  void backward_impl(const Tensor&, Tensor*) override;
  std::string what() const { return name() + " (" + class_name() + ")"; }

 private:
  std::vector<Shape> input_shapes_;
  std::vector<const Tensor*> xs_;
  Tensor y_;
  std::vector<Tensor> dxs_;
};

// Add, Subtract, Multiply, Average, Maximum, Minimum.
class ElementwiseMerge : public MergeLayer {
 public:
  enum class Op { Add, Subtract, Multiply, Average, Maximum, Minimum };
  ElementwiseMerge(Op op, std::string name = "");
  std::string class_name() const override;
  Op op() const { return op_; }
  // Inference's fusion of the merge with a relu that follows it (Model::predict, e.g. ResNet's
  // Add then Activation("relu")): call(), with the output clamped to [0, cap] as it is written.
  const Tensor& call_relu(const std::vector<const Tensor*>& xs, float cap);

 protected:
  Shape merge_shape(const std::vector<Shape>& shapes) const override;
  void merge(const std::vector<const Tensor*>& xs, Tensor& y) override;
  void merge_backward(const std::vector<const Tensor*>& xs, const Tensor& dy, std::vector<Tensor>& dxs) override;

 private:
  Op op_;
  float relu_cap_ = NAN;  // set during call_relu
};

struct Add : ElementwiseMerge {
  explicit Add(std::string name = "") : ElementwiseMerge(Op::Add, std::move(name)) {}
};
struct Subtract : ElementwiseMerge {
  explicit Subtract(std::string name = "") : ElementwiseMerge(Op::Subtract, std::move(name)) {}
};
struct Multiply : ElementwiseMerge {
  explicit Multiply(std::string name = "") : ElementwiseMerge(Op::Multiply, std::move(name)) {}
};
struct Average : ElementwiseMerge {
  explicit Average(std::string name = "") : ElementwiseMerge(Op::Average, std::move(name)) {}
};
struct Maximum : ElementwiseMerge {
  explicit Maximum(std::string name = "") : ElementwiseMerge(Op::Maximum, std::move(name)) {}
};
struct Minimum : ElementwiseMerge {
  explicit Minimum(std::string name = "") : ElementwiseMerge(Op::Minimum, std::move(name)) {}
};

class Concatenate : public MergeLayer {
 public:
  explicit Concatenate(int axis = -1, std::string name = "");
  std::string class_name() const override { return "Concatenate"; }
  int axis() const { return axis_; }

 protected:
  Shape merge_shape(const std::vector<Shape>& shapes) const override;
  void merge(const std::vector<const Tensor*>& xs, Tensor& y) override;
  void merge_backward(const std::vector<const Tensor*>& xs, const Tensor& dy, std::vector<Tensor>& dxs) override;

 private:
  int axis_;
  std::size_t axis_of(std::size_t rank) const;  // in the shape without the batch
};

}  // namespace fourierconv::nn
