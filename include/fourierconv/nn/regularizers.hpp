// Keras's weight regularizers and constraints (keras/src/regularizers/regularizers.py,
// keras/src/constraints/constraints.py), as Keras 3 applies them in training:
//   Regularizer: penalty l1 sum|w| + l2 sum w^2, added to the training loss (and to evaluate's,
//     as Keras's compute_loss adds the layers' losses); an activity regularizer takes the
//     layer's output and is divided by the batch size (Keras 3, Layer.__call__). The gradient
//     of |w| at w = 0 is taken as 0, as TensorFlow and PyTorch take it (Keras on JAX takes 1).
//   Constraint: a projection applied to a weight after each optimizer step:
//     max_norm(max_value = 2, axis = 0): w * clip(n, 0, max) / (eps + n);
//     non_neg: max(w, 0);  unit_norm(axis = 0): w / (eps + n);
//     min_max_norm(min_value = 0, max_value = 1, rate = 1, axis = 0):
//       w * (rate clip(n, min, max) + (1 - rate) n) / (eps + n);
//   where n = sqrt(sum w^2 over `axis`, kept for broadcasting) and eps = 1e-7 (Keras's
//   backend.epsilon()). Axes may be negative (from the end), as in Keras.
#pragma once

#include <string>
#include <vector>

#include "fourierconv/tensor.hpp"

namespace fourierconv::nn {

struct Regularizer {
  double l1 = 0, l2 = 0;
  bool active() const { return l1 != 0 || l2 != 0; }
  double penalty(const float* w, std::size_t n) const;
  // g += scale * d penalty / d w
  void add_gradient(const float* w, float* g, std::size_t n, double scale = 1.0) const;
};

struct Constraint {
  enum class Kind { None, MaxNorm, NonNeg, UnitNorm, MinMaxNorm } kind = Kind::None;
  double min_value = 0, max_value = 2, rate = 1;
  std::vector<int> axis{0};
  bool active() const { return kind != Kind::None; }
  void apply(Tensor& w) const;  // in place; Error when an axis is outside w's rank
  // Error naming `where` when an axis is outside a weight of this shape, or the values are out
  // of range (MaxNorm max_value < 0; MinMaxNorm not 0 <= min <= max, rate in [0, 1]).
  void check(const Shape& shape, const std::string& where) const;
};

}  // namespace fourierconv::nn
