#include "fourierconv/nn/models.hpp"

#include <functional>

#include "fourierconv/error.hpp"
#include "fourierconv/nn/layers/conv2d.hpp"
#include "fourierconv/nn/layers/dense.hpp"
#include "fourierconv/nn/layers/flatten.hpp"
#include "fourierconv/nn/layers/pooling.hpp"

namespace fourierconv::nn {
namespace {

struct Entry {
  const char* name;
  const char* description;
  std::function<void(Sequential&, const Shape&, std::size_t)> build;
};

void head(Sequential& m, std::size_t classes) {
  m.add(MaxPooling2D({2, 2}));
  m.add(Flatten());
  m.add(Dense(classes, {.activation = "softmax"}));
}

const std::vector<Entry>& table() {
  static const std::vector<Entry> t = {
      {"seed-cnn", "the seed's Example 1: Conv2D(32, 3x3, relu), MaxPooling2D, Flatten, Dense(softmax)",
       [](Sequential& m, const Shape& in, std::size_t k) {
         m.add(Conv2D(32, {3, 3}, {.activation = "relu", .input_shape = in}));
         head(m, k);
       }},
  };
  return t;
}

}  // namespace

std::vector<ModelInfo> model_names() {
  std::vector<ModelInfo> v;
  for (auto& e : table()) v.push_back({e.name, e.description});
  return v;
}

Sequential make_model(const std::string& name, const Shape& input_shape, std::size_t classes) {
  for (auto& e : table())
    if (name == e.name) {
      Sequential m;
      e.build(m, input_shape, classes);
      return m;
    }
  std::string known;
  for (auto& e : table()) known += std::string(known.empty() ? "" : ", ") + e.name;
  throw Error("model: unknown name '" + name + "'; known models: " + known);
}

}  // namespace fourierconv::nn
