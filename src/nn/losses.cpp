#include "fourierconv/nn/losses.hpp"

#include <algorithm>
#include <cmath>

#include "fourierconv/error.hpp"

namespace fourierconv::nn {

Loss::Loss(Kind kind, bool from_logits) : kind_(kind), from_logits_(from_logits) {}

Loss Loss::parse(const std::string& name, bool from_logits) {
  if (name == "sparse_categorical_crossentropy") return Loss(Kind::SparseCategoricalCrossentropy, from_logits);
  if (name == "categorical_crossentropy") return Loss(Kind::CategoricalCrossentropy, from_logits);
  if (name == "mse" || name == "mean_squared_error") return Loss(Kind::MeanSquaredError, false);
  throw Error("loss: expected sparse_categorical_crossentropy, categorical_crossentropy or mse; got '" + name + "'");
}

std::string Loss::name() const {
  switch (kind_) {
    case Kind::SparseCategoricalCrossentropy: return "sparse_categorical_crossentropy";
    case Kind::CategoricalCrossentropy: return "categorical_crossentropy";
    case Kind::MeanSquaredError: return "mean_squared_error";
  }
  return "?";
}

void Loss::check_targets(const Tensor& y, std::size_t n, std::size_t k) const {
  if (kind_ == Kind::SparseCategoricalCrossentropy) {
    bool ok = (y.rank() == 1 && y.dim(0) == n) || (y.rank() == 2 && y.dim(0) == n && y.dim(1) == 1);
    if (!ok)
      throw Error("y: " + name() + " expects " + std::to_string(n) + " integer labels, shape (" + std::to_string(n) +
                  ",), got shape " + y.shape_string());
    for (std::size_t i = 0; i < n; ++i) {
      float v = y[i];
      if (!(v >= 0 && v < float(k) && v == std::floor(v)))
        throw Error("y: label " + std::to_string(v) + " at index " + std::to_string(i) + " is out of range: expected an integer in [0, " +
                    std::to_string(k) + ")");
    }
    return;
  }
  if (y.size() != n * k || y.dim(0) != n)
    throw Error("y: " + name() + " expects targets of shape (" + std::to_string(n) + ", " + std::to_string(k) + "), got " +
                y.shape_string());
  check_finite(y, "y");
}

namespace {
inline float target(const float* y, bool sparse, std::size_t i, std::size_t j, std::size_t k) {
  return sparse ? (std::size_t(y[i]) == j ? 1.0f : 0.0f) : y[i * k + j];
}
}  // namespace

double Loss::value(const float* p, const float* y, std::size_t n, std::size_t k) const {
  const bool sparse = kind_ == Kind::SparseCategoricalCrossentropy;
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float* row = p + i * k;
    double l = 0;
    if (kind_ == Kind::MeanSquaredError) {
      for (std::size_t j = 0; j < k; ++j) {
        double d = double(row[j]) - y[i * k + j];
        l += d * d;
      }
      l /= double(k);
    } else if (from_logits_) {
      double m = *std::max_element(row, row + k), s = 0;
      for (std::size_t j = 0; j < k; ++j) s += std::exp(double(row[j]) - m);
      const double lse = m + std::log(s);
      for (std::size_t j = 0; j < k; ++j) l -= target(y, sparse, i, j, k) * (double(row[j]) - lse);
    } else {
      double s = 0;
      for (std::size_t j = 0; j < k; ++j) s += row[j];
      for (std::size_t j = 0; j < k; ++j) {
        const float t = target(y, sparse, i, j, k);
        if (t == 0) continue;
        const float q = std::clamp(float(row[j] / s), kEpsilon, 1.0f - kEpsilon);
        l -= t * std::log(double(q));
      }
    }
    total += l;
  }
  return total / double(n);
}

void Loss::gradient(const float* p, const float* y, std::size_t n, std::size_t k, float* g) const {
  const bool sparse = kind_ == Kind::SparseCategoricalCrossentropy;
  const float inv_n = 1.0f / float(n);
  for (std::size_t i = 0; i < n; ++i) {
    const float* row = p + i * k;
    float* gr = g + i * k;
    if (kind_ == Kind::MeanSquaredError) {
      for (std::size_t j = 0; j < k; ++j) gr[j] = 2.0f * (row[j] - y[i * k + j]) * inv_n / float(k);
    } else if (from_logits_) {
      float m = *std::max_element(row, row + k), s = 0, ty = 0;
      for (std::size_t j = 0; j < k; ++j) s += std::exp(row[j] - m), ty += target(y, sparse, i, j, k);
      for (std::size_t j = 0; j < k; ++j) gr[j] = (std::exp(row[j] - m) / s * ty - target(y, sparse, i, j, k)) * inv_n;
    } else {
      // L = -sum_j t_j log(clip(p_j / S)); dL/dp_i = -t_i/p_i [unclipped] + sum_j t_j [unclipped] / S.
      float s = 0;
      for (std::size_t j = 0; j < k; ++j) s += row[j];
      float tsum = 0;
      for (std::size_t j = 0; j < k; ++j) {
        const float q = row[j] / s, t = target(y, sparse, i, j, k);
        if (q > kEpsilon && q < 1.0f - kEpsilon) tsum += t;
      }
      for (std::size_t j = 0; j < k; ++j) {
        const float q = row[j] / s, t = target(y, sparse, i, j, k);
        const bool live = q > kEpsilon && q < 1.0f - kEpsilon;
        gr[j] = ((live ? -t / row[j] : 0.0f) + tsum / s) * inv_n;
      }
    }
  }
}

void Loss::softmax_gradient(const float* p, const float* y, std::size_t n, std::size_t k, float* dz) const {
  const bool sparse = kind_ == Kind::SparseCategoricalCrossentropy;
  const float inv_n = 1.0f / float(n);
  for (std::size_t i = 0; i < n; ++i) {
    float ty = 0;
    for (std::size_t j = 0; j < k; ++j) ty += target(y, sparse, i, j, k);
    for (std::size_t j = 0; j < k; ++j) dz[i * k + j] = (p[i * k + j] * ty - target(y, sparse, i, j, k)) * inv_n;
  }
}

}  // namespace fourierconv::nn
