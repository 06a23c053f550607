// fourierconv compare: the main job. Trains the seed's CNN, the same model with a fixed
// FourierConv2D bank and with a learned SpectralConv2D, and a large-kernel Conv2D computed
// directly and through the FFT, with the same optimizer, batch size, epochs and seed; prints
// each summary, the progress, and a table; writes it as JSON and Markdown with a PNG plot of
// test accuracy per epoch. With --signals DIR, the same for labelled time series (x_train.npy,
// y_train.npy, x_test.npy, y_test.npy; tools/ucr/export_ucr.py writes them from the UCR
// archive) and the signal-* models: Conv1D, FourierConv1D and SpectralConv1D.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include "common.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/io/file.hpp"
#include "fourierconv/io/idx.hpp"
#include "fourierconv/io/npy.hpp"
#include "fourierconv/nn.hpp"
#include "fourierconv/nn/models.hpp"

namespace fourierconv::cli {
namespace {

struct Result {
  std::string model, algorithm;
  std::size_t trainable = 0, non_trainable = 0, fixed = 0, train_samples = 0;
  std::vector<double> test_accuracy;
  double test_loss = 0, seconds_per_epoch = 0, us_per_image = 0, batch1_us = 0;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

Tensor head_rows(const Tensor& t, std::size_t n) {
  n = std::min(n, t.dim(0));
  Shape s = t.shape();
  s[0] = n;
  Tensor out(s);
  std::copy(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(out.size()), out.begin());
  return out;
}

std::string algorithm_of(nn::Sequential& m) {
  for (auto& l : m.layers()) {
    if (auto* c = dynamic_cast<nn::Conv2D*>(l.get()))
      return l->class_name() + " " + c->algorithm_used() + " (backward " + c->backward_algorithm_used() + ")";
    if (auto* f = dynamic_cast<nn::FourierConv1D*>(l.get())) return "fixed FFT bank, length " + std::to_string(f->grid().second);
    if (auto* f = dynamic_cast<nn::FourierConv2D*>(l.get())) {
      auto [P, Q] = f->grid();
      return "fixed FFT bank, " + std::to_string(P) + "x" + std::to_string(Q) + " grid";
    }
    if (dynamic_cast<nn::SpectralConv1D*>(l.get())) return "rfft + learned modes";
    if (dynamic_cast<nn::SpectralConv2D*>(l.get())) return "rfft2 + learned modes";
  }
  return "-";
}

// --signals DIR: x_{train,test}.npy of shape (N, L) or (N, L, C), y_{train,test}.npy class
// indices 0..K-1 (any numeric dtype).
io::Dataset load_signals(const std::string& dir, std::size_t limit, std::size_t* classes) {
  io::Dataset d;
  auto x_of = [&](const char* name) {
    Tensor x = io::read_npy(dir + "/" + name);
    if (x.rank() == 2) x.reshape({x.dim(0), x.dim(1), 1});
    if (x.rank() != 3 || x.dim(0) == 0)
      throw Error("compare: " + dir + "/" + name + ": expected signals of shape (N, L) or (N, L, C), got " + shape_to_string(x.shape()));
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!std::isfinite(x[i]))
        throw Error("compare: " + dir + "/" + name + ": expected finite values, got " + std::to_string(x[i]) + " in series " +
                    std::to_string(i / (x.dim(1) * x.dim(2))));
    return limit && limit < x.dim(0) ? head_rows(x, limit) : x;
  };
  auto y_of = [&](const char* name, const Tensor& x) {
    Tensor y = io::read_npy(dir + "/" + name);
    if (y.rank() != 1 || y.dim(0) < x.dim(0))
      throw Error("compare: " + dir + "/" + name + ": expected " + std::to_string(x.dim(0)) + " labels, got shape " + shape_to_string(y.shape()));
    y = head_rows(y, x.dim(0));
    for (float v : y)
      if (!(v >= 0 && v < 65536 && v == std::floor(v)))
        throw Error("compare: " + dir + "/" + name + ": labels must be class indices 0, 1, ...; got " + std::to_string(v));
    return y;
  };
  d.x_train = x_of("x_train.npy");
  d.y_train = y_of("y_train.npy", d.x_train);
  d.x_test = x_of("x_test.npy");
  d.y_test = y_of("y_test.npy", d.x_test);
  if (d.x_train.dim(1) != d.x_test.dim(1) || d.x_train.dim(2) != d.x_test.dim(2))
    throw Error("compare: train signals are " + shape_to_string(d.x_train.shape()) + " but test signals " + shape_to_string(d.x_test.shape()));
  float top = 0;
  for (const Tensor* y : {&d.y_train, &d.y_test})
    for (float v : *y) top = std::max(top, v);
  *classes = std::size_t(top) + 1;
  std::vector<bool> trained(*classes, false);
  for (float v : d.y_train) trained[std::size_t(v)] = true;
  for (float v : d.y_test)
    if (!trained[std::size_t(v)]) {
      std::fprintf(stderr, "compare: warning: test class %zu never occurs in y_train.npy; no model can learn it\n", std::size_t(v));
      break;
    }
  return d;
}

std::size_t fixed_constants(nn::Sequential& m) {
  std::size_t n = 0;
  for (auto& l : m.layers())
    if (auto* f = dynamic_cast<nn::FourierConv2D*>(l.get())) n += f->fixed_constants();
  return n;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) o += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return o;
}

std::vector<unsigned char> bytes(const std::string& s) { return {s.begin(), s.end()}; }

std::string markdown(const std::vector<Result>& rs, std::size_t epochs) {
  std::ostringstream os;
  os << "| model | trainable params | non-trainable | fixed constants | test accuracy (epoch 1 → " << epochs
     << ") | s / epoch | inference µs / image (batch 256) | batch-1 µs | train samples | convolution |\n";
  os << "|---|---:|---:|---:|---|---:|---:|---:|---:|---|\n";
  auto fixed4 = [](double v) {
    char t[32];
    std::snprintf(t, sizeof t, "%.4f", v);
    return std::string(t);
  };
  for (auto& r : rs) {
    // Every epoch up to 5; past that the first, the last and the best.
    const auto& a = r.test_accuracy;
    std::string acc;
    if (a.size() <= 5) {
      for (std::size_t e = 0; e < a.size(); ++e) acc += (e ? " → " : "") + fixed4(a[e]);
    } else {
      const std::size_t best = std::size_t(std::max_element(a.begin(), a.end()) - a.begin());
      acc = fixed4(a.front()) + " → … → " + fixed4(a.back()) + " (best " + fixed4(a[best]) + ", epoch " + std::to_string(best + 1) + ")";
    }
    char b[256];
    std::snprintf(b, sizeof b, " | %.3g | %.1f | %.1f | %zu | ", r.seconds_per_epoch, r.us_per_image, r.batch1_us, r.train_samples);
    os << "| " << r.model << " | " << nn::with_thousands(r.trainable) << " | " << nn::with_thousands(r.non_trainable) << " | "
       << nn::with_thousands(r.fixed) << " | " << acc << b << r.algorithm << " |\n";
  }
  return os.str();
}

std::string json(const std::vector<Result>& rs, std::size_t epochs, std::uint64_t seed, std::size_t batch) {
  std::ostringstream os;
  os.precision(6);
  os << "{\n  \"epochs\": " << epochs << ", \"seed\": " << seed << ", \"batch_size\": " << batch
     << ", \"optimizer\": \"adam\",\n  \"models\": [\n";
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const Result& r = rs[i];
    os << "    {\"model\": \"" << r.model << "\", \"trainable_params\": " << r.trainable << ", \"non_trainable_params\": "
       << r.non_trainable << ", \"fixed_constants\": " << r.fixed << ", \"train_samples\": " << r.train_samples
       << ", \"test_accuracy\": [";
    for (std::size_t e = 0; e < r.test_accuracy.size(); ++e) os << (e ? ", " : "") << r.test_accuracy[e];
    os << "], \"test_loss\": " << r.test_loss << ", \"seconds_per_epoch\": " << r.seconds_per_epoch
       << ", \"inference_us_per_image\": " << r.us_per_image << ", \"batch1_latency_us\": " << r.batch1_us
       << ", \"convolution\": \"" << json_escape(r.algorithm) << "\"}" << (i + 1 < rs.size() ? "," : "") << "\n";
  }
  os << "  ]\n}\n";
  return os.str();
}

