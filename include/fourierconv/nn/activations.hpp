// Element-wise activations, as Keras names them: linear, relu, sigmoid, tanh, softmax
// (softmax over the last axis: exp(x - max) / sum).
#pragma once

#include <string>

#include "fourierconv/tensor.hpp"

namespace fourierconv::nn {

enum class Activation { Linear, Relu, Sigmoid, Tanh, Softmax };

Activation parse_activation(const std::string& name);  // "linear"/"relu"/... ("" and "none" = linear)
std::string to_string(Activation a);

// y = f(x) in place; for softmax, over rows of length `last` (the last axis).
void activation_forward(Activation a, float* x, std::size_t n, std::size_t last);
// dz = f'(.) applied to dy, given y = f(z) (all activations are expressible through y):
// relu: dy * (y > 0); sigmoid: dy * y (1 - y); tanh: dy * (1 - y^2);
// softmax: y * (dy - sum(dy * y)) per row.
void activation_backward(Activation a, const float* y, const float* dy, float* dz, std::size_t n, std::size_t last);

}  // namespace fourierconv::nn
