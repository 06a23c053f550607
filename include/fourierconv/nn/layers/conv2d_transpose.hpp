// Conv2DTranspose, as Keras defines it (keras/src/layers/convolutional/conv2d_transpose.py):
// the adjoint of a Conv2D, that is the gradient of a convolution with respect to its input,
// channels last. With k' = (k - 1) d + 1 the dilated kernel extent and output_padding None
// (Keras's conv_utils.deconv_output_length): valid: O = H s + max(k' - s, 0), no padding;
// same: O = H s, and the padding of the forward Conv2D from O to H (total
// max(0, (H - 1) s + k' - O), top/left = total / 2):
//   y[n, i s + u d - pad_top, j s + v d - pad_left, f] += x[n, i, j, c] K[u, v, f, c];  + b[f]
// Weights: kernel (kh, kw, filters, C) (Keras's layout), bias (filters). output_padding other
// than None is refused. Computed as a matrix product and a scatter (col2im), in row blocks.
#pragma once

#include "fourierconv/nn/layers/conv2d.hpp"

namespace fourierconv::nn {

struct Conv2DTransposeArgs {
  Size2 strides{1, 1};
  std::string padding = "valid";
  Size2 dilation_rate{1, 1};
  std::string activation = "linear";
  bool use_bias = true;
  Shape input_shape{};
  std::string name{};
};

class Conv2DTranspose : public Layer {
 public:
  Conv2DTranspose(std::size_t filters, Size2 kernel_size, Conv2DTransposeArgs args = {});
  std::string class_name() const override { return "Conv2DTranspose"; }
  std::size_t filters() const { return filters_; }
  Size2 kernel_size() const { return kernel_; }
  const Conv2DTransposeArgs& args() const { return args_; }

 protected:
  Shape build_impl(const Shape& in) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  std::size_t filters_;
  Size2 kernel_;
  Conv2DTransposeArgs args_;
  std::size_t h_ = 0, w_ = 0, c_ = 0, oh_ = 0, ow_ = 0, pad_top_ = 0, pad_left_ = 0;
  std::vector<float> cols_;  // scratch: one row block of (kh kw filters) columns
  // The output position of input (i, j) through tap (u, v), or false outside the output.
  bool target(std::size_t i, std::size_t j, std::size_t u, std::size_t v, std::size_t& oi, std::size_t& oj) const;
  template <class F>
  void for_each_tap(std::size_t r0, std::size_t m, F f) const;
};

}  // namespace fourierconv::nn
