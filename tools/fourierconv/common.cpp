#include "common.hpp"

#include "fourierconv/error.hpp"
#include "fourierconv/io/npy.hpp"
#include "fourierconv/io/png.hpp"
#include "fourierconv/nn/initializers.hpp"
#include "fourierconv/nn/models.hpp"
#include "fourierconv/nn/saving.hpp"

namespace fourierconv::cli {

Array read_any_array(const std::string& path, const std::string& what) {
  if (ends_with(path, ".npy")) return io::read_npy_array(path);
  if (ends_with(path, ".png")) return Array::from_tensor(io::read_png(path));
  throw fourierconv::Error(what + ": expected a .npy or .png file, got '" + path + "'");
}

void write_any_array(const std::string& path, const Array& a, int bit_depth, const std::string& scaling) {
  if (ends_with(path, ".npy")) return io::write_npy(path, a);
  if (ends_with(path, ".png")) {
    if (is_complex(a.dtype())) throw fourierconv::Error("output: a " + to_string(a.dtype()) + " result cannot be a PNG image (use .npy, or --output magnitude)");
    return io::write_png(path, Array::copy_of(a.view(), DType::Float32).to_tensor(), bit_depth, io::parse_png_scaling(scaling));
  }
  throw fourierconv::Error("output: expected a .npy or .png file name, got '" + path + "'");
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

nn::Sequential open_model(const std::string& spec) {
  if (ends_with(spec, ".keras") || ends_with(spec, ".h5")) return nn::load_model(spec);
  nn::set_random_seed(0);
  return nn::make_model(spec);
}

Tensor read_array(const std::string& path, const std::string& what) {
  if (ends_with(path, ".npy")) return io::read_npy(path);
  if (ends_with(path, ".png")) return io::read_png(path);
  throw fourierconv::Error(what + ": expected a .npy or .png file, got '" + path + "'");
}

void write_array(const std::string& path, const Tensor& t, int bit_depth, const std::string& scaling) {
  if (ends_with(path, ".npy")) return io::write_npy(path, t);
  if (ends_with(path, ".png")) return io::write_png(path, t, bit_depth, io::parse_png_scaling(scaling));
  throw fourierconv::Error("output: expected a .npy or .png file name, got '" + path + "'");
}

}  // namespace fourierconv::cli
