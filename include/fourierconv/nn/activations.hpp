// Element-wise activations, as Keras 3 names and defines them (keras/src/activations/
// activations.py and keras.ops):
//   linear; relu max(x, 0); relu6 min(max(x, 0), 6); sigmoid 1 / (1 + e^-x); tanh;
//   softmax over the last axis, exp(x - max) / sum;
//   elu x if x > 0 else e^x - 1 (alpha 1); selu scale * (x if x > 0 else alpha (e^x - 1)),
//   alpha = 1.67326324..., scale = 1.05070098... (Klambauer et al. 2017);
//   gelu 0.5 x (1 + erf(x / sqrt 2)) (exact: Keras's default approximate=False; Hendrycks &
//   Gimpel 2016); silu (Keras also reads "swish") x sigmoid(x); softplus log(1 + e^x);
//   softsign x / (1 + |x|); hard_sigmoid relu6(x + 3) / 6 (Keras 3's; Keras 2's was
//   clip(0.2 x + 0.5, 0, 1)); exponential e^x.
#pragma once

#include <string>

#include "fourierconv/tensor.hpp"

namespace fourierconv::nn {

enum class Activation {
  Linear, Relu, Sigmoid, Tanh, Softmax,
  Elu, Selu, Gelu, Silu, Softplus, Softsign, HardSigmoid, Exponential, Relu6
};

// "linear"/"relu"/... ("" and "none" = linear; "swish" = silu). Unknown names: Error listing
// the known ones.
Activation parse_activation(const std::string& name);
std::string to_string(Activation a);  // Keras 3's name ("silu" for swish)
// True for the activations whose derivative is not a function of their output (gelu, silu):
// the layer keeps the pre-activation for them.
bool needs_preactivation(Activation a);

// y = f(x) in place; for softmax, over rows of length `last` (the last axis).
void activation_forward(Activation a, float* x, std::size_t n, std::size_t last);
// dz = f'(z) dy, from the output y = f(z), and for needs_preactivation() from z itself (z may
// be null otherwise). Through y: relu dy (y > 0); relu6 dy (0 < y < 6); sigmoid dy y (1 - y);
// tanh dy (1 - y^2); softmax y (dy - sum(dy y)) per row; elu y > 0 ? dy : dy (y + 1); selu
// y > 0 ? scale dy : dy (y + scale alpha); softplus dy (1 - e^-y); softsign dy (1 - |y|)^2;
// hard_sigmoid dy / 6 where 0 < y < 1; exponential dy y. Through z: gelu dy (Phi(z) + z phi(z));
// silu dy s (1 + z (1 - s)), s = sigmoid(z).
void activation_backward(Activation a, const float* y, const float* z, const float* dy, float* dz, std::size_t n,
                         std::size_t last);

}  // namespace fourierconv::nn
