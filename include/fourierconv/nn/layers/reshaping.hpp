// Keras's reshaping layers (keras/src/layers/reshaping/), channels last:
//   Reshape(target_shape): the sample to target_shape (one entry may be -1), row-major;
//   Permute(dims): the sample's axes reordered, dims 1-based (Permute((2, 1)) swaps two axes);
//   ZeroPadding2D(((top, bottom), (left, right))): zeros around (H, W);
//   Cropping2D(((top, bottom), (left, right))): rows and columns cut from (H, W);
//   UpSampling2D(size, interpolation): each pixel repeated size times ("nearest"), or
//     bilinear resampling with half-pixel centres and clamped edges ("bilinear", as Keras 3's
//     backends resize: jax.image.resize, tf.image.resize with half_pixel_centers).
#pragma once

#include <vector>

#include "fourierconv/nn/layer.hpp"
#include "fourierconv/nn/layers/conv2d.hpp"  // Size2

namespace fourierconv::nn {

struct ReshapeArgs {
  Shape input_shape{};
  std::string name{};
};

class Reshape : public Layer {
 public:
  // target: the sample's new shape; one entry may be -1 (inferred).
  explicit Reshape(std::vector<long long> target, ReshapeArgs args = {});
  std::string class_name() const override { return "Reshape"; }
  bool aliases_input() const override { return true; }
  const std::vector<long long>& target_shape() const { return target_; }

 protected:
  Shape build_impl(const Shape& in) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  std::vector<long long> target_;
};

struct PermuteArgs {
  Shape input_shape{};
  std::string name{};
};

class Permute : public Layer {
 public:
  explicit Permute(std::vector<std::size_t> dims, PermuteArgs args = {});  // 1-based
  std::string class_name() const override { return "Permute"; }
  const std::vector<std::size_t>& dims() const { return dims_; }

 protected:
  Shape build_impl(const Shape& in) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  std::vector<std::size_t> dims_;
};

// ((top, bottom), (left, right))
struct Margins2 {
  std::size_t top = 0, bottom = 0, left = 0, right = 0;
};

struct Margins2Args {
  Shape input_shape{};
  std::string name{};
};

// ZeroPadding2D and Cropping2D: a window of (H, W) moved in or out of a larger grid.
class Margins2DLayer : public Layer {
 public:
  const Margins2& margins() const { return m_; }

 protected:
  Margins2DLayer(Margins2 m, bool pad, const std::string& prefix, Margins2Args args);
  Shape build_impl(const Shape& in) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  Margins2 m_;
  bool pad_;  // ZeroPadding2D: the input goes into the middle of the output
};

class ZeroPadding2D : public Margins2DLayer {
 public:
  explicit ZeroPadding2D(Margins2 padding = {1, 1, 1, 1}, Margins2Args args = {})
      : Margins2DLayer(padding, true, "zero_padding2d", std::move(args)) {}
  std::string class_name() const override { return "ZeroPadding2D"; }
  const Margins2& padding() const { return margins(); }
};

class Cropping2D : public Margins2DLayer {
 public:
  explicit Cropping2D(Margins2 cropping = {}, Margins2Args args = {})
      : Margins2DLayer(cropping, false, "cropping2d", std::move(args)) {}
  std::string class_name() const override { return "Cropping2D"; }
  const Margins2& cropping() const { return margins(); }
};

struct UpSampling2DArgs {
  std::string interpolation = "nearest";  // or "bilinear"
  Shape input_shape{};
  std::string name{};
};

class UpSampling2D : public Layer {
 public:
  explicit UpSampling2D(Size2 size = {2, 2}, UpSampling2DArgs args = {});
  std::string class_name() const override { return "UpSampling2D"; }
  Size2 size() const { return size_; }
  const std::string& interpolation() const { return args_.interpolation; }

 protected:
  Shape build_impl(const Shape& in) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  Size2 size_;
  UpSampling2DArgs args_;
  struct Tap {
    std::size_t i0, i1;
    float w1;  // source = (1 - w1) in[i0] + w1 in[i1]
  };
  std::vector<Tap> rows_, cols_;  // per output row / column
};

}  // namespace fourierconv::nn
