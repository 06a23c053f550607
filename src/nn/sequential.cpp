#include "fourierconv/nn/sequential.hpp"

#include "fourierconv/error.hpp"

namespace fourierconv::nn {

Sequential::Sequential(std::string name) : Model(name.empty() ? unique_name("sequential") : std::move(name)) { sequential_ = true; }

void Sequential::add(Input input) {
  if (!layers_.empty()) throw Error(name_ + ": Input must come before the first layer");
  if (input.shape.empty()) throw Error(name_ + ": Input shape must not be empty");
  for (auto d : input.shape)
    if (d == 0) throw Error(name_ + ": Input shape " + shape_to_string(input.shape) + " has a zero axis");
  inputs_ = {{input.name.empty() ? "input_layer" : input.name, input.shape}};
}

Layer& Sequential::add(std::unique_ptr<Layer> layer) {
  if (!layer) throw Error(name_ + ".add: layer is null");
  for (auto& l : layers_)
    if (l->name() == layer->name()) throw Error(name_ + ".add: a layer named '" + layer->name() + "' is already in the model");
  if (layers_.empty() && inputs_.empty() && !layer->declared_input_shape().empty()) add(Input{layer->declared_input_shape()});
  if (!inputs_.empty()) {
    const Shape in = layers_.empty() ? inputs_[0].shape : layers_.back()->output_shape();
    try {
      layer->build(in);
    } catch (const Error& e) {
      throw Error(name_ + ".add: cannot add " + layer->name() + " (" + layer->class_name() + ") after " +
                  (layers_.empty() ? std::string("the input") : layers_.back()->name()) + " with output shape " +
                  shape_to_string(in) + ": " + e.what());
    }
  }
  layers_.push_back(std::move(layer));
  if (!inputs_.empty()) build_chain();
  return *layers_.back();
}

void Sequential::build(const Shape& input_shape) {
  if (layers_.empty()) throw Error(name_ + ".build: the model has no layers");
  inputs_ = {{inputs_.empty() ? "input_layer" : inputs_[0].name, input_shape}};
  Shape s = input_shape;
  for (auto& l : layers_) {
    l->build(s);
    s = l->output_shape();
  }
  build_chain();
}

}  // namespace fourierconv::nn
