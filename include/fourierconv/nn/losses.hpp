// Losses, Keras's formulas (keras.md section 5), mean over the batch ("sum_over_batch_size").
//   sparse_categorical_crossentropy: y_true (N,) class indices; y_pred (N, K)
//   categorical_crossentropy:        y_true (N, K) one-hot or soft targets
//     probabilities: p = p / sum(p), clipped to [1e-7, 1 - 1e-7], loss = -sum y log p
//     from_logits:   loss = -sum y log_softmax(z)
//   mean_squared_error ("mse"):      mean over the last axis of (y_pred - y_true)^2
// When the model ends in a softmax and the loss is a probability cross-entropy, training
// uses the fused, stable gradient dL/dz = (softmax(z) * sum(y) - y) / N on the logits
// (what TensorFlow's logits shortcut does), so it never divides by a tiny probability.
#pragma once

#include <string>

#include "fourierconv/tensor.hpp"

namespace fourierconv::nn {

class Loss {
 public:
  enum class Kind { SparseCategoricalCrossentropy, CategoricalCrossentropy, MeanSquaredError };
  static constexpr float kEpsilon = 1e-7f;

  explicit Loss(Kind kind = Kind::SparseCategoricalCrossentropy, bool from_logits = false);
  // "sparse_categorical_crossentropy", "categorical_crossentropy", "mse"/"mean_squared_error".
  static Loss parse(const std::string& name, bool from_logits = false);
  std::string name() const;
  Kind kind() const { return kind_; }
  bool from_logits() const { return from_logits_; }
  bool is_crossentropy() const { return kind_ != Kind::MeanSquaredError; }

  // Checks y_true against y_pred's shape (N, ..., K) and, for sparse targets, that every
  // label is an integer in [0, K). Throws Error naming what is wrong.
  void check_targets(const Tensor& y_true, std::size_t n, std::size_t k) const;

  // Mean loss over the n rows; y_true holds n labels (sparse) or n*k values.
  double value(const float* y_pred, const float* y_true, std::size_t n, std::size_t k) const;
  // dL/dy_pred (or dL/dz for from_logits) into grad (n*k).
  void gradient(const float* y_pred, const float* y_true, std::size_t n, std::size_t k, float* grad) const;
  // The fused softmax + cross-entropy gradient on the logits, from the softmax output p.
  void softmax_gradient(const float* p, const float* y_true, std::size_t n, std::size_t k, float* dz) const;

 private:
  Kind kind_;
  bool from_logits_;
};

}  // namespace fourierconv::nn
