// Named models for the CLI and the comparison (a table: name -> builder).
//   seed-cnn:      the seed's Example 1, Conv2D(32, 3x3, relu) -> MaxPooling2D(2x2) -> Flatten -> Dense(10, softmax)
//   seed-fourier:  FourierConv2D(32 fixed gabor band-passes, same, relu) in place of the Conv2D
//   seed-spectral: SpectralConv2D(32, modes (8, 8), relu) in place of the Conv2D
//   large-kernel-{direct,fft,auto}: Conv2D(32, 15x15, same, relu) with the algorithm forced or chosen
#pragma once

#include <string>
#include <vector>

#include "fourierconv/filters.hpp"
#include "fourierconv/nn/sequential.hpp"

namespace fourierconv::nn {

struct ModelInfo {
  std::string name, description;
};

std::vector<ModelInfo> model_names();
// seed-fourier's bank: gabor filters at radii 0.08, 0.16, 0.24, 0.32 cycles/pixel x 8
// orientations in [0, pi), bandwidth 0.04.
std::vector<Filter> seed_fourier_bank();
// Throws Error listing the known names for an unknown one.
Sequential make_model(const std::string& name, const Shape& input_shape = {28, 28, 1}, std::size_t classes = 10);

}  // namespace fourierconv::nn
