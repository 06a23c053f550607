// IDX files (the MNIST format), plain or gzip-compressed, and MNIST-format data sets.
#pragma once

#include <string>

#include "fourierconv/tensor.hpp"

namespace fourierconv::io {

// Reads an IDX file of unsigned bytes (type 0x08), 1 to 4 dimensions, plain or .gz
// (detected from the content). Values are returned unscaled (0..255) with the file's shape.
// Throws Error for a missing file, gzip errors, a wrong magic number, an unsupported type,
// or data shorter than the header's dimensions.
Tensor read_idx(const std::string& path);

struct Dataset {
  Tensor x_train, y_train, x_test, y_test;  // x: (N, 28, 28, 1) in [0, 1]; y: (N,) labels
};

// $FASHION_MNIST_DIR when set (as the Python package reads it), else where Debian's
// dataset-fashion-mnist package puts the files.
std::string default_fashion_mnist_dir();

// Loads train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-... from dir.
// limit > 0 keeps the first `limit` samples of each split.
Dataset load_mnist_format(const std::string& dir, std::size_t limit = 0);

// Fashion-MNIST's class names, index = label.
const char* fashion_mnist_class_name(std::size_t label);

}  // namespace fourierconv::io
