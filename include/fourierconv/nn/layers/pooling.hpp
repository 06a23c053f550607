// MaxPooling2D and AveragePooling2D (Keras): input (N, H, W, C) -> (N, OH, OW, C).
//   strides default to pool_size; valid: floor((n - p)/s) + 1; same: ceil(n/s), padded like
//   Conv2D. Max pooling pads with -inf; average pooling divides by the number of real
//   (unpadded) cells in each window.
// MaxPooling1D and AveragePooling1D: the same on (N, L, C) -> (N, OL, C) (a 1 x L grid).
// GlobalAveragePooling1D/2D and GlobalMaxPooling1D/2D: (N, ..., C) -> (N, C), the mean or
//   the maximum over every axis but the channels; keepdims keeps those axes with size 1.
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
  // The 1-D layers: (L, C) -> (OL, C), pooling a 1 x L grid.
  Shape build_1d(const Shape& input_shape);
  conv::Problem problem_for(std::size_t n) const;
  Size2 pool_, strides_;
  Pooling2DArgs args_;
  conv::Padding padding_;
  Shape grid_;  // (H, W, C)
};

struct Pooling1DArgs {
  std::optional<std::size_t> strides{};  // default: pool_size
  std::string padding = "valid";
  Shape input_shape{};
  std::string name{};
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

  // Whether `producer` followed by this pool may run as one fused pass (Conv2D's and
  // FourierConv2D's call_max_pooled): both built, this pool's input is the producer's output,
  // the producer's activation is relu or linear, and the windows tile ('valid', strides equal
  // to the pool size). The producer's own conditions are its to check.
  bool fusable_after(const Layer& producer) const;
  // This pool's output shape for a batch of n: (n, output_shape()...).
  Shape batch_output_shape(std::size_t n) const;

 protected:
  MaxPooling2D(std::string name, Size2 pool_size, Pooling2DArgs args, const char* cls);
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
  AveragePooling2D(std::string name, Size2 pool_size, Pooling2DArgs args, const char* cls);
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;
};

class MaxPooling1D : public MaxPooling2D {
 public:
  explicit MaxPooling1D(std::size_t pool_size = 2, Pooling1DArgs args = {});
  std::string class_name() const override { return "MaxPooling1D"; }

 protected:
  Shape build_impl(const Shape& input_shape) override { return build_1d(input_shape); }
};

class AveragePooling1D : public AveragePooling2D {
 public:
  explicit AveragePooling1D(std::size_t pool_size = 2, Pooling1DArgs args = {});
  std::string class_name() const override { return "AveragePooling1D"; }

 protected:
  Shape build_impl(const Shape& input_shape) override { return build_1d(input_shape); }
};

struct GlobalPoolingArgs {
  bool keepdims = false;
  Shape input_shape{};
  std::string name{};
};

// Global pooling over every axis but the last (channels). rank 1: input (L, C); rank 2:
// (H, W, C). Max: the gradient goes to the first maximum of each channel (NaN wins, as in
// max pooling); average: dy / (number of cells) to every cell.
class GlobalPooling : public Layer {
 public:
  enum class Kind { Average, Max };
  GlobalPooling(Kind kind, std::size_t rank, GlobalPoolingArgs args = {});
  std::string class_name() const override;
  Kind kind() const { return kind_; }
  std::size_t rank() const { return rank_; }
  bool keepdims() const { return args_.keepdims; }

 protected:
  Shape build_impl(const Shape& input_shape) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  Kind kind_;
  std::size_t rank_;
  GlobalPoolingArgs args_;
  std::vector<std::size_t> argmax_;  // (N, C): the cell of each maximum, from the last call
};

// Keras's class names as C++ types.
struct GlobalAveragePooling1D : GlobalPooling {
  explicit GlobalAveragePooling1D(GlobalPoolingArgs a = {}) : GlobalPooling(Kind::Average, 1, std::move(a)) {}
};
struct GlobalMaxPooling1D : GlobalPooling {
  explicit GlobalMaxPooling1D(GlobalPoolingArgs a = {}) : GlobalPooling(Kind::Max, 1, std::move(a)) {}
};
struct GlobalAveragePooling2D : GlobalPooling {
  explicit GlobalAveragePooling2D(GlobalPoolingArgs a = {}) : GlobalPooling(Kind::Average, 2, std::move(a)) {}
};
struct GlobalMaxPooling2D : GlobalPooling {
  explicit GlobalMaxPooling2D(GlobalPoolingArgs a = {}) : GlobalPooling(Kind::Max, 2, std::move(a)) {}
};

}  // namespace fourierconv::nn
