// Activation (Keras): applies an activation on its own; Dropout: during training, zeroes
// each element with probability `rate` and scales the rest by 1/(1-rate) (inverted
// dropout); at inference it is the identity.
#pragma once

#include <cstdint>
#include <optional>
#include <random>

#include "fourierconv/nn/layer.hpp"

namespace fourierconv::nn {

struct ActivationArgs {
  Shape input_shape{};
  std::string name{};
};

class ActivationLayer : public Layer {
 public:
  explicit ActivationLayer(const std::string& activation, ActivationArgs args = {});
  std::string class_name() const override { return "Activation"; }

 protected:
  Shape build_impl(const Shape& input_shape) override { return input_shape; }
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;
};

struct DropoutArgs {
  std::optional<std::uint64_t> seed{};  // default: drawn from the global generator
  // Keras's noise_shape, batch included, 0 for None (the input's size): a size-1 axis shares
  // one draw along it ({0, 1, 1, 1}: one draw per sample, EfficientNet's drop-connect).
  // Empty: a draw per element.
  Shape noise_shape{};
  Shape input_shape{};
  std::string name{};
};

class Dropout : public Layer {
 public:
  explicit Dropout(double rate, DropoutArgs args = {});
  std::string class_name() const override { return "Dropout"; }
  std::mt19937_64* random_generator() override { return &rng_; }
  double rate() const { return rate_; }
  const Shape& noise_shape() const { return noise_shape_; }

 protected:
  Shape build_impl(const Shape& input_shape) override;
  void call_impl(const Tensor& x, Tensor& y, bool training) override;
  void backward_impl(const Tensor& dz, Tensor* dx) override;

 private:
  double rate_;
  Shape noise_shape_;
  std::mt19937_64 rng_;
  std::vector<float> mask_;  // empty after an inference call
};

}  // namespace fourierconv::nn
