// PNG images through libpng.
// Read: 1-16 bit gray, gray+alpha, RGB, RGBA and palette images -> (H, W, C) float32 in
// [0, 1], C = 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA); palette images become RGB(A).
// Write: (H, W) or (H, W, C) with C in 1..4, 8- or 16-bit, atomically.
#pragma once

#include <string>
#include <vector>

#include "fourierconv/tensor.hpp"

namespace fourierconv::io {

Tensor read_png(const std::string& path);
Tensor decode_png(const std::vector<unsigned char>& bytes, const std::string& what = "png");

// How values map to pixels: clip to [0, 1], or stretch [min, max] of the array to [0, 1]
// (a constant array becomes 0).
enum class PngScaling { Clip, Normalize };
PngScaling parse_png_scaling(const std::string& name);  // "clip" | "normalize"

std::vector<unsigned char> encode_png(const Tensor& image, int bit_depth = 8, PngScaling scaling = PngScaling::Clip);
void write_png(const std::string& path, const Tensor& image, int bit_depth = 8, PngScaling scaling = PngScaling::Clip);

}  // namespace fourierconv::io
