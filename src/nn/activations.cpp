#include "fourierconv/nn/activations.hpp"

#include <algorithm>
#include <cmath>

#include "fourierconv/error.hpp"
#include "simd.hpp"

namespace fourierconv::nn {

namespace {

// SELU's constants, as Keras (and Klambauer et al. 2017) give them.
constexpr float kSeluAlpha = 1.6732632423543772848170429916717f;
constexpr float kSeluScale = 1.0507009873554804934193349852946f;

struct Named {
  const char* name;
  Activation a;
};
constexpr Named kNames[] = {
    {"linear", Activation::Linear},   {"relu", Activation::Relu},         {"sigmoid", Activation::Sigmoid},
    {"tanh", Activation::Tanh},       {"softmax", Activation::Softmax},   {"elu", Activation::Elu},
    {"selu", Activation::Selu},       {"gelu", Activation::Gelu},         {"silu", Activation::Silu},
    {"softplus", Activation::Softplus}, {"softsign", Activation::Softsign}, {"hard_sigmoid", Activation::HardSigmoid},
    {"exponential", Activation::Exponential}, {"relu6", Activation::Relu6},
};

}  // namespace

Activation parse_activation(const std::string& name) {
  if (name.empty() || name == "none") return Activation::Linear;
  if (name == "swish") return Activation::Silu;  // Keras's alias
  std::string known;
  for (const Named& n : kNames) {
    if (name == n.name) return n.a;
    known += std::string(known.empty() ? "" : ", ") + n.name;
  }
  throw Error("activation: expected one of " + known + " (or swish); got '" + name + "'");
}

std::string to_string(Activation a) {
  for (const Named& n : kNames)
    if (n.a == a) return n.name;
  return "?";
}

bool needs_preactivation(Activation a) { return a == Activation::Gelu || a == Activation::Silu; }

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
    case Activation::Relu6:
      for (std::size_t i = 0; i < n; ++i) x[i] = x[i] < 0 ? 0.0f : (x[i] > 6.0f ? 6.0f : x[i]);
      return;
    case Activation::Elu:
      for (std::size_t i = 0; i < n; ++i) x[i] = x[i] > 0 ? x[i] : std::expm1(x[i]);
      return;
    case Activation::Selu:
      for (std::size_t i = 0; i < n; ++i) x[i] = kSeluScale * (x[i] > 0 ? x[i] : kSeluAlpha * std::expm1(x[i]));
      return;
    case Activation::Gelu:
      for (std::size_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * float(M_SQRT1_2)));
      return;
    case Activation::Silu:
      for (std::size_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + std::exp(-x[i]));
      return;
    case Activation::Softplus:  // max(x, 0) + log1p(e^-|x|): no overflow for large x
      for (std::size_t i = 0; i < n; ++i) x[i] = std::max(x[i], 0.0f) + std::log1p(std::exp(-std::fabs(x[i])));
      return;
    case Activation::Softsign:
      for (std::size_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + std::fabs(x[i]));
      return;
    case Activation::HardSigmoid:
      for (std::size_t i = 0; i < n; ++i) {
        const float v = x[i] + 3.0f;
        x[i] = (v < 0 ? 0.0f : (v > 6.0f ? 6.0f : v)) / 6.0f;
      }
      return;
    case Activation::Exponential:
      for (std::size_t i = 0; i < n; ++i) x[i] = std::exp(x[i]);
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

FC_MULTIVERSION void activation_backward(Activation a, const float* y, const float* z, const float* dy, float* dz,
                                         std::size_t n, std::size_t last) {
  FC_ASSERT(z || !needs_preactivation(a));
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
    case Activation::Relu6:
      for (std::size_t i = 0; i < n; ++i) dz[i] = y[i] > 0 && y[i] < 6.0f ? dy[i] : 0.0f;
      return;
    case Activation::Elu:
      for (std::size_t i = 0; i < n; ++i) dz[i] = y[i] > 0 ? dy[i] : dy[i] * (y[i] + 1.0f);
      return;
    case Activation::Selu:
      for (std::size_t i = 0; i < n; ++i) dz[i] = dy[i] * (y[i] > 0 ? kSeluScale : y[i] + kSeluScale * kSeluAlpha);
      return;
    case Activation::Gelu:
      for (std::size_t i = 0; i < n; ++i) {
        const float v = z[i];
        const float cdf = 0.5f * (1.0f + std::erf(v * float(M_SQRT1_2)));
        const float pdf = 0.3989422804014327f * std::exp(-0.5f * v * v);
        dz[i] = dy[i] * (cdf + v * pdf);
      }
      return;
    case Activation::Silu:
      for (std::size_t i = 0; i < n; ++i) {
        const float s = 1.0f / (1.0f + std::exp(-z[i]));
        dz[i] = dy[i] * s * (1.0f + z[i] * (1.0f - s));
      }
      return;
    case Activation::Softplus:
      for (std::size_t i = 0; i < n; ++i) dz[i] = -dy[i] * std::expm1(-y[i]);
      return;
    case Activation::Softsign:
      for (std::size_t i = 0; i < n; ++i) {
        const float t = 1.0f - std::fabs(y[i]);
        dz[i] = dy[i] * t * t;
      }
      return;
    case Activation::HardSigmoid:
      for (std::size_t i = 0; i < n; ++i) dz[i] = y[i] > 0 && y[i] < 1.0f ? dy[i] / 6.0f : 0.0f;
      return;
    case Activation::Exponential:
      for (std::size_t i = 0; i < n; ++i) dz[i] = dy[i] * y[i];
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
