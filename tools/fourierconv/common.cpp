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

nn::Model open_model(const std::string& spec) {
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

namespace {

// x (N, data...) -> (N, model...) by the first rule that fits, or false.
bool adapt_batch(Tensor& x, const Shape& model) {
  const std::size_t n = x.dim(0);
  const Shape data(x.shape().begin() + 1, x.shape().end());
  auto with_batch = [&](const Shape& s) {
    Shape r{n};
    r.insert(r.end(), s.begin(), s.end());
    return r;
  };
  if (data == model) return true;
  const bool gray2 = data.size() == 2, gray3 = data.size() == 3 && data[2] == 1;
  if (model.size() == 2 && gray3 && data[0] == model[0] && data[1] == model[1]) {
    x.reshape(with_batch(model));
    return true;
  }
  if (model.size() == 3 && model[2] == 1 && gray2 && data[0] == model[0] && data[1] == model[1]) {
    x.reshape(with_batch(model));
    return true;
  }
  if (model.size() == 3 && model[2] == 3 && (gray2 || gray3) && data[0] == model[0] && data[1] == model[1]) {
    Tensor rgb(with_batch(model));
    const std::size_t pixels = n * model[0] * model[1];
    for (std::size_t p = 0; p < pixels; ++p) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = x[p];
    x = std::move(rgb);
    return true;
  }
  if (model.size() == 1 && !data.empty() && shape_size(data) == model[0]) {
    x.reshape(with_batch(model));
    return true;
  }
  return false;
}

}  // namespace

Tensor adapt_to_model_input(Tensor x, const Shape& model, const std::string& what, bool single) {
  const Shape given = x.shape();
  if (x.rank() >= 1 && adapt_batch(x, model)) return x;
  if (single) {
    Shape one{1};
    one.insert(one.end(), given.begin(), given.end());
    x.reshape(one);
    if (adapt_batch(x, model)) return x;
  }
  Shape expect{0};
  expect.insert(expect.end(), model.begin(), model.end());
  std::string e = shape_to_string(expect);
  e.replace(1, 1, "N");
  throw Error(what + ": the model's input is " + e + (single ? " (or one sample without N)" : "") + ", got data of shape " +
              shape_to_string(given) + "; no rule adapts it (same shape; (H, W, 1) <-> (H, W); gray to (H, W, 3); " +
              "flattened to a rank-1 input of as many values)");
}

}  // namespace fourierconv::cli
