// BatchNormalization, as Keras 3 defines it (keras/src/layers/normalization/
// batch_normalization.py; Ioffe & Szegedy 2015), over the last (channels) axis:
//   training:  mean, var = the batch's mean and biased variance per channel (over every other
//              axis); y = gamma (x - mean) / sqrt(var + epsilon) + beta; then
//              moving_mean = momentum moving_mean + (1 - momentum) mean, and the same for
//              moving_variance with var (Keras 3 updates with the biased variance).
//   inference: the same with moving_mean and moving_variance; a layer with trainable = false
//              runs in inference mode in training too, as in Keras 3 (fine-tuning).
// Weights, in Keras's order: gamma (C,) if scale, beta (C,) if center, then the non-trainable
// moving_mean (C,) and moving_variance (C,); Keras counts all four as parameters, the moving
// statistics as non-trainable. Only axis = -1 (channels last) is supported: any other axis is
// an error naming it.
//
// LayerNormalization (Ba et al. 2016; Keras 3's layer_normalization.py): per sample, over the
// last axis, y = gamma (x - mean) / sqrt(var + epsilon) + beta with that sample's mean and
// biased variance; gamma, beta (C,); the same in training and inference. axis = -1 only;
// rms_scaling is refused.
//
// Rescaling (keras.layers.Rescaling): y = x scale + offset, scale and offset scalars or one
// per channel (the last axis). No weights.
//
// Normalization (keras.layers.Normalization, Keras 3's normalization.py), over the last axis:
// y = (x - mean) / max(sqrt(variance), 1e-7), or with invert x max(sqrt(variance), 1e-7) +
// mean. mean and variance are the config's constants (scalars or one per channel) or, when
// none are given, non-trainable weights mean (C,), variance (C,) and count (), the count an
// int32 in Keras files, that adapt() computes from data (Keras's adapt: the mean and biased
// variance over every axis but the last). Axes other than the last are refused.
#pragma once

#include <optional>
#include <vector>

#include "fourierconv/nn/layer.hpp"

namespace fourierconv::nn {

struct BatchNormalizationArgs {
  int axis = -1;  // -1, or the channels axis counted with the batch axis (Keras 2 files: 3 for images)
  double momentum = 0.99;
  double epsilon = 1e-3;
  bool center = true;
  bool scale = true;
  Shape input_shape{};
  std::string name{};
};

class BatchNormalization : public Layer {
 public:
  explicit BatchNormalization(BatchNormalizationArgs args = {});
  std::string class_name() const override { return "BatchNormalization"; }
  const BatchNormalizationArgs& args() const { return args_; }
  // Inference as a per-channel affine map y = scale x + shift (from the moving statistics,
  // gamma and beta), for folding into the preceding convolution.
  void inference_affine(std::vector<float>& scale, std::vector<float>& shift) const;

 protected:
  Shape build_impl(const Shape& input_shape) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  BatchNormalizationArgs args_;
  Weight *gamma_ = nullptr, *beta_ = nullptr, *mean_ = nullptr, *var_ = nullptr;
  bool batch_stats_ = false;        // the last call normalized by the batch's statistics
  std::vector<float> inv_std_;      // per channel, of the last call: 1 / sqrt(var + eps)
  std::vector<float> used_mean_;    // per channel, the mean the last call subtracted
};

struct LayerNormalizationArgs {
  int axis = -1;  // -1, or the last axis counted with the batch axis (Keras 2 files: [3])
  double epsilon = 1e-3;
  bool center = true;
  bool scale = true;
  Shape input_shape{};
  std::string name{};
};

class LayerNormalization : public Layer {
 public:
  explicit LayerNormalization(LayerNormalizationArgs args = {});
  std::string class_name() const override { return "LayerNormalization"; }
  const LayerNormalizationArgs& args() const { return args_; }

 protected:
  Shape build_impl(const Shape& input_shape) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  LayerNormalizationArgs args_;
  Weight *gamma_ = nullptr, *beta_ = nullptr;
  std::vector<float> mean_, inv_std_;  // per row of the last call
};

struct RescalingArgs {
  Shape input_shape{};
  std::string name{};
};

class Rescaling : public Layer {
 public:
  // scale, offset: one value, or one per channel.
  Rescaling(std::vector<double> scale, std::vector<double> offset = {0.0}, RescalingArgs args = {});
  std::string class_name() const override { return "Rescaling"; }
  const std::vector<double>& scale() const { return scale_; }
  const std::vector<double>& offset() const { return offset_; }

 protected:
  Shape build_impl(const Shape& input_shape) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  std::vector<double> scale_, offset_;
};

struct NormalizationArgs {
  std::optional<std::vector<double>> mean{}, variance{};  // constants; none: weights to adapt
  bool invert = false;
  int axis = -1;  // -1, or the last axis counted with the batch (Keras writes [3] for images)
  Shape input_shape{};
  std::string name{};
};

class Normalization : public Layer {
 public:
  explicit Normalization(NormalizationArgs args = {});
  std::string class_name() const override { return "Normalization"; }
  const NormalizationArgs& args() const { return args_; }
  // data: (N, ..., C) with C the built input's channels: sets mean, variance and count.
  void adapt(const Tensor& data);

 protected:
  Shape build_impl(const Shape& input_shape) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  NormalizationArgs args_;
  // Per channel: the mean and the divisor max(sqrt(variance), 1e-7).
  void statistics(std::vector<float>& mean, std::vector<float>& stddev) const;
};

}  // namespace fourierconv::nn
