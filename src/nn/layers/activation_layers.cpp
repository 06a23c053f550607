#include "fourierconv/nn/layers/activation_layers.hpp"

#include <algorithm>
#include <cmath>

#include "fourierconv/error.hpp"
#include "fourierconv/memory_limit.hpp"

namespace fourierconv::nn {

namespace {
void copy_to(const Tensor& a, Tensor* b) {
  if (b) std::copy(a.begin(), a.end(), b->begin());
}
void finite_arg(const std::string& layer, const char* what, double v) {
  if (!std::isfinite(v)) throw Error(layer + ": " + what + " must be finite, got " + std::to_string(v));
}
}  // namespace

ReLU::ReLU(ReLUArgs args) : Layer(args.name.empty() ? unique_name("re_lu") : args.name), args_(std::move(args)) {
  if (args_.max_value && !(*args_.max_value >= 0))
    throw Error("ReLU: max_value must be >= 0, got " + std::to_string(*args_.max_value));
  if (!(args_.negative_slope >= 0)) throw Error("ReLU: negative_slope must be >= 0, got " + std::to_string(args_.negative_slope));
  finite_arg("ReLU", "threshold", args_.threshold);
  if (args_.threshold < 0) throw Error("ReLU: threshold must be >= 0, got " + std::to_string(args_.threshold));
  declare_input_shape(args_.input_shape);
}

// Keras 3's ReLU.static_call: min(x if x > threshold else 0, max_value) - negative_slope *
// max(threshold - x, 0) (with threshold 0, relu(x) - negative_slope relu(-x)).
void ReLU::call_impl(const Tensor& x, Tensor& y, bool) {
  const float t = float(args_.threshold), s = float(args_.negative_slope);
  const float m = args_.max_value ? float(*args_.max_value) : INFINITY;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float v = x[i];
    const float pos = std::min(v > t ? v : 0.0f, m);
    y[i] = pos - s * std::max(t - v, 0.0f);
  }
}

void ReLU::backward_impl(const Tensor& dz, Tensor* dx) {
  if (!dx) return;
  const Tensor& x = last_input();
  const float t = float(args_.threshold), s = float(args_.negative_slope);
  const float m = args_.max_value ? float(*args_.max_value) : INFINITY;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float v = x[i];
    (*dx)[i] = dz[i] * ((v > t && v < m ? 1.0f : 0.0f) + (v < t ? s : 0.0f));
  }
}

LeakyReLU::LeakyReLU(LeakyReLUArgs args)
    : Layer(args.name.empty() ? unique_name("leaky_re_lu") : args.name), slope_(args.negative_slope) {
  finite_arg("LeakyReLU", "negative_slope", slope_);
  declare_input_shape(args.input_shape);
}

void LeakyReLU::call_impl(const Tensor& x, Tensor& y, bool) {
  const float s = float(slope_);
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] >= 0 ? x[i] : s * x[i];
}

void LeakyReLU::backward_impl(const Tensor& dz, Tensor* dx) {
  if (!dx) return;
  const Tensor& x = last_input();
  const float s = float(slope_);
  for (std::size_t i = 0; i < x.size(); ++i) (*dx)[i] = x[i] >= 0 ? dz[i] : s * dz[i];
}

ELU::ELU(ELUArgs args) : Layer(args.name.empty() ? unique_name("elu") : args.name), alpha_(args.alpha) {
  finite_arg("ELU", "alpha", alpha_);
  declare_input_shape(args.input_shape);
}

void ELU::call_impl(const Tensor& x, Tensor& y, bool) {
  const float a = float(alpha_);
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] > 0 ? x[i] : a * std::expm1(x[i]);
}

void ELU::backward_impl(const Tensor& dz, Tensor* dx) {
  if (!dx) return;
  const Tensor& x = last_input();
  const float a = float(alpha_);
  for (std::size_t i = 0; i < x.size(); ++i) (*dx)[i] = x[i] > 0 ? dz[i] : dz[i] * a * std::exp(x[i]);
}

PReLU::PReLU(PReLUArgs args) : Layer(args.name.empty() ? unique_name("p_re_lu") : args.name), args_(std::move(args)) {
  declare_input_shape(args_.input_shape);
}

Shape PReLU::build_impl(const Shape& in) {
  Shape a = in;
  for (std::size_t ax : args_.shared_axes) {
    if (ax == 0 || ax > in.size())
      throw Error(name() + " (PReLU): shared_axes must be 1 to " + std::to_string(in.size()) + " for input " +
                  shape_to_string(in) + ", got " + std::to_string(ax));
    a[ax - 1] = 1;
  }
  add_weight("alpha", a).value.fill(0.0f);
  // Each element's alpha: its index with the shared axes set to 0 (row-major).
  check_allocation(saturating_bytes(in, sizeof(std::size_t)), name() + " (PReLU): the index of its alphas");
  index_.resize(shape_size(in));
  for (std::size_t i = 0; i < index_.size(); ++i) {
    std::size_t rest = i, k = 0, scale = 1;
    for (std::size_t d = in.size(); d-- > 0;) {
      const std::size_t c = rest % in[d];
      rest /= in[d];
      k += (a[d] == 1 ? 0 : c) * scale;
      scale *= a[d];
    }
    index_[i] = k;
  }
  return in;
}

void PReLU::call_impl(const Tensor& x, Tensor& y, bool) {
  const Tensor& alpha = weights()[0]->value;
  const std::size_t S = index_.size();
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] >= 0 ? x[i] : alpha[index_[i % S]] * x[i];
}

void PReLU::backward_impl(const Tensor& dz, Tensor* dx) {
  Weight& w = *weights()[0];
  const Tensor& x = last_input();
  const std::size_t S = index_.size();
  w.grad.fill(0.0f);
  for (std::size_t i = 0; i < x.size(); ++i)
    if (x[i] < 0) w.grad[index_[i % S]] += dz[i] * x[i];
  if (dx)
    for (std::size_t i = 0; i < x.size(); ++i) (*dx)[i] = x[i] >= 0 ? dz[i] : w.value[index_[i % S]] * dz[i];
}

Softmax::Softmax(SoftmaxArgs args) : Layer(args.name.empty() ? unique_name("softmax") : args.name) {
  activation_ = Activation::Softmax;  // the base class applies it over the last axis, and its derivative
  declare_input_shape(args.input_shape);
}

void Softmax::call_impl(const Tensor& x, Tensor& y, bool) { std::copy(x.begin(), x.end(), y.begin()); }

void Softmax::backward_impl(const Tensor& dz, Tensor* dx) { copy_to(dz, dx); }

}  // namespace fourierconv::nn
