// fourierconv summary --model NAME [--detail] [--line-length N]
#include <iostream>

#include "common.hpp"
#include "fourierconv/nn/initializers.hpp"
#include "fourierconv/nn/models.hpp"
#include "fourierconv/nn/saving.hpp"

namespace fourierconv::cli {

void setup_summary(CLI::App& sub) {
  struct Opts {
    std::string model = "seed-cnn";
    bool detail = false;
    int line_length = 0;
  };
  auto o = std::make_shared<Opts>();
  std::string names;
  for (auto& m : nn::model_names()) names += "\n  " + m.name + ": " + m.description;
  sub.add_option("--model,-m", o->model, "a .keras file, or a model name, one of:" + names)->capture_default_str();
  sub.add_flag("--detail", o->detail, "add each layer's fixed constants and algorithm choice");
  sub.add_option("--line-length", o->line_length, "table width (default: Keras's rule, 76 when piped)");
  sub.callback([o] {
    nn::Model m = open_model(o->model);
    m.summary({.line_length = o->line_length, .detail = o->detail});
  });
}

}  // namespace fourierconv::cli
