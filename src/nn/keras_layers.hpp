// Keras layer configs (internal to the library): the table of supported layer classes that
// saving.cpp writes into and reads from config.json (.keras) and model_config (.h5).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fourierconv/nn/layer.hpp"

namespace fourierconv::nn::keras_io {

using json = nlohmann::ordered_json;
constexpr std::size_t kMaxDim = std::size_t(1) << 24;  // largest size a config may give

// Where a config comes from, for messages.
struct Ctx {
  std::string file;                 // empty when there is no file
  std::string who = "load_model";   // the public function
};
// Throws Error "who: 'file': what".
[[noreturn]] void bad(const Ctx& c, const std::string& what);

json dtype_policy();                  // {"name": "float32"} as Keras writes it
json batch_shape(const Shape& s);     // [null, s...]

// One row per supported layer type: how to write its config and how to build it from one.
struct LayerType {
  std::string class_name, module, registered_name;  // registered_name empty: null (a Keras layer)
  std::function<bool(const Layer&, json&)> to_config;  // false if the layer is not of this type
  std::function<std::unique_ptr<Layer>(const Ctx&, const json&, const std::string&)> from_config;
};
const std::vector<LayerType>& layer_types();
// `rows` followed by the rows of the layers without kernels (keras_layers_misc.cpp):
// activation layers, reshaping, normalization, regularization, augmentation.
std::vector<LayerType> with_misc_layer_types(std::vector<LayerType> rows);

// Parameters a layer will allocate on `in`, known before building it (saturating), so that a
// config cannot make us allocate more than its weights hold.
std::size_t planned_params(const Layer& l, const Shape& in);

}  // namespace fourierconv::nn::keras_io
