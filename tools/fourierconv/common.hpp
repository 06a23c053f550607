// Shared helpers of the fourierconv CLI subcommands.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "fourierconv/nn/sequential.hpp"
#include "fourierconv/array.hpp"
#include "fourierconv/tensor.hpp"

namespace fourierconv::cli {

// One subcommand: its name, one-line help, and a function that adds its options and
// callback to the CLI11 subcommand.
struct Command {
  const char* name;
  const char* help;
  void (*setup)(CLI::App& sub);
};

// Reads a .npy (any supported dtype) or .png (scaled to [0, 1]) by extension.
Tensor read_array(const std::string& path, const std::string& what);
// Writes .npy (float32) or .png (8/16-bit, clip or normalize) by extension, atomically.
void write_array(const std::string& path, const Tensor& t, int bit_depth, const std::string& scaling);
bool ends_with(const std::string& s, const std::string& suffix);
// The same for arrays of any dtype: .npy keeps its dtype (every dtype of array.hpp), .png
// reads as float32 in [0, 1]; writing a .png needs a real array (converted to float32).
Array read_any_array(const std::string& path, const std::string& what);
void write_any_array(const std::string& path, const Array& a, int bit_depth, const std::string& scaling);
// A .keras file (loaded) or a model name from the registry (built with seed 0).
nn::Model open_model(const std::string& spec);

// Data of samples shaped `data` (after the batch axis) fed to a model whose input is `model`,
// by these rules, first that fits (documented in the README, "Feeding data to a model"):
//   the same shape; (H, W, 1) data to an (H, W) model: the channel axis dropped; (H, W) to
//   (H, W, 1): a channel axis added; (H, W) or (H, W, 1) to (H, W, 3): gray repeated into RGB;
//   any data to a rank-1 model of as many values: flattened row-major (channels last, as
//   Keras's Flatten and Reshape order them).
// x: (N, data...), or with single = true possibly one sample without the batch axis (tried
// after the batch reading). Returns x shaped (N, model...). No rule: an Error naming `what`,
// the model's input and the data's shape.
Tensor adapt_to_model_input(Tensor x, const Shape& model, const std::string& what, bool single = false);

}  // namespace fourierconv::cli
