#include "fourierconv/nn/layers/regularization.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "fourierconv/error.hpp"
#include "fourierconv/nn/initializers.hpp"

namespace fourierconv::nn {

namespace {
std::string snake_case(const std::string& cls) {  // Keras's default layer names: RandomFlip -> random_flip
  std::string s;
  for (std::size_t i = 0; i < cls.size(); ++i) {
    const char c = cls[i];
    if (std::isupper(static_cast<unsigned char>(c))) {
      if (i) s += '_';
      s += char(std::tolower(static_cast<unsigned char>(c)));
    } else {
      s += c;
    }
  }
  return s;
}
}  // namespace

SpatialDropout2D::SpatialDropout2D(double rate, NoiseArgs args)
    : Layer(args.name.empty() ? unique_name("spatial_dropout2d") : args.name), rate_(rate) {
  if (!(rate >= 0.0 && rate < 1.0)) throw Error("SpatialDropout2D: rate must be in [0, 1), got " + std::to_string(rate));
  rng_.seed(args.seed ? *args.seed : global_rng()());
  declare_input_shape(args.input_shape);
}

Shape SpatialDropout2D::build_impl(const Shape& in) {
  if (in.size() != 3) throw Error(name() + " (SpatialDropout2D): expected (H, W, C) inputs, got " + shape_to_string(in));
  return in;
}

void SpatialDropout2D::call_impl(const Tensor& x, Tensor& y, bool training) {
  if (!training || rate_ == 0.0) {
    mask_.clear();
    std::copy(x.begin(), x.end(), y.begin());
    return;
  }
  const std::size_t C = input_shape()[2], N = x.dim(0), P = x.size() / (N * C);
  mask_.resize(N * C);
  const float keep = float(1.0 / (1.0 - rate_));
  std::bernoulli_distribution drop(rate_);
  for (float& m : mask_) m = drop(rng_) ? 0.0f : keep;
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t p = 0; p < P; ++p)
      for (std::size_t c = 0; c < C; ++c) y[(n * P + p) * C + c] = x[(n * P + p) * C + c] * mask_[n * C + c];
}

void SpatialDropout2D::backward_impl(const Tensor& dz, Tensor* dx) {
  if (!dx) return;
  if (mask_.empty()) {
    std::copy(dz.begin(), dz.end(), dx->begin());
    return;
  }
  const std::size_t C = input_shape()[2], N = dz.dim(0), P = dz.size() / (N * C);
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t p = 0; p < P; ++p)
      for (std::size_t c = 0; c < C; ++c) (*dx)[(n * P + p) * C + c] = dz[(n * P + p) * C + c] * mask_[n * C + c];
}

GaussianNoise::GaussianNoise(double stddev, NoiseArgs args)
    : Layer(args.name.empty() ? unique_name("gaussian_noise") : args.name), stddev_(stddev) {
  if (!(stddev >= 0 && std::isfinite(stddev))) throw Error("GaussianNoise: stddev must be >= 0 and finite, got " + std::to_string(stddev));
  rng_.seed(args.seed ? *args.seed : global_rng()());
  declare_input_shape(args.input_shape);
}

void GaussianNoise::call_impl(const Tensor& x, Tensor& y, bool training) {
  if (!training || stddev_ == 0) {
    std::copy(x.begin(), x.end(), y.begin());
    return;
  }
  std::normal_distribution<float> noise(0.0f, float(stddev_));
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] + noise(rng_);
}

void GaussianNoise::backward_impl(const Tensor& dz, Tensor* dx) {  // the noise is additive: dx = dz
  if (dx) std::copy(dz.begin(), dz.end(), dx->begin());
}

Augmentation::Augmentation(std::string keras_class, AugmentationArgs args)
    : Layer(args.name.empty() ? unique_name(snake_case(keras_class)) : args.name), class_(std::move(keras_class)), args_(std::move(args)) {
  declare_input_shape(args_.input_shape);
}

void Augmentation::call_impl(const Tensor& x, Tensor& y, bool training) {
  if (training)
    throw Error(name() + " (" + class_ + "): training through Keras's augmentation layers is not supported (they are the "
                "identity at inference only); train without the layer, or augment the data before fit");
  std::copy(x.begin(), x.end(), y.begin());
}

void Augmentation::backward_impl(const Tensor& dz, Tensor* dx) {
  if (dx) std::copy(dz.begin(), dz.end(), dx->begin());
}

}  // namespace fourierconv::nn
