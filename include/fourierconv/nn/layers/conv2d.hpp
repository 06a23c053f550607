// Conv2D: Keras's 2-D convolution layer (cross-correlation, channels last).
//   input (N, H, W, C) -> output (N, OH, OW, filters); kernel (kh, kw, C, filters), bias (filters,)
//   Output sizes and the 'same' split: see conv/problem.hpp.
// C++ reads like the Keras call:
//   Conv2D(32, {3, 3}, {.activation = "relu", .input_shape = {28, 28, 1}})
#pragma once

#include <cmath>

#include <map>
#include <string>
#include <utility>

#include "fourierconv/conv/choose.hpp"
#include "fourierconv/conv/fft.hpp"
#include "fourierconv/conv/problem.hpp"
#include "fourierconv/conv/winograd.hpp"
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
  // How the convolution is computed (conv/choose.hpp): "auto" (cost model, per pass and
  // batch size), "direct", "fft" (falls back to direct for strides or dilation, and says so),
  // "winograd" (F(4x4, 3x3) for the forward passes of 3x3 stride-1 undilated layers, else
  // direct, saying so; backward passes as auto), or "measure" (times each algorithm that applies
  // once per problem and pass, caches the winner process-wide). auto and measure compute inputs
  // holding NaN or Inf directly (the FFT would spread them over the plane, Winograd over its
  // tiles); an explicit "fft" or "winograd" keeps its algorithm.
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
  // Conv2DArgs::algorithm for the passes from now on (an Error for another name).
  void set_algorithm(std::string algorithm);
  // The algorithm of the last forward / backward pass ("direct", "fft" or "winograd") and why.
  const std::string& algorithm_used() const { return forward_used_; }
  const std::string& algorithm_reason() const { return forward_reason_; }
  const std::string& backward_algorithm_used() const { return backward_used_; }

  // This layer followed by `pool` in one pass (Model's inference path; see `training`):
  // the convolution rows are pooled as they are computed, and the full convolution output,
  // the largest tensor of such models, is never stored. Returns the pooled output (owned by
  // this layer), or null when the pair does not qualify (an algorithm other than direct for
  // this pass, an activation other than relu or linear, pooling with strides other than its
  // size or same padding, or a pool whose input is not this layer's output); the caller then
  // runs the two layers. `training`: decide the algorithm as a training forward would (Model
  // fuses there where neither layer needs a gradient, e.g. a frozen first layer).
  const Tensor* call_max_pooled(const Tensor& x, const class MaxPooling2D& pool, bool training = false);
  // Inference of this layer followed by a per-filter affine map y scale + shift (a
  // BatchNormalization at inference: Model folds it here), folded into the kernel and bias:
  // K' = K scale, b' = b scale + shift (Ioffe & Szegedy 2015, section 3.2's inference
  // transform), one convolution pass instead of two passes; where the kernel is larger than
  // the output, the output is scaled instead (the cheaper of the two passes). Returns the output (owned by this
  // layer), or null when the layer's activation is not linear.
  // hi: a following relu (0 <= y <= hi; +inf for relu, 6 for relu6) applied in the same
  // passes, or NaN for none.
  const Tensor* call_affine(const Tensor& x, const std::vector<float>& scale, const std::vector<float>& shift, float hi = NAN);

 protected:
  Shape build_impl(const Shape& input_shape) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dy, Tensor* dx) override;
  bool fuses_activation() const override { return true; }

  // The 1-D layer (Conv1D) is this layer on a (1, L, C) grid; it allows 'causal' padding.
  Conv2D(std::size_t filters, Size2 kernel_size, Conv2DArgs args, const char* name_prefix, bool allow_causal);
  // Builds on a (H, W, C) grid; the 1-D layer passes (1, L, C).
  Shape build_grid(const Shape& grid);
  conv::Problem problem_for(std::size_t n) const;

 private:
  // algorithm_for a forward pass on x, taking the direct algorithm for inputs holding NaN or
  // Inf (the FFT spreads them over the plane, Winograd over a tile).
  conv::Algorithm forward_algorithm(const conv::Problem& p, int pass, const Tensor& x);
  // x: the pass's input (measure mode times the algorithms on it; for a backward pass, the
  // forward's input).
  conv::Algorithm algorithm_for(const conv::Problem& p, int pass, const Tensor& x, std::string* reason);
  conv::Algorithm decide(const conv::Problem& p, int pass, const Tensor& x, std::string* reason);
  void forward_with(conv::Algorithm a, const conv::Problem& p, const float* x, const float* kernel, const float* bias,
                    float* y, bool relu);
  std::size_t filters_;
  Size2 kernel_size_;
  Conv2DArgs args_;
  conv::Padding padding_;
  std::string forward_used_ = "none", forward_reason_ = "not called yet", backward_used_ = "none";
  // Decisions per (batch size, pass): the choice is a pure function of them, made once.
  std::map<std::pair<std::size_t, int>, std::pair<conv::Algorithm, std::string>> decisions_;
  std::shared_ptr<conv::FftConv> fft_;
  conv::WinogradKernel winograd_kernel_;  // the transformed kernel, kept while the weights are unchanged
  Tensor folded_kernel_, folded_bias_, folded_out_;  // call_affine's
  Tensor pooled_;  // call_max_pooled's output
  Shape grid_;     // (H, W, C) of build_grid
};

// Conv1D: Keras's 1-D convolution layer, channels last.
//   input (N, L, C) -> output (N, OL, filters); kernel (k, C, filters), bias (filters,)
//   padding 'valid' and 'same' as Conv2D on one axis; 'causal' pads d(k-1) zeros before the
//   signal only (output t depends on inputs <= t*s), OL = ceil(L/s), as Keras's Conv1D.
// It is Conv2D on a 1 x L grid (the same kernels, the same direct/FFT 'auto' choice).
struct Conv1DArgs {
  std::size_t strides = 1;
  std::string padding = "valid";  // valid | same | causal
  std::size_t dilation_rate = 1;
  std::string activation = "linear";
  bool use_bias = true;
  std::string kernel_initializer = "glorot_uniform";
  std::string bias_initializer = "zeros";
  std::string algorithm = "auto";
  Shape input_shape{};  // (L, C) for the first layer of a model
  std::string name{};   // default: conv1d, conv1d_1, ...
};

class Conv1D : public Conv2D {
 public:
  Conv1D(std::size_t filters, std::size_t kernel_size, Conv1DArgs args = {});
  std::string class_name() const override { return "Conv1D"; }
  std::size_t kernel_length() const { return kernel_size().second; }
  std::size_t stride() const { return args().strides.second; }
  std::size_t dilation() const { return args().dilation_rate.second; }

 protected:
  Shape build_impl(const Shape& input_shape) override;
};

}  // namespace fourierconv::nn
