// NumPy .npy files (format versions 1.0, 2.0 and 3.0).
// Arrays: every dtype of array.hpp (bool, int8..int64, uint8..uint64, float32, float64,
// complex64, complex128), little- or big-endian, C or Fortran order, any rank; written
// little-endian, C order, version 1.0, with the header padded to a multiple of 64 bytes exactly
// as numpy.save does (so our files are byte-identical to numpy's).
// Tensors (the float32 API of the networks): any real dtype, converted to float32, rank 0 to 4;
// complex files are an error (a conversion would drop the imaginary part).
#pragma once

#include <string>
#include <vector>

#include "fourierconv/array.hpp"
#include "fourierconv/tensor.hpp"

namespace fourierconv::io {

Array read_npy_array(const std::string& path);
Array parse_npy_array(const std::vector<unsigned char>& bytes, const std::string& what = "npy");
std::vector<unsigned char> encode_npy(const Array& a);
void write_npy(const std::string& path, const Array& a);  // atomic

Tensor read_npy(const std::string& path);
Tensor parse_npy(const std::vector<unsigned char>& bytes, const std::string& what = "npy");
std::vector<unsigned char> encode_npy(const Tensor& t);
void write_npy(const std::string& path, const Tensor& t);  // atomic

}  // namespace fourierconv::io
