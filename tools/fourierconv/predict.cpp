// fourierconv predict --model m.keras IMAGE.png|ARRAY.npy [--top 3] [--classes a,b,...] [--output y.npy]
// A model of several outputs prints each and writes Y_<output layer>.npy for each (the name
// with characters other than letters, digits, '-' and '_' as '_'; _<index> added where two
// outputs come from one layer).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "common.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/io/idx.hpp"

namespace fourierconv::cli {
namespace {

struct PredictOpts {
  std::string model, input, classes, output;
  std::size_t top = 3;
};

// The top classes of each row of p (N, k).
void print_top(const Tensor& p, const Tensor& x, const PredictOpts& o) {
  const std::size_t n = p.dim(0);
  if (n == 0) {  // an empty batch has no predictions to print
    std::printf("no images: the input %s has 0 samples\n", x.shape_string().c_str());
    return;
  }
  const std::size_t k = p.size() / n;
  std::vector<std::string> names;
  if (!o.classes.empty()) {
    std::stringstream ss(o.classes);
    for (std::string c; std::getline(ss, c, ',');) names.push_back(c);
    if (names.size() != k)
      throw fourierconv::Error("--classes: the model has " + std::to_string(k) + " outputs, got " + std::to_string(names.size()) + " names");
  } else if (k == 10) {
    for (std::size_t i = 0; i < 10; ++i) names.push_back(io::fashion_mnist_class_name(i));
  }
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::size_t> idx(k);
    std::iota(idx.begin(), idx.end(), 0);
    const float* row = p.data() + i * k;
    std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return row[a] > row[b]; });
    if (n > 1) std::printf("image %zu:\n", i);
    for (std::size_t t = 0; t < std::min(o.top, k); ++t)
      std::printf("  %zu. %-12s %.4f  (class %zu)\n", t + 1, names.empty() ? std::to_string(idx[t]).c_str() : names[idx[t]].c_str(),
                  row[idx[t]], idx[t]);
  }
}

}  // namespace

void setup_predict(CLI::App& sub) {
  auto o = std::make_shared<PredictOpts>();
  sub.add_option("--model,-m", o->model, "a .keras file")->required();
  sub.add_option("INPUT", o->input, "a PNG image, or a .npy array (H, W), (H, W, C) or (N, H, W, C)")->required();
  sub.add_option("--top", o->top, "how many classes to print per image")->capture_default_str();
  sub.add_option("--classes", o->classes, "comma-separated class names (default: Fashion-MNIST's for 10 outputs)");
  sub.add_option("--output,-o", o->output,
                 "also write the model's raw outputs (N, ...) as float32 .npy (atomically); a model of several outputs "
                 "writes one file per output, Y_<output layer name>.npy");
  sub.callback([o] {
    if (!ends_with(o->model, ".keras") && !ends_with(o->model, ".h5"))
      throw fourierconv::Error("--model: expected a .keras or legacy .h5 model file, got '" + o->model + "'");
    nn::Model m = open_model(o->model);
    if (m.inputs().size() != 1)
      throw fourierconv::Error("--model: the model has " + std::to_string(m.inputs().size()) +
                               " inputs; predict feeds one array (use the Python package or the C++ API for several)");
    Tensor x = read_array(o->input, "input");
    x = adapt_to_model_input(std::move(x), m.input_shape(), "input", true);
    if (!o->output.empty() && !ends_with(o->output, ".npy"))
      throw fourierconv::Error("--output: expected a .npy file, got '" + o->output + "'");
    const std::vector<Tensor> outs = m.predict(std::vector<const Tensor*>{&x});
    const auto out_names = m.output_names();
    if (!o->output.empty()) {
      if (outs.size() == 1) write_array(o->output, outs[0], 8, "clip");
      else
        for (std::size_t k = 0; k < outs.size(); ++k) {
          // The layer name as a file-name part: letters, digits, '-', '.', '_' (a name from a
          // file must not reach another directory), and the output's index where two outputs
          // share a layer.
          std::string part;
          for (char ch : out_names[k]) part += std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' ? ch : '_';
          if (std::count(out_names.begin(), out_names.end(), out_names[k]) > 1) part += "_" + std::to_string(k);
          write_array(o->output.substr(0, o->output.size() - 4) + "_" + part + ".npy", outs[k], 8, "clip");
        }
    }
    for (std::size_t k = 0; k < outs.size(); ++k) {
      if (outs.size() > 1) std::printf("output %s:\n", out_names[k].c_str());
      print_top(outs[k], x, *o);
    }
  });
}

}  // namespace fourierconv::cli
