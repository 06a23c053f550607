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
nn::Sequential open_model(const std::string& spec);

}  // namespace fourierconv::cli
