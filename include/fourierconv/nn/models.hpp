// Named models for the CLI and the comparison (a table: name -> builder).
//   seed-cnn: the seed's Example 1, Conv2D(32, 3x3, relu) -> MaxPooling2D(2x2) -> Flatten -> Dense(10, softmax)
#pragma once

#include <string>
#include <vector>

#include "fourierconv/nn/sequential.hpp"

namespace fourierconv::nn {

struct ModelInfo {
  std::string name, description;
};

std::vector<ModelInfo> model_names();
// Throws Error listing the known names for an unknown one.
Sequential make_model(const std::string& name, const Shape& input_shape = {28, 28, 1}, std::size_t classes = 10);

}  // namespace fourierconv::nn
