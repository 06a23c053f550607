// fourierconv train --model NAME [--epochs N] [--batch-size N] [--optimizer adam|sgd] [--lr X]
//                   [--validation-split F] [--seed N] [--data DIR] [--limit N]
#include <cstdio>
#include <numeric>

#include "common.hpp"
#include "fourierconv/io/idx.hpp"
#include "fourierconv/nn/initializers.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/nn/models.hpp"
#include "fourierconv/nn/saving.hpp"

namespace fourierconv::cli {

void setup_train(CLI::App& sub) {
  struct Opts {
    std::string model = "seed-cnn", optimizer = "adam", data = io::default_fashion_mnist_dir(), save;
    std::size_t epochs = 5, batch_size = 32, limit = 0;
    double lr = 0, validation_split = 0;
    std::uint64_t seed = 42;
    int verbose = -1;
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("--model,-m", o->model, "model name (see `fourierconv summary --help`)")->capture_default_str();
  sub.add_option("--epochs", o->epochs, "training epochs")->capture_default_str();
  sub.add_option("--batch-size", o->batch_size, "batch size")->capture_default_str();
  sub.add_option("--optimizer", o->optimizer, "adam | sgd (Keras defaults)")->capture_default_str();
  sub.add_option("--lr", o->lr, "learning rate (default: the optimizer's, 0.001 for adam, 0.01 for sgd)");
  sub.add_option("--validation-split", o->validation_split, "fraction of the training set held out (the last part)")
      ->capture_default_str();
  sub.add_option("--seed", o->seed, "seed for weights and shuffling")->capture_default_str();
  sub.add_option("--data", o->data, "MNIST-format directory (train-images-idx3-ubyte.gz, ...)")->capture_default_str();
  sub.add_option("--limit", o->limit, "use only the first N training and test samples (0: all)")->capture_default_str();
  sub.add_option("--save", o->save, "write the trained model to this .keras file (Keras 3 format)");
  sub.add_option("--verbose", o->verbose, "0 silent, 1 progress bar, 2 a line per epoch (default: 1 on a terminal, else 2)");
  sub.callback([o] {
    if (!o->save.empty() && !ends_with(o->save, ".keras"))
      throw fourierconv::Error("--save: expected a file name ending in .keras, got '" + o->save + "'");
    io::Dataset d = io::load_mnist_format(o->data, o->limit);
    nn::set_random_seed(o->seed);
    nn::Sequential m = nn::make_model(o->model, {d.x_train.dim(1), d.x_train.dim(2), 1});
    m.compile(nn::make_optimizer(o->optimizer, o->lr), nn::Loss::parse("sparse_categorical_crossentropy"), {"accuracy"});
    m.summary();
    nn::History h = m.fit(d.x_train, d.y_train,
                          {.batch_size = o->batch_size, .epochs = o->epochs, .validation_split = o->validation_split,
                           .verbose = o->verbose, .seed = o->seed});
    nn::Evaluation ev = m.evaluate(d.x_test, d.y_test, o->batch_size, o->verbose);
    const double total = std::accumulate(h.epoch_seconds.begin(), h.epoch_seconds.end(), 0.0);
    std::printf("test loss: %.4f - test accuracy: %.4f - %.2f s/epoch over %zu epoch(s)\n", ev.loss, ev.accuracy,
                total / double(h.epoch_seconds.size()), h.epoch_seconds.size());
    if (!o->save.empty()) {
      nn::save_model(m, o->save);
      std::printf("saved %s\n", o->save.c_str());
    }
  });
}

}  // namespace fourierconv::cli
