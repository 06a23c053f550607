#include "common.hpp"

#include "fourierconv/error.hpp"
#include "fourierconv/io/npy.hpp"
#include "fourierconv/io/png.hpp"

namespace fourierconv::cli {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
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
