// Layers that act only in training, as Keras defines them:
//   SpatialDropout2D(rate): drops whole channels of each sample (Tompson et al. 2015): with
//     probability `rate` a channel of an (H, W, C) sample is zeroed, the others scaled by
//     1 / (1 - rate); the identity at inference.
//   GaussianNoise(stddev): adds N(0, stddev^2) noise in training; the identity at inference.
//   Keras's augmentation layers RandomFlip, RandomRotation, RandomZoom, RandomTranslation,
//     RandomContrast and RandomBrightness: the identity at inference, as in
//     Keras. Training through them is refused with an error that names the layer: their
//     random transforms are not implemented here (choice documented in the README). Their
//     Keras config is kept as it came, so that a model saved again holds them unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "fourierconv/nn/layer.hpp"

namespace fourierconv::nn {

struct NoiseArgs {
  std::optional<std::uint64_t> seed{};  // default: drawn from the global generator
  Shape input_shape{};
  std::string name{};
};

class SpatialDropout2D : public Layer {
 public:
  explicit SpatialDropout2D(double rate, NoiseArgs args = {});
  std::string class_name() const override { return "SpatialDropout2D"; }
  std::mt19937_64* random_generator() override { return &rng_; }
  double rate() const { return rate_; }

 protected:
  Shape build_impl(const Shape& in) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  double rate_;
  std::mt19937_64 rng_;
  std::vector<float> mask_;  // N x C of the last training call; empty after inference
};

class GaussianNoise : public Layer {
 public:
  explicit GaussianNoise(double stddev, NoiseArgs args = {});
  std::string class_name() const override { return "GaussianNoise"; }
  std::mt19937_64* random_generator() override { return &rng_; }
  double stddev() const { return stddev_; }

 protected:
  Shape build_impl(const Shape& in) override { return in; }
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  double stddev_;
  std::mt19937_64 rng_;
};

struct AugmentationArgs {
  std::string config_json = "{}";  // the layer's Keras config, kept to be saved back
  Shape input_shape{};
  std::string name{};
};

class Augmentation : public Layer {
 public:
  // keras_class: "RandomFlip", "RandomRotation", ...
  explicit Augmentation(std::string keras_class, AugmentationArgs args = {});
  std::string class_name() const override { return class_; }
  const std::string& config_json() const { return args_.config_json; }

 protected:
  Shape build_impl(const Shape& in) override { return in; }
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  std::string class_;
  AugmentationArgs args_;
};

}  // namespace fourierconv::nn
