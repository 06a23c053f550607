// Internal: a model's Keras config (config.json of a .keras file, model_config of a legacy
// .h5) to and from a Model: Keras 3's Sequential and Functional, Keras 2's Sequential (also
// 2.0/2.1's bare layer list) and Model/Functional graphs. Layer configs are keras_layers.hpp's.
#pragma once

#include <cstdint>

#include "fourierconv/nn/model.hpp"
#include "nn/keras_layers.hpp"

namespace fourierconv::nn::keras_io {

// from_config's weight_bytes when there is no weights file: the memory limit bounds the model.
constexpr std::size_t kNoWeightsFile = SIZE_MAX;

// {"module": "keras", "class_name": "Sequential" | "Functional", "config": ...} as Keras 3 writes.
json model_to_config(const Model& m);
// Builds the model a config describes, its weights freshly initialized. Refuses, before
// allocating, configs that declare more parameters than weight_bytes can hold (a hostile file
// must not make us allocate gigabytes), unknown layers and options, references to missing
// layers, cycles, and mismatched shapes; every error names the file and the layer.
Model model_from_config(const json& root, const Ctx& c, std::size_t weight_bytes);

// A new, unbuilt layer with `l`'s config (its class, options and trainable flag), through the
// config table; null when the table cannot write `l` (a Layer subclass of the user's own).
// The Functional graph builds one for a shared layer applied to inputs of another shape.
std::unique_ptr<Layer> layer_with_config_of(const Layer& l);

}  // namespace fourierconv::nn::keras_io
