// Sequential: a Keras-style stack of layers, the chain case of Model (model.hpp), which
// builds, summarizes, trains, evaluates and predicts. Reads like the Keras code:
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

#include <memory>
#include <string>
#include <type_traits>

#include "fourierconv/nn/model.hpp"

namespace fourierconv::nn {

class Sequential : public Model {
 public:
  explicit Sequential(std::string name = "");

  void add(Input input);
  Layer& add(std::unique_ptr<Layer> layer);
  template <class L, class = std::enable_if_t<std::is_base_of_v<Layer, std::decay_t<L>>>>
  std::decay_t<L>& add(L&& layer) {
    return static_cast<std::decay_t<L>&>(add(std::unique_ptr<Layer>(new std::decay_t<L>(std::move(layer)))));
  }

  // Builds every layer for input_shape (N excluded). Called by add() once the input shape
  // is known (from Input or the first layer's input_shape).
  void build(const Shape& input_shape);
};

}  // namespace fourierconv::nn
