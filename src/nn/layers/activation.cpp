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
    : Layer(args.name.empty() ? unique_name("dropout") : args.name), rate_(rate), noise_shape_(args.noise_shape) {
  if (!(rate >= 0.0 && rate < 1.0)) throw Error("Dropout: rate must be in [0, 1), got " + std::to_string(rate));
  rng_.seed(args.seed ? *args.seed : global_rng()());
  declare_input_shape(args.input_shape);
}

namespace {
std::string noise_text(const Shape& s) {  // 0 is Keras's None
  std::string t;
  for (auto d : s) t += (t.empty() ? "" : ", ") + (d ? std::to_string(d) : std::string("None"));
  return "(" + t + ")";
}
}  // namespace

Shape Dropout::build_impl(const Shape& in) {
  if (!noise_shape_.empty()) {
    if (noise_shape_.size() != in.size() + 1)
      throw Error(name() + " (Dropout): noise_shape " + noise_text(noise_shape_) + " must have the input's rank " +
                  std::to_string(in.size() + 1) + " (batch included)");
    for (std::size_t d = 1; d < noise_shape_.size(); ++d)
      if (noise_shape_[d] != 0 && noise_shape_[d] != 1 && noise_shape_[d] != in[d - 1])
        throw Error(name() + " (Dropout): noise_shape " + noise_text(noise_shape_) + " does not broadcast to the input " +
                    shape_to_string(in) + " (each axis None, 1 or the input's size)");
  }
  return in;
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
  if (noise_shape_.empty()) {
    for (std::size_t i = 0; i < x.size(); ++i) mask_[i] = drop(rng_) ? 0.0f : keep;
  } else {  // one draw per element of the noise shape, repeated along its size-1 axes
    const Shape& full = x.shape();
    const std::size_t r = full.size();
    Shape noise(r), stride(r);
    std::size_t n = 1;
    for (std::size_t d = r; d-- > 0;) {
      noise[d] = noise_shape_[d] == 0 ? full[d] : std::min(noise_shape_[d], full[d]);
      stride[d] = noise[d] == 1 ? 0 : n;
      n *= noise[d];
    }
    std::vector<float> draws(n);
    for (auto& v : draws) v = drop(rng_) ? 0.0f : keep;
    Shape idx(r, 0);
    std::size_t off = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      mask_[i] = draws[off];
      for (std::size_t d = r; d-- > 0;) {
        off += stride[d];
        if (++idx[d] < full[d]) break;
        off -= stride[d] * full[d];
        idx[d] = 0;
      }
    }
  }
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] * mask_[i];
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