// Draws test accuracy per epoch with gnuplot (Debian's gnuplot-nox, installed by make deps).
void plot(const std::vector<Result>& rs, const std::string& dir, const std::string& dataset) {
  const std::string data = dir + "/accuracy.dat", script = dir + "/accuracy.gp", png = dir + "/accuracy.png";
  {
    std::ofstream d(data);
    for (auto& r : rs) {
      d << "\"" << r.model << "\"\n";
      for (std::size_t e = 0; e < r.test_accuracy.size(); ++e) d << e + 1 << " " << r.test_accuracy[e] << "\n";
      d << "\n\n";
    }
  }
  {
    std::ofstream g(script);
    g << "set terminal pngcairo size 900,560 noenhanced\n"
      << "set output '" << png << ".tmp'\n"
      << "set title '" << dataset << " test accuracy per epoch (same optimizer, batch, seed)'\n"
      << "set xlabel 'epoch'\nset ylabel 'test accuracy'\nset key bottom right\nset grid\nset xtics 1\n"
      << "plot for [i=0:" << rs.size() - 1 << "] '" << data << "' index i using 1:2 with linespoints lw 2 title columnheader(1)\n";
  }
  if (std::system(("gnuplot '" + script + "' 2>/dev/null").c_str()) != 0) {
    std::remove((png + ".tmp").c_str());
    throw Error("compare: gnuplot failed to draw " + png + " (is gnuplot installed? run make deps)");
  }
  std::filesystem::rename(png + ".tmp", png);
}

}  // namespace

