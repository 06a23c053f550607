// Sequential: a Keras-style stack of layers that builds, summarizes, trains, evaluates and
// predicts. Reads like the Keras code:
//
//   Sequential model;
//   model.add(Conv2D(32, {3, 3}, {.activation = "relu", .input_shape = {28, 28, 1}}));
//   model.add(MaxPooling2D({2, 2}));
//   model.add(Flatten());
//   model.add(Dense(10, {.activation = "softmax"}));
//   model.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
//   model.summary();
//   model.fit(x_train, y_train, {.epochs = 5, .validation_split = 0.1});
//   auto [loss, acc] = model.evaluate(x_test, y_test);
//
// x: (N, input_shape...) float32; y: (N,) integer labels (sparse) or (N, K) targets.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "fourierconv/nn/layer.hpp"
#include "fourierconv/nn/losses.hpp"
#include "fourierconv/nn/optimizers.hpp"

namespace fourierconv::nn {

// keras.Input(shape=...): the model's input shape without the batch axis.
struct Input {
  Shape shape;
};

struct FitArgs {
  std::size_t batch_size = 32;
  std::size_t epochs = 1;
  double validation_split = 0.0;   // the LAST fraction, taken before shuffling (Keras)
  bool shuffle = true;             // a new permutation each epoch
  int verbose = -1;                // -1 auto (1 on a terminal, else 2), 0 silent, 1 bar, 2 a line per epoch
  std::uint64_t seed = 0;          // shuffling seed
  const Tensor* validation_x = nullptr;  // overrides validation_split
  const Tensor* validation_y = nullptr;
};

struct History {
  std::map<std::string, std::vector<double>> history;  // "loss", "accuracy", "val_loss", ...
  std::vector<double> epoch_seconds;
};

struct Evaluation {
  double loss = 0, accuracy = 0;
};

struct SummaryArgs {
  int line_length = 0;    // 0: Keras's rule (76 when not a terminal, up to 88 on a wide one)
  bool detail = false;    // add each layer's fixed constants and algorithm choices
};

class Sequential {
 public:
  explicit Sequential(std::string name = "");
  Sequential(Sequential&&) noexcept;
  Sequential& operator=(Sequential&&) noexcept;
  ~Sequential();

  const std::string& name() const { return name_; }

  void add(Input input);
  Layer& add(std::unique_ptr<Layer> layer);
  template <class L, class = std::enable_if_t<std::is_base_of_v<Layer, std::decay_t<L>>>>
  std::decay_t<L>& add(L&& layer) {
    return static_cast<std::decay_t<L>&>(add(std::unique_ptr<Layer>(new std::decay_t<L>(std::move(layer)))));
  }

  // Builds every layer for input_shape (N excluded). Called by add() once the input shape
  // is known (from Input or the first layer's input_shape).
  void build(const Shape& input_shape);
  bool built() const { return built_; }
  const Shape& input_shape() const { return input_shape_; }
  Shape output_shape() const;
  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }
  Layer& layer(const std::string& name);

  void compile(std::unique_ptr<Optimizer> optimizer, Loss loss, std::vector<std::string> metrics = {"accuracy"});
  void compile(const std::string& optimizer, const std::string& loss, std::vector<std::string> metrics = {"accuracy"});
  bool compiled() const { return optimizer_ != nullptr; }
  const Optimizer* optimizer() const { return optimizer_.get(); }
  Optimizer* optimizer() { return optimizer_.get(); }
  const std::vector<std::string>& metrics() const { return metrics_; }
  const Loss& loss() const { return loss_; }

  History fit(const Tensor& x, const Tensor& y, FitArgs args = {});
  Evaluation evaluate(const Tensor& x, const Tensor& y, std::size_t batch_size = 32, int verbose = -1);
  Tensor predict(const Tensor& x, std::size_t batch_size = 32);

  // One optimizer step on a batch; returns the batch's mean loss (and adds correct
  // predictions to *correct when not null).
  double train_on_batch(const Tensor& x, const Tensor& y, std::size_t* correct = nullptr);

  std::string summary_text(SummaryArgs args = {}) const;
  void summary(SummaryArgs args = {}) const;  // prints to stdout

  std::size_t count_params() const;
  std::size_t count_trainable_params() const;
  std::vector<Weight*> trainable_weights();

 private:
  const Tensor& forward(const Tensor& x, bool training);
  void check_xy(const Tensor& x, const Tensor& y, const char* who) const;

  std::string name_;
  std::vector<std::unique_ptr<Layer>> layers_;
  Shape input_shape_;
  bool built_ = false;
  std::unique_ptr<Optimizer> optimizer_;
  Loss loss_;
  std::vector<std::string> metrics_;
  Tensor grad_;
  Tensor activity_grad_;  // a gradient plus an activity penalty's
  double regularization_loss(std::size_t n) const;
};

// The number of x[i] rows predicted as y[i] (argmax; labels or one-hot rows).
std::size_t count_correct(const float* y_pred, const float* y_true, std::size_t n, std::size_t k, bool sparse);

}  // namespace fourierconv::nn
