#include "fourierconv/nn/regularizers.hpp"

#include <algorithm>
#include <cmath>

#include "fourierconv/error.hpp"

namespace fourierconv::nn {

double Regularizer::penalty(const float* w, std::size_t n) const {
  double a = 0, q = 0;
  for (std::size_t i = 0; i < n; ++i) a += std::fabs(double(w[i])), q += double(w[i]) * w[i];
  return l1 * a + l2 * q;
}

void Regularizer::add_gradient(const float* w, float* g, std::size_t n, double scale) const {
  const float a = float(l1 * scale), b = float(2 * l2 * scale);
  for (std::size_t i = 0; i < n; ++i) g[i] += a * float((w[i] > 0) - (w[i] < 0)) + b * w[i];
}

void Constraint::check(const Shape& shape, const std::string& where) const {
  if (kind == Kind::None || kind == Kind::NonNeg) return;
  if (kind == Kind::MaxNorm && !(max_value >= 0)) throw Error(where + ": MaxNorm max_value must be >= 0, got " + std::to_string(max_value));
  if (kind == Kind::MinMaxNorm && !(min_value >= 0 && min_value <= max_value && rate >= 0 && rate <= 1))
    throw Error(where + ": MinMaxNorm needs 0 <= min_value <= max_value and rate in [0, 1]");
  for (int a : axis) {
    const long k = a < 0 ? long(shape.size()) + a : a;
    if (k < 0 || k >= long(shape.size()))
      throw Error(where + ": constraint axis " + std::to_string(a) + " is outside the weight's shape " + shape_to_string(shape));
  }
}

void Constraint::apply(Tensor& w) const {
  if (kind == Kind::None) return;
  if (kind == Kind::NonNeg) {
    for (float& v : w) v = std::max(v, 0.0f);
    return;
  }
  const Shape& s = w.shape();
  const std::size_t r = s.size();
  std::vector<bool> reduced(r, false);
  for (int a : axis) {
    const long k = a < 0 ? long(r) + a : a;
    if (k < 0 || k >= long(r))
      throw Error("constraint: axis " + std::to_string(a) + " is outside the weight's shape " + shape_to_string(s));
    reduced[std::size_t(k)] = true;
  }
  // Group index of each element: its coordinates on the kept axes.
  std::vector<std::size_t> group(w.size());
  std::size_t groups = 1;
  for (std::size_t d = 0; d < r; ++d)
    if (!reduced[d]) groups *= s[d];
  for (std::size_t i = 0; i < w.size(); ++i) {
    std::size_t rest = i, gidx = 0, scale = 1;
    for (std::size_t d = r; d-- > 0;) {
      const std::size_t c = rest % s[d];
      rest /= s[d];
      if (!reduced[d]) gidx += c * scale, scale *= s[d];
    }
    group[i] = gidx;
  }
  std::vector<double> sq(groups, 0.0);
  for (std::size_t i = 0; i < w.size(); ++i) sq[group[i]] += double(w[i]) * w[i];
  constexpr double eps = 1e-7;
  std::vector<double> factor(groups);
  for (std::size_t k = 0; k < groups; ++k) {
    const double n = std::sqrt(sq[k]);
    double desired = n;
    if (kind == Kind::MaxNorm) desired = std::clamp(n, 0.0, max_value);
    if (kind == Kind::UnitNorm) desired = 1.0;
    if (kind == Kind::MinMaxNorm) desired = rate * std::clamp(n, min_value, max_value) + (1 - rate) * n;
    factor[k] = desired / (eps + n);
  }
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = float(double(w[i]) * factor[group[i]]);
}

}  // namespace fourierconv::nn
