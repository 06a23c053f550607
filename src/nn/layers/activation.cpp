#include "fourierconv/nn/layers/activation.hpp"

#include <algorithm>

#include "fourierconv/error.hpp"
#include "fourierconv/nn/initializers.hpp"

namespace fourierconv::nn {

ActivationLayer::ActivationLayer(const std::string& activation, ActivationArgs args)
    : Layer(args.name.empty() ? unique_name("activation") : args.name) {
  activation_ = parse_activation(activation);
  declare_input_shape(args.input_shape);
}

void ActivationLayer::call_impl(const Tensor& x, Tensor& y, bool) { std::copy(x.begin(), x.end(), y.begin()); }

void ActivationLayer::backward_impl(const Tensor& dz, Tensor* dx) {
  if (dx) std::copy(dz.begin(), dz.end(), dx->begin());
}

Dropout::Dropout(double rate, DropoutArgs args)
    : Layer(args.name.empty() ? unique_name("dropout") : args.name), rate_(rate) {
  if (!(rate >= 0.0 && rate < 1.0)) throw Error("Dropout: rate must be in [0, 1), got " + std::to_string(rate));
  rng_.seed(args.seed ? *args.seed : global_rng()());
  declare_input_shape(args.input_shape);
}

void Dropout::call_impl(const Tensor& x, Tensor& y, bool training) {
  if (!training || rate_ == 0.0) {
    mask_.clear();
    std::copy(x.begin(), x.end(), y.begin());
    return;
  }
  mask_.resize(x.size());
  const float keep = static_cast<float>(1.0 / (1.0 - rate_));
  std::bernoulli_distribution drop(rate_);
  for (std::size_t i = 0; i < x.size(); ++i) {
    mask_[i] = drop(rng_) ? 0.0f : keep;
    y[i] = x[i] * mask_[i];
  }
}

void Dropout::backward_impl(const Tensor& dz, Tensor* dx) {
  if (!dx) return;
  if (mask_.empty()) {
    std::copy(dz.begin(), dz.end(), dx->begin());
    return;
  }
  for (std::size_t i = 0; i < dz.size(); ++i) (*dx)[i] = dz[i] * mask_[i];
}

}  // namespace fourierconv::nn
