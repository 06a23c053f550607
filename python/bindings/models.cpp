// fourierconv._core's models: nn::Model (a graph; Sequential is its chain case) as a Python class (load, build by name, summary,
// fit, evaluate, predict, save), and the Fashion-MNIST loader. Arrays arrive as float32 (the
// Python layer converts, as Keras does); training and inference run without the GIL.
#include <cstdio>

#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "convert.hpp"
#include "fourierconv/io/idx.hpp"
#include "fourierconv/nn/models.hpp"
#include "fourierconv/nn/saving.hpp"
#include "fourierconv/nn/sequential.hpp"  // make_model builds one

namespace fourierconv::python {

namespace {

using nn::Model;
using Float32Array = ArrayArg;  // float32 is checked by tensor_of, naming the argument

std::vector<std::size_t> vec(const Shape& s) { return {s.begin(), s.end()}; }

std::vector<std::vector<std::size_t>> vecs(const std::vector<Shape>& ss) {
  std::vector<std::vector<std::size_t>> r;
  for (auto& s : ss) r.push_back(vec(s));
  return r;
}

// The model inputs, each converted (named "x" for one, "x[i]" for several).
std::vector<Tensor> tensors_of(const std::vector<Float32Array>& xs) {
  std::vector<Tensor> ts;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const std::string name = xs.size() == 1 ? "x" : "x[" + std::to_string(i) + "]";
    ts.push_back(tensor_of(xs[i], name.c_str()));
  }
  return ts;
}
std::vector<const Tensor*> ptrs(const std::vector<Tensor>& ts) {
  std::vector<const Tensor*> p;
  for (auto& t : ts) p.push_back(&t);
  return p;
}

}  // namespace

void bind_models(nb::module_& m) {
  nb::class_<Model>(m, "Model")
      .def_prop_ro("name", &Model::name)
      .def_prop_ro("input_shapes", [](const Model& s) { return vecs(s.input_shapes()); })
      .def_prop_ro("output_shapes", [](const Model& s) { return vecs(s.output_shapes()); })
      .def_prop_ro("input_names", &Model::input_names)
      .def_prop_ro("output_names", &Model::output_names)
      .def_prop_ro("layer_names",
                   [](const Model& s) {
                     std::vector<std::string> names;
                     for (const auto& l : s.layers()) names.push_back(l->name());
                     return names;
                   })
      .def_prop_ro("compiled", &Model::compiled)
      .def("count_params", &Model::count_params)
      .def("count_trainable_params", &Model::count_trainable_params)
      .def(
          "summary_text",
          [](const Model& s, int line_length, bool detail) {
            return s.summary_text({.line_length = line_length, .detail = detail});
          },
          nb::arg("line_length"), nb::arg("detail"))
      .def(
          "compile",
          [](Model& s, const std::string& optimizer, const std::string& loss, std::vector<std::string> metrics) {
            s.compile(optimizer, loss, std::move(metrics));
          },
          nb::arg("optimizer"), nb::arg("loss"), nb::arg("metrics"))
      .def(
          "predict",
          [](Model& s, const std::vector<Float32Array>& x, std::size_t batch_size) {
            const std::vector<Tensor> ts = tensors_of(x);
            std::vector<Tensor> ys;
            {
              nb::gil_scoped_release unlocked;
              ys = s.predict(ptrs(ts), batch_size);
            }
            std::vector<nb::object> out;
            for (auto& y : ys) out.push_back(to_numpy(y));
            return out;
          },
          nb::arg("x"), nb::arg("batch_size"))
      .def(
          "evaluate",
          [](Model& s, const std::vector<Float32Array>& x, const Float32Array& y, std::size_t batch_size, int verbose) {
            const std::vector<Tensor> tx = tensors_of(x);
            const Tensor ty = tensor_of(y, "y");
            nn::Evaluation e;
            {
              nb::gil_scoped_release unlocked;
              e = s.evaluate(ptrs(tx), ty, batch_size, verbose);
              std::fflush(stdout);
            }
            return std::make_pair(e.loss, e.accuracy);
          },
          nb::arg("x"), nb::arg("y"), nb::arg("batch_size"), nb::arg("verbose"))
      .def(
          "fit",
          [](Model& s, const std::vector<Float32Array>& x, const Float32Array& y, std::size_t batch_size, std::size_t epochs,
             double validation_split, bool shuffle, int verbose, std::uint64_t seed, std::optional<Float32Array> vx,
             std::optional<Float32Array> vy, const std::string& checkpoint_dir, std::size_t checkpoint_every, bool resume,
             std::size_t micro_batches) {
            const std::vector<Tensor> tx = tensors_of(x);
            const Tensor ty = tensor_of(y, "y");
            Tensor tvx, tvy;
            nn::FitArgs a;
            a.batch_size = batch_size, a.epochs = epochs, a.validation_split = validation_split;
            a.shuffle = shuffle, a.verbose = verbose, a.seed = seed;
            a.checkpoint_dir = checkpoint_dir, a.checkpoint_every = checkpoint_every, a.resume = resume;
            a.micro_batches = micro_batches;
            if (vx && vy) {
              tvx = tensor_of(*vx, "validation_data[0]");
              tvy = tensor_of(*vy, "validation_data[1]");
              a.validation_x = &tvx, a.validation_y = &tvy;
            }
            nn::History h;
            {
              nb::gil_scoped_release unlocked;
              h = s.fit(ptrs(tx), ty, a);
              std::fflush(stdout);
            }
            return std::make_pair(h.history, h.epoch_seconds);
          },
          nb::arg("x"), nb::arg("y"), nb::arg("batch_size"), nb::arg("epochs"), nb::arg("validation_split"),
          nb::arg("shuffle"), nb::arg("verbose"), nb::arg("seed"), nb::arg("validation_x").none(),
          nb::arg("validation_y").none(), nb::arg("checkpoint_dir"), nb::arg("checkpoint_every"), nb::arg("resume"),
          nb::arg("micro_batches"))
      .def(
          "save",
          [](const Model& s, const std::string& path) {
            nb::gil_scoped_release unlocked;
            nn::save_model(s, path);
          },
          nb::arg("path"));

  m.def(
      "load_model",
      [](const std::string& path) {
        nb::gil_scoped_release unlocked;
        return nn::load_model(path);
      },
      nb::arg("path"));
  m.def(
      "build_model",
      [](const std::string& name, std::vector<std::size_t> input_shape, std::size_t classes) {
        return Model(nn::make_model(name, Shape(input_shape.begin(), input_shape.end()), classes));
      },
      nb::arg("name"), nb::arg("input_shape"), nb::arg("classes"));
  m.def("model_names", [] {
    std::vector<std::pair<std::string, std::string>> r;
    for (const auto& i : nn::model_names()) r.emplace_back(i.name, i.description);
    return r;
  });
  m.def("default_fashion_mnist_dir", &io::default_fashion_mnist_dir);
  m.def(
      "load_mnist_format",
      [](const std::string& dir, std::size_t limit) {
        io::Dataset d;
        {
          nb::gil_scoped_release unlocked;
          d = io::load_mnist_format(dir, limit);
        }
        return nb::make_tuple(to_numpy(d.x_train), to_numpy(d.y_train), to_numpy(d.x_test), to_numpy(d.y_test));
      },
      nb::arg("dir"), nb::arg("limit"));
}

}  // namespace fourierconv::python
