// The seed's Example 3 in C++: a Fourier convolution layer whose filter is a fixed function
// of frequency, given as a lambda -- and the answer to the seed's question in the tool's own
// output: the layer shows 0 parameters, because a fixed frequency response is a constant
// spectrum, not a weight; gradients still flow through it to the layers before it.
//
//   Python (the seed):                                    C++ (fourierconv):
//   FourierConv2D(lambda x: tf.sin(x), input_shape=...)   FourierConv2D([](float fy, float fx) { ... }, {...})
//
// Usage: seed_example3_fourier_layer [DATA_DIR]
#include <cmath>
#include <cstdio>

#include "fourierconv/nn.hpp"

using namespace fourierconv;
using namespace fourierconv::nn;

int main(int argc, char** argv) {
  const std::string data = argc > 1 ? argv[1] : io::default_fashion_mnist_dir();
  try {
    set_random_seed(42);
    // The seed's filter_func: any function of frequency. Here sin of the radial frequency,
    // scaled so the response rises from 0 at DC to 1 at r = 0.25 cycles/pixel (a band-pass).
    auto filter_func = [](float fy, float fx) { return std::sin(2.0f * 3.14159265f * std::sqrt(fx * fx + fy * fy)); };

    Sequential model;
    model.add(Conv2D(8, {3, 3}, {.padding = "same", .activation = "relu", .input_shape = {28, 28, 1}}));
    model.add(FourierConv2D(filter_func, {.padding = "same"}));
    model.add(MaxPooling2D({2, 2}));
    model.add(Flatten());
    model.add(Dense(10, {.activation = "softmax"}));
    model.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
    model.summary({.detail = true});

    // Train briefly: the Conv2D before the Fourier layer learns through it.
    auto [x_train, y_train, x_test, y_test] = io::load_mnist_format(data, 6000);
    Tensor conv_before = model.layer("conv2d").weights()[0]->value;
    model.fit(x_train, y_train, {.epochs = 1, .seed = 42});
    const Tensor& conv_after = model.layer("conv2d").weights()[0]->value;
    double moved = 0;
    for (std::size_t i = 0; i < conv_after.size(); ++i) moved += std::fabs(conv_after[i] - conv_before[i]);
    auto [loss, accuracy] = model.evaluate(x_test, y_test);
    std::printf("test accuracy %.4f; the Conv2D before the Fourier layer moved by %.3f (sum |dw|):\n"
                "gradients flow through a layer that has nothing to train.\n",
                accuracy, moved);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
