#include "fourierconv/nn/layers/activation_layers.hpp"

#include <algorithm>
#include <cmath>

#include "fourierconv/error.hpp"
#include "parallel.hpp"
#include "simd.hpp"
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
namespace {
// Keras 3's relu with threshold t, negative slope s and cap m, on raw arrays (vectorized in
// the v3/v4 clones).
FC_MULTIVERSION void relu_forward(const float* __restrict x, float* __restrict y, std::size_t n, float t, float s, float m) {
  for (std::size_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float pos = !(v <= t) ? std::min(v, m) : 0.0f;  // NaN passes, as Keras's clip
    y[i] = s == 0.0f ? pos : pos - s * std::max(t - v, 0.0f);  // (0 * inf would make -inf NaN)
  }
}
}  // namespace

void ReLU::call_impl(const Tensor& x, Tensor& y, bool) {
  const float t = float(args_.threshold), s = float(args_.negative_slope);
  const float m = args_.max_value ? float(*args_.max_value) : INFINITY;
  detail::parallel_chunks(x.size(), 16, [&](std::size_t b, std::size_t e) { relu_forward(x.data() + b, y.data() + b, e - b, t, s, m); });
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
  if (slope_ < 0) throw Error("LeakyReLU: negative_slope must be >= 0, got " + std::to_string(slope_));
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
  return in;
}

namespace {
// f(i, k) for each element i of a batch of samples shaped `in` and its alpha's index k (the
// element's coordinates with the shared axes at 0), by an odometer over the coordinates: no
// per-element table (an input shape read from a file may be huge).
template <class F>
void for_each_alpha(const Shape& in, const Shape& a, std::size_t total, F f) {
  const std::size_t r = in.size();
  std::vector<std::size_t> coord(r, 0), astride(r, 1);
  for (std::size_t d = r - 1; d-- > 0;) astride[d] = astride[d + 1] * a[d + 1];
  std::size_t k = 0;
  for (std::size_t i = 0; i < total; ++i) {
    f(i, k);
    for (std::size_t d = r; d-- > 0;) {  // next coordinate; k follows the unshared axes
      if (++coord[d] < in[d]) {
        if (a[d] != 1) k += astride[d];
        break;
      }
      if (a[d] != 1) k -= (in[d] - 1) * astride[d];
      coord[d] = 0;
    }
  }
}
}  // namespace

void PReLU::call_impl(const Tensor& x, Tensor& y, bool) {
  const Tensor& alpha = weights()[0]->value;
  for_each_alpha(input_shape(), alpha.shape(), x.size(),
                 [&](std::size_t i, std::size_t k) { y[i] = x[i] >= 0 ? x[i] : alpha[k] * x[i]; });
}

void PReLU::backward_impl(const Tensor& dz, Tensor* dx) {
  Weight& w = *weights()[0];
  const Tensor& x = last_input();
  w.grad.fill(0.0f);
  for_each_alpha(input_shape(), w.value.shape(), x.size(), [&](std::size_t i, std::size_t k) {
    if (x[i] < 0) w.grad[k] += dz[i] * x[i];
    if (dx) (*dx)[i] = x[i] >= 0 ? dz[i] : w.value[k] * dz[i];
  });
}

Softmax::Softmax(SoftmaxArgs args) : Layer(args.name.empty() ? unique_name("softmax") : args.name), axis_(args.axis) {
  if (axis_ == 0) throw Error("Softmax: axis 0 is the batch axis; expected an axis of the sample (-1: the last)");
  declare_input_shape(args.input_shape);
}

Shape Softmax::build_impl(const Shape& in) {
  const long rank = long(in.size());
  const long a = axis_ < 0 ? rank + axis_ : axis_ - 1;  // among the sample's axes
  if (a < 0 || a >= rank)
    throw Error(name() + ": axis " + std::to_string(axis_) + " is out of range for inputs of shape " + shape_to_string(in));
  // The last axis: the base class applies the activation and its derivative.
  activation_ = a == rank - 1 ? Activation::Softmax : Activation::Linear;
  len_ = in[std::size_t(a)];
  inner_ = 1;
  for (long d = a + 1; d < rank; ++d) inner_ *= in[std::size_t(d)];
  return in;
}

void Softmax::call_impl(const Tensor& x, Tensor& y, bool) {
  std::copy(x.begin(), x.end(), y.begin());
  if (activation_ == Activation::Softmax) return;
  const std::size_t block = len_ * inner_, blocks = x.size() / block;
  for (std::size_t o = 0; o < blocks; ++o)
    for (std::size_t i = 0; i < inner_; ++i) {
      float* v = y.data() + o * block + i;
      float hi = -INFINITY;
      for (std::size_t k = 0; k < len_; ++k) hi = std::max(hi, v[k * inner_]);
      double sum = 0;
      for (std::size_t k = 0; k < len_; ++k) sum += v[k * inner_] = std::exp(v[k * inner_] - hi);
      for (std::size_t k = 0; k < len_; ++k) v[k * inner_] = float(v[k * inner_] / sum);
    }
}

void Softmax::backward_impl(const Tensor& dz, Tensor* dx) {
  if (activation_ == Activation::Softmax) return copy_to(dz, dx);
  if (!dx) return;
  // dx = y (dz - sum(dz y)) along the axis.
  const Tensor& y = output();
  const std::size_t block = len_ * inner_, blocks = dz.size() / block;
  for (std::size_t o = 0; o < blocks; ++o)
    for (std::size_t i = 0; i < inner_; ++i) {
      const std::size_t at = o * block + i;
      double dot = 0;
      for (std::size_t k = 0; k < len_; ++k) dot += double(dz[at + k * inner_]) * y[at + k * inner_];
      for (std::size_t k = 0; k < len_; ++k) (*dx)[at + k * inner_] = float(y[at + k * inner_] * (dz[at + k * inner_] - dot));
    }
}

}  // namespace fourierconv::nn
