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
#pragma once

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

}  // namespace fourierconv::nn
