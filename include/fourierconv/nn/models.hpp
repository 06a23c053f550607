// Named models for the CLI and the comparison (a table: name -> builder).
//   seed-cnn:      the seed's Example 1, Conv2D(32, 3x3, relu) -> MaxPooling2D(2x2) -> Flatten -> Dense(10, softmax)
//   seed-fourier:  FourierConv2D(32 fixed gabor band-passes, same, relu) in place of the Conv2D
//   seed-spectral: SpectralConv2D(32, modes (8, 8), relu) in place of the Conv2D
//   large-kernel-{direct,fft,auto}: Conv2D(32, 15x15, same, relu) with the algorithm forced or chosen
//   signal-cnn:      signals (L, C): Conv1D(16, 9, same, relu) -> MaxPooling1D(2) -> Flatten -> Dense(softmax)
//   signal-fourier:  FourierConv1D(16 fixed gaussian band-passes, same, relu) in place of the Conv1D
//   signal-spectral: SpectralConv1D(16, modes min(16, L/2 + 1), relu) in place of the Conv1D
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
// signal-fourier's bank: gaussian band-passes at (i + 0.5)/32 cycles per sample, i < 16, sigma 1/64.
std::vector<Filter> signal_fourier_bank();
// input_shape empty: the model's default, (28, 28, 1) (Fashion-MNIST) for the image models,
// (150, 1) (GunPoint) for the signal models. Throws Error listing the known names for an
// unknown one, and naming the expected rank for an input of the wrong rank.
Sequential make_model(const std::string& name, const Shape& input_shape = {}, std::size_t classes = 10);

}  // namespace fourierconv::nn
