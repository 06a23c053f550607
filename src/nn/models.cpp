#include "fourierconv/nn/models.hpp"

#include <functional>

#include "fourierconv/error.hpp"
#include "fourierconv/nn/layers/conv2d.hpp"
#include "fourierconv/nn/layers/dense.hpp"
#include "fourierconv/nn/layers/flatten.hpp"
#include "fourierconv/nn/layers/fourier_conv2d.hpp"
#include "fourierconv/nn/layers/pooling.hpp"
#include "fourierconv/nn/layers/spectral_conv1d.hpp"
#include "fourierconv/nn/layers/spectral_conv2d.hpp"

namespace fourierconv::nn {
namespace {

struct Entry {
  const char* name;
  const char* description;
  std::function<void(Sequential&, const Shape&, std::size_t)> build;
  Shape default_input{28, 28, 1};
};

const Shape kSignal{150, 1};  // GunPoint's series (UCR), the signal models' default input

}  // namespace

std::vector<Filter> seed_fourier_bank() { return filter_bank_gabor({0.08, 0.16, 0.24, 0.32}, 8, 0.04); }

std::vector<Filter> signal_fourier_bank() {
  std::vector<Filter> bank;
  for (int i = 0; i < 16; ++i) bank.push_back(filter_gaussian_bandpass((i + 0.5) / 32.0, 1.0 / 64.0));
  return bank;
}

namespace {

void head(Sequential& m, std::size_t classes) {
  m.add(MaxPooling2D({2, 2}));
  m.add(Flatten());
  m.add(Dense(classes, {.activation = "softmax"}));
}

// The signal models' input: (L, C); their head: MaxPooling1D(2), Flatten, Dense(softmax).
void signal_input(const char* name, const Shape& in) {
  if (in.size() != 2)
    throw Error(std::string("make_model: '") + name + "' takes signals of shape (L, C), got input shape " + shape_to_string(in));
}
void head_1d(Sequential& m, std::size_t classes) {
  m.add(MaxPooling1D(2));
  m.add(Flatten());
  m.add(Dense(classes, {.activation = "softmax"}));
}

const std::vector<Entry>& table() {
  static const std::vector<Entry> t = {
      {"seed-cnn", "the seed's Example 1: Conv2D(32, 3x3, relu), MaxPooling2D, Flatten, Dense(softmax)",
       [](Sequential& m, const Shape& in, std::size_t k) {
         m.add(Conv2D(32, {3, 3}, {.activation = "relu", .input_shape = in}));
         head(m, k);
       }},
      {"seed-fourier",
       "the seed with FourierConv2D: a fixed bank of 32 gabor band-passes (4 radii x 8 orientations), relu, 0 weights",
       [](Sequential& m, const Shape& in, std::size_t k) {
         m.add(FourierConv2D(seed_fourier_bank(), {.padding = "circular", .activation = "relu", .input_shape = in}));
         head(m, k);
       }},
      {"seed-spectral", "the seed with SpectralConv2D(32, modes (8, 8)), relu: learned Fourier modes",
       [](Sequential& m, const Shape& in, std::size_t k) {
         if (in.size() == 3 && in[0] < 2)
           throw Error("make_model: 'seed-spectral' needs images of at least 2 rows (SpectralConv2D keeps modes of both "
                       "signs along the rows), got input shape " + shape_to_string(in));
         m.add(SpectralConv2D(32, {std::min<std::size_t>(8, in[0] / 2), std::min<std::size_t>(8, in[1] / 2 + 1)},
                              {.activation = "relu", .input_shape = in}));
         head(m, k);
       }},
      {"large-kernel-direct", "Conv2D(32, 15x15, same, relu) computed directly, MaxPooling2D, Flatten, Dense",
       [](Sequential& m, const Shape& in, std::size_t k) {
         m.add(Conv2D(32, {15, 15}, {.padding = "same", .activation = "relu", .algorithm = "direct", .input_shape = in}));
         head(m, k);
       }},
      {"large-kernel-fft", "the same Conv2D(32, 15x15) computed through the FFT",
       [](Sequential& m, const Shape& in, std::size_t k) {
         m.add(Conv2D(32, {15, 15}, {.padding = "same", .activation = "relu", .algorithm = "fft", .input_shape = in}));
         head(m, k);
       }},
      {"large-kernel-auto", "the same Conv2D(32, 15x15) with the algorithm chosen by conv::choose",
       [](Sequential& m, const Shape& in, std::size_t k) {
         m.add(Conv2D(32, {15, 15}, {.padding = "same", .activation = "relu", .algorithm = "auto", .input_shape = in}));
         head(m, k);
       }},
      {"signal-cnn", "signals: Conv1D(16, 9, same, relu), MaxPooling1D(2), Flatten, Dense(softmax)",
       [](Sequential& m, const Shape& in, std::size_t k) {
         signal_input("signal-cnn", in);
         m.add(Conv1D(16, 9, {.padding = "same", .activation = "relu", .input_shape = in}));
         head_1d(m, k);
       },
       kSignal},
      {"signal-fourier",
       "signals with FourierConv1D: a fixed bank of 16 gaussian band-passes (centres (i + 0.5)/32 cycles per sample), "
       "same, relu, 0 weights",
       [](Sequential& m, const Shape& in, std::size_t k) {
         signal_input("signal-fourier", in);
         m.add(FourierConv1D(signal_fourier_bank(), {.padding = "same", .activation = "relu", .input_shape = in}));
         head_1d(m, k);
       },
       kSignal},
      {"signal-spectral", "signals with SpectralConv1D(16, modes min(16, L/2 + 1)), relu: learned Fourier modes (FNO-1D)",
       [](Sequential& m, const Shape& in, std::size_t k) {
         signal_input("signal-spectral", in);
         m.add(SpectralConv1D(16, std::min<std::size_t>(16, in[0] / 2 + 1), {.activation = "relu", .input_shape = in}));
         head_1d(m, k);
       },
       kSignal},
  };
  return t;
}

}  // namespace

std::vector<ModelInfo> model_names() {
  std::vector<ModelInfo> v;
  for (auto& e : table()) v.push_back({e.name, e.description});
  return v;
}

Sequential make_model(const std::string& name, const Shape& input_shape, std::size_t classes) {
  for (auto& e : table())
    if (name == e.name) {
      Sequential m;
      e.build(m, input_shape.empty() ? e.default_input : input_shape, classes);
      return m;
    }
  std::string known;
  for (auto& e : table()) known += std::string(known.empty() ? "" : ", ") + e.name;
  throw Error("model: unknown name '" + name + "'; known models: " + known);
}

}  // namespace fourierconv::nn
