// Weight initializers (Keras's names and formulas) and the global seed.
//   glorot_uniform: U(-L, L), L = sqrt(6 / (fan_in + fan_out)); for a kernel of rank >= 3,
//     receptive field rf = prod(shape[:-2]), fan_in = shape[-2] * rf, fan_out = shape[-1] * rf;
//     rank 2: (shape[0], shape[1]).
//   zeros, ones.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "fourierconv/tensor.hpp"

namespace fourierconv::nn {

// keras.utils.set_random_seed: seeds the generator every initializer and dropout draws from.
void set_random_seed(std::uint64_t seed);
std::mt19937_64& global_rng();

double glorot_limit(const Shape& shape);
void glorot_uniform(Tensor& w, std::mt19937_64& rng);
void initialize(Tensor& w, const std::string& initializer, std::mt19937_64& rng);  // by name

}  // namespace fourierconv::nn
