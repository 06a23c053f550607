// FourierConv2D: a bank of FIXED frequency responses applied to every input channel -- the
// layer the seed asks about. It has no weights: each response is a function of frequency
// chosen up front, sampled once in build() into a constant spectrum. That is why Keras
// shows 0 trainable parameters for such a layer, and why it is cheap: a call is one rfft2 of
// each input plane, a product per filter and one irfft2 per output plane.
//
//   input (N, H, W, C) -> output (N, H, W, C*F), channel c*F + f = filter f on input channel c
//   (Keras's depthwise ordering, depth multiplier F).
//   padding "circular": y = Re(ifft2(fft2(x) . H)) on the H x W grid (the seed's plain theorem);
//           "same": the plane is zero-padded to P x Q = next_fast_size(2n - 1) per axis, filtered
//           and cropped, so the image never wraps onto itself.
//   output "real" (default) or "magnitude" (|ifft2(fft2(x) . H)|, the seed's np.abs).
//   Frequencies, the even/odd split of a response and the exact formulas: filters.hpp.
// Backward: the input gradient is the adjoint, the same even response applied to dy (its
// conjugate, which for the real even part is itself), through |z| for magnitude; layers
// before it train. The optimizer never sees the layer: it has nothing to train.
// Subnormal floats: the forward and backward compute with flush-to-zero and denormals-are-zero
// on (x86; each thread's own mode is put back on return), as TensorFlow runs its ops: subnormal
// inputs, intermediates and results are 0, and since the response is held with 1/(P Q) folded
// in, its samples below about P Q FLT_MIN (a gaussian's tails) count as 0 and outputs below
// about P Q FLT_MIN (9e-36 on 28 x 28) may be lost. Intel cores otherwise take ~100 cycles per
// subnormal operand (the seed's gabor bank: 2.7-3.6x slower; src/flush_denormals.hpp).
#pragma once

#include <memory>
#include <vector>

#include "fourierconv/filters.hpp"
#include "fourierconv/nn/layer.hpp"

namespace fourierconv::nn {

struct FourierConv2DArgs {
  std::string padding = "circular";
  std::string output = "real";
  std::string activation = "linear";
  Shape input_shape{};
  std::string name{};
};

class FourierConv2D : public Layer {
 public:
  explicit FourierConv2D(std::vector<Filter> bank, FourierConv2DArgs args = {});
  // One response given as a callable: the seed's FourierConv2D(filter_func).
  explicit FourierConv2D(FrequencyResponse response, FourierConv2DArgs args = {});
  std::string class_name() const override { return "FourierConv2D"; }
  std::vector<std::string> detail() const override;

  const std::vector<Filter>& bank() const { return bank_; }
  const FourierConv2DArgs& args() const { return args_; }
  std::size_t filters() const { return bank_.size(); }
  // The FFT grid (P, Q) chosen in build().
  std::pair<std::size_t, std::size_t> grid() const;
  // Number of fixed real constants held (sampled spectra): reported, never counted as params.
  std::size_t fixed_constants() const;
  // This layer followed by `pool` in one pass, as Conv2D::call_max_pooled (Model runs it at
  // inference, and in training where neither layer needs a gradient: seed-fourier's fixed bank
  // and its pooling): each inverse transform is pooled while it is in cache, and the full
  // (N, H, W, C*F) output is never stored. The same floats as the two layers, bit for bit.
  // Returns the pooled output (owned by this layer), or null when the pair does not qualify
  // (output 'magnitude', a grid above 4,096 points, an activation other than relu or linear,
  // pooling with strides other than its size or 'same' padding, or a pool whose input is not
  // this layer's output); the caller then runs the two layers.
  const Tensor* call_max_pooled(const Tensor& x, const class MaxPooling2D& pool);

 protected:
  FourierConv2D(std::vector<Filter> bank, FourierConv2DArgs args, const char* name_prefix, const char* cls);
  Shape build_impl(const Shape& input_shape) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dy, Tensor* dx) override;
  bool fuses_activation() const override { return true; }

 private:
  struct Plan;
  std::vector<Filter> bank_;
  FourierConv2DArgs args_;
  bool same_, magnitude_;
  std::shared_ptr<Plan> plan_;
  Tensor re_, im_;  // pre-magnitude real and imaginary outputs (magnitude output only)
  Tensor pooled_;   // call_max_pooled's output
};

// FourierConv1D: the same fixed bank on signals, (N, L, C) -> (N, L, C*F). It is FourierConv2D
// on a 1 x L grid: a response H(fy, fx) is sampled at fy = 0, so H(0, f) on numpy's
// fftfreq(Q) grid (cycles per sample); the radial named filters become their 1-D profiles
// (lowpass, highpass, bandpass on |f|), gabor(f0, 0, sigma) a band around +-f0.
// padding "circular": the signal wraps (length L); "same": zero-padded to
// Q = next_fast_size(2L - 1) and cropped (linear convolution). 0 parameters.
class FourierConv1D : public FourierConv2D {
 public:
  explicit FourierConv1D(std::vector<Filter> bank, FourierConv2DArgs args = {});
  std::string class_name() const override { return "FourierConv1D"; }
  std::vector<std::string> detail() const override;

 protected:
  Shape build_impl(const Shape& input_shape) override;
};

}  // namespace fourierconv::nn
