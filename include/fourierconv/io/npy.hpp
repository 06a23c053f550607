// NumPy .npy files (format versions 1.0, 2.0 and 3.0).
// Read: dtypes float32, float64, uint8 (little-endian '<f4', '<f8', '|u1', and '>f4'/'>f8'),
// C order, rank 0 to 4; values converted to float32. Write: float32 '<f4', version 1.0, C
// order, with the header padded to a multiple of 64 bytes exactly as numpy.save does.
#pragma once

#include <string>
#include <vector>

#include "fourierconv/tensor.hpp"

namespace fourierconv::io {

Tensor read_npy(const std::string& path);
Tensor parse_npy(const std::vector<unsigned char>& bytes, const std::string& what = "npy");
std::vector<unsigned char> encode_npy(const Tensor& t);
void write_npy(const std::string& path, const Tensor& t);  // atomic

}  // namespace fourierconv::io
