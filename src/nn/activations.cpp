#include "fourierconv/nn/activations.hpp"

#include <algorithm>
#include <cmath>

#include "fourierconv/error.hpp"
#include "simd.hpp"

namespace fourierconv::nn {

Activation parse_activation(const std::string& name) {
  if (name.empty() || name == "linear" || name == "none") return Activation::Linear;
  if (name == "relu") return Activation::Relu;
  if (name == "sigmoid") return Activation::Sigmoid;
  if (name == "tanh") return Activation::Tanh;
  if (name == "softmax") return Activation::Softmax;
  throw Error("activation: expected one of linear, relu, sigmoid, tanh, softmax; got '" + name + "'");
}

std::string to_string(Activation a) {
  switch (a) {
    case Activation::Linear: return "linear";
    case Activation::Relu: return "relu";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Tanh: return "tanh";
    case Activation::Softmax: return "softmax";
  }
  return "?";
}

FC_MULTIVERSION void activation_forward(Activation a, float* x, std::size_t n, std::size_t last) {
  switch (a) {
    case Activation::Linear: return;
    case Activation::Relu:
      for (std::size_t i = 0; i < n; ++i) x[i] = x[i] < 0 ? 0.0f : x[i];  // NaN propagates, as in Keras
      return;
    case Activation::Sigmoid:
      for (std::size_t i = 0; i < n; ++i) x[i] = 1.0f / (1.0f + std::exp(-x[i]));
      return;
    case Activation::Tanh:
      for (std::size_t i = 0; i < n; ++i) x[i] = std::tanh(x[i]);
      return;
    case Activation::Softmax:
      for (std::size_t r = 0; r < n / last; ++r) {
        float* row = x + r * last;
        float m = *std::max_element(row, row + last), s = 0;
        for (std::size_t j = 0; j < last; ++j) s += (row[j] = std::exp(row[j] - m));
        const float inv = 1.0f / s;
        for (std::size_t j = 0; j < last; ++j) row[j] *= inv;
      }
      return;
  }
}

FC_MULTIVERSION void activation_backward(Activation a, const float* y, const float* dy, float* dz, std::size_t n, std::size_t last) {
  switch (a) {
    case Activation::Linear:
      if (dz != dy) std::copy(dy, dy + n, dz);
      return;
    case Activation::Relu:
      for (std::size_t i = 0; i < n; ++i) dz[i] = y[i] > 0 ? dy[i] : 0.0f;
      return;
    case Activation::Sigmoid:
      for (std::size_t i = 0; i < n; ++i) dz[i] = dy[i] * y[i] * (1.0f - y[i]);
      return;
    case Activation::Tanh:
      for (std::size_t i = 0; i < n; ++i) dz[i] = dy[i] * (1.0f - y[i] * y[i]);
      return;
    case Activation::Softmax:
      for (std::size_t r = 0; r < n / last; ++r) {
        const float* yr = y + r * last;
        const float* g = dy + r * last;
        float* d = dz + r * last;
        float dot = 0;
        for (std::size_t j = 0; j < last; ++j) dot += g[j] * yr[j];
        for (std::size_t j = 0; j < last; ++j) d[j] = yr[j] * (g[j] - dot);
      }
      return;
  }
}

}  // namespace fourierconv::nn
