// fourierconv evaluate --model m.keras [--data DIR] [--limit N] [--batch-size N]
#include <cstdio>

#include "common.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/io/idx.hpp"
#include "fourierconv/nn/losses.hpp"

namespace fourierconv::cli {

void setup_evaluate(CLI::App& sub) {
  struct Opts {
    std::string model, data = io::default_fashion_mnist_dir();
    std::size_t limit = 0, batch_size = 32;
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("--model,-m", o->model, "the .keras file to evaluate")->required();
  sub.add_option("--data", o->data, "MNIST-format directory (its test split is used)")->capture_default_str();
  sub.add_option("--limit", o->limit, "use only the first N test samples (0: all)")->capture_default_str();
  sub.add_option("--batch-size", o->batch_size, "batch size")->capture_default_str();
  sub.callback([o] {
    if (!ends_with(o->model, ".keras") && !ends_with(o->model, ".h5"))
      throw fourierconv::Error("--model: expected a .keras or legacy .h5 model file, got '" + o->model + "'");
    nn::Model m = open_model(o->model);
    if (m.inputs().size() != 1 || m.outputs().size() != 1)
      throw fourierconv::Error("--model: evaluate takes models of one input and one output, this one has " +
                               std::to_string(m.inputs().size()) + " and " + std::to_string(m.outputs().size()));
    io::Dataset d = io::load_mnist_format(o->data, o->limit);
    m.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});  // the loss and metric to report
    d.x_test = adapt_to_model_input(std::move(d.x_test), m.input_shape(), "--data (its test images)");
    nn::Evaluation ev = m.evaluate(d.x_test, d.y_test, o->batch_size);
    std::printf("test loss: %.4f - test accuracy: %.4f (%zu images)\n", ev.loss, ev.accuracy, d.x_test.dim(0));
  });
}

}  // namespace fourierconv::cli
