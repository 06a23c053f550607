// The seed's Example 1 in C++: a Keras Sequential CNN on Fashion-MNIST.
//
//   model = Sequential([
//       Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)),
//       MaxPooling2D((2, 2)),
//       Flatten(),
//       Dense(10, activation='softmax')])
//   model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
//   model.summary()
//   model.fit(x_train, y_train, epochs=1, validation_split=0.1)
//   model.evaluate(x_test, y_test)
//
// Usage: seed_example1_cnn [EPOCHS] [DATA_DIR]
#include <cstdio>
#include <cstdlib>

#include "fourierconv/nn.hpp"

using namespace fourierconv;
using namespace fourierconv::nn;

int main(int argc, char** argv) {
  const std::size_t epochs = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1;
  const std::string data = argc > 2 ? argv[2] : io::default_fashion_mnist_dir();
  try {
    auto [x_train, y_train, x_test, y_test] = io::load_mnist_format(data);

    set_random_seed(42);
    Sequential model;
    model.add(Conv2D(32, {3, 3}, {.activation = "relu", .input_shape = {28, 28, 1}}));
    model.add(MaxPooling2D({2, 2}));
    model.add(Flatten());
    model.add(Dense(10, {.activation = "softmax"}));
    model.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
    model.summary();

    model.fit(x_train, y_train, {.epochs = epochs, .validation_split = 0.1, .seed = 42});
    auto [loss, accuracy] = model.evaluate(x_test, y_test);
    std::printf("test loss %.4f, test accuracy %.4f\n", loss, accuracy);

    Tensor probabilities = model.predict(x_test.reshaped({x_test.dim(0), 28, 28, 1}));
    std::size_t best = 0;
    for (std::size_t k = 1; k < 10; ++k)
      if (probabilities[k] > probabilities[best]) best = k;
    std::printf("first test image: predicted %s (p = %.3f), true %s\n", io::fashion_mnist_class_name(best),
                probabilities[best], io::fashion_mnist_class_name(std::size_t(y_test[0])));
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