void setup_compare(CLI::App& sub) {
  struct Opts {
    std::vector<std::string> models{"seed-cnn", "seed-fourier", "seed-spectral", "large-kernel-direct", "large-kernel-fft"};
    std::size_t epochs = 3, batch_size = 32, limit = 0, large_limit = 6000;
    std::uint64_t seed = 42;
    double lr = 0.001;
    std::string data = io::default_fashion_mnist_dir(), signals, out = "out/compare";
    int verbose = -1;
  };
  auto o = std::make_shared<Opts>();
  sub.add_option("--models", o->models, "models to compare (see `fourierconv summary --help`)")->capture_default_str();
  sub.add_option("--epochs", o->epochs, "epochs for every model")->capture_default_str();
  sub.add_option("--batch-size", o->batch_size, "batch size for every model")->capture_default_str();
  sub.add_option("--lr", o->lr, "Adam learning rate")->capture_default_str();
  sub.add_option("--seed", o->seed, "seed for weights and shuffling")->capture_default_str();
  sub.add_option("--limit", o->limit, "use only the first N training and test samples (0: all)")->capture_default_str();
  sub.add_option("--large-limit", o->large_limit,
                 "training samples for the large-kernel models (0: as many as the others), so the run stays minutes long")
      ->capture_default_str();
  sub.add_option("--data", o->data, "MNIST-format directory")->capture_default_str();
  sub.add_option("--signals", o->signals,
                 "labelled time series instead of images: a folder of x_train.npy, y_train.npy, x_test.npy, y_test.npy "
                 "(tools/ucr/export_ucr.py writes them from the UCR archive); the default models become signal-cnn, "
                 "signal-fourier, signal-spectral");
  sub.add_option("--out", o->out, "folder for compare.json, compare.md and accuracy.png")->capture_default_str();
  sub.add_option("--verbose", o->verbose, "0 silent, 1 progress bar, 2 a line per epoch (default: 1 on a terminal, else 2)");
  auto* models_opt = sub.get_option("--models");
  sub.callback([o, models_opt] {
    const bool signals = !o->signals.empty();
    if (signals && models_opt->count() == 0) o->models = {"signal-cnn", "signal-fourier", "signal-spectral"};
    for (auto& m : o->models) nn::make_model(m);  // unknown names fail before any training
    if (o->epochs == 0) throw Error("compare: --epochs must be >= 1");
    std::size_t classes = 10;
    io::Dataset d = signals ? load_signals(o->signals, o->limit, &classes) : io::load_mnist_format(o->data, o->limit);
    std::filesystem::create_directories(o->out);
    const Shape in = signals ? Shape{d.x_train.dim(1), d.x_train.dim(2)} : Shape{d.x_train.dim(1), d.x_train.dim(2), 1};
    std::string dataset = "Fashion-MNIST";
    if (signals) {
      dataset = o->signals;
      while (dataset.size() > 1 && dataset.back() == '/') dataset.pop_back();
      dataset = std::filesystem::path(dataset).filename().string();
    }
    std::vector<Result> results;
    for (const std::string& name : o->models) {
      nn::clear_session();
      nn::set_random_seed(o->seed);
      nn::Sequential m = nn::make_model(name, in, classes);
      m.compile(std::make_unique<nn::Adam>(o->lr), nn::Loss::parse("sparse_categorical_crossentropy"), {"accuracy"});
      std::printf("\n=== %s ===\n", name.c_str());
      m.summary({.detail = true});
      const bool large = name.rfind("large-kernel", 0) == 0;
      Tensor xs = large && o->large_limit ? head_rows(d.x_train, o->large_limit) : d.x_train;
      Tensor ys = large && o->large_limit ? head_rows(d.y_train, o->large_limit) : d.y_train;
      Result r;
      r.model = name;
      r.train_samples = xs.dim(0);
      std::vector<double> secs;
      for (std::size_t e = 0; e < o->epochs; ++e) {
        std::printf("Epoch %zu/%zu\n", e + 1, o->epochs);
        nn::History h = m.fit(xs, ys, {.batch_size = o->batch_size, .epochs = 1, .verbose = o->verbose, .seed = o->seed + e});
        secs.push_back(h.epoch_seconds[0]);
        nn::Evaluation ev = m.evaluate(d.x_test, d.y_test, 256, 0);
        r.test_accuracy.push_back(ev.accuracy);
        r.test_loss = ev.loss;
        std::printf("  test accuracy %.4f, test loss %.4f\n", ev.accuracy, ev.loss);
      }
      r.seconds_per_epoch = std::accumulate(secs.begin(), secs.end(), 0.0) / double(secs.size());
      r.trainable = m.count_trainable_params();
      r.non_trainable = m.count_params() - r.trainable;
      r.fixed = fixed_constants(m);
      Tensor probe = head_rows(d.x_test, 2048), one = head_rows(d.x_test, 1);
      std::vector<double> t, t1;
      m.predict(probe, 256);
      for (int i = 0; i < 3; ++i) {
        auto a = std::chrono::steady_clock::now();
        m.predict(probe, 256);
        t.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - a).count() / double(probe.dim(0)));
      }
      for (int i = 0; i < 51; ++i) {
        auto a = std::chrono::steady_clock::now();
        m.predict(one, 1);
        t1.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - a).count());
      }
      r.us_per_image = median(t);
      r.batch1_us = median(t1);
      m.predict(head_rows(d.x_test, 256), 256);  // leave the inference-time algorithm choice visible
      r.algorithm = algorithm_of(m);
      results.push_back(r);
    }
    const std::string md = markdown(results, o->epochs);
    std::printf("\n%s", md.c_str());
    io::write_file_atomic(o->out + "/compare.md", bytes(md), "compare");
    io::write_file_atomic(o->out + "/compare.json", bytes(json(results, o->epochs, o->seed, o->batch_size)), "compare");
    plot(results, o->out, dataset);
    std::printf("wrote %s/compare.md, compare.json, accuracy.png\n", o->out.c_str());
  });
}

}  // namespace fourierconv::cli
