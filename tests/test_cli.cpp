// The CLI end to end: outputs, exit codes, error messages, and no partial output files.
#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "fourierconv/convolve.hpp"
#include "fourierconv/fir_design.hpp"
#include "fourierconv/io/csv.hpp"
#include "fourierconv/io/file.hpp"
#include "fourierconv/io/npy.hpp"
#include "fourierconv/io/png.hpp"
#include "fourierconv/io/wav.hpp"
#include "fourierconv/nn.hpp"
#include "fourierconv/signal.hpp"
#include "cli_run.hpp"
#include "reference.hpp"

using namespace fourierconv;
namespace fs = std::filesystem;

namespace {

using fctest::CliResult;
using fctest::run;

// A fresh folder per test and process: ctest runs the tests as parallel processes, several
// write files of the same name (c.npy, bad.npy), and a test that checks that nothing was
// written must not see an earlier run's files (the sanitizer runs share /tmp with make test).
std::string dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string name = info ? std::string(info->name()) : std::string("global");
  const std::string p = ::testing::TempDir() + "/fc_cli_" + name + "_" + std::to_string(::getpid());
  static std::string made;
  if (made != p) {
    fs::remove_all(p);
    fs::create_directories(p);
    made = p;
  }
  return p;
}

TEST(Cli, ConvolveWritesTheSameAsTheLibrary) {
  Tensor x = fctest::random_tensor({20, 17}, 1), k = fctest::random_tensor({5, 3}, 2);
  io::write_npy(dir() + "/x.npy", x);
  io::write_npy(dir() + "/k.npy", k);
  CliResult r = run("convolve " + dir() + "/x.npy " + dir() + "/k.npy " + dir() + "/y.npy --mode same --verbose");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("method: "), std::string::npos) << r.output;
  Tensor y = io::read_npy(dir() + "/y.npy"), want = convolve(x, k, Mode::Same);
  ASSERT_EQ(y.shape(), want.shape());
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], want[i], 1e-5);
}

// FOURIERCONV_COST_MODEL=fitted: method auto's estimates are the fitted constants' alone. On a
// shape near the crossovers, where the scales are otherwise measured and used, the reason
// --verbose prints ends "(scaled to this machine)" without the variable and not with it; with
// it, the reason is the in-process choice with ConvolveOptions::calibrate false (when this
// test runs on the same CPU features as the tool: test-baseline emulates an older CPU for the
// tests alone, whose fitted rates differ).
TEST(Cli, FittedCostModelByEnvironment) {
  Tensor x = fctest::random_tensor({256, 256}, 1), k = fctest::random_tensor({21, 21}, 2);
  io::write_npy(dir() + "/cx.npy", x);
  io::write_npy(dir() + "/ck.npy", k);
  const std::string args = "convolve " + dir() + "/cx.npy " + dir() + "/ck.npy " + dir() + "/cy.npy --mode same --verbose";
  const CliResult scaled = run(args), fitted = run(args, "FOURIERCONV_COST_MODEL=fitted");
  ASSERT_EQ(scaled.status, 0) << scaled.output;
  ASSERT_EQ(fitted.status, 0) << fitted.output;
  EXPECT_NE(scaled.output.find("(scaled to this machine)"), std::string::npos) << scaled.output;
  EXPECT_EQ(fitted.output.find("(scaled to this machine)"), std::string::npos) << fitted.output;
  signal::ConvolveOptions fitted_only;
  fitted_only.calibrate = false;
  const ArrayView xv = ArrayView::contiguous(DType::Float32, x.shape(), x.data());
  const ArrayView kv = ArrayView::contiguous(DType::Float32, k.shape(), k.data());
  const std::string want = signal::choose_conv_method(xv, kv, Mode::Same, false, fitted_only).reason;
  const char* level = std::getenv("FOURIERCONV_EXPECT_CPU_LEVEL");  // set by scripts/test-baseline
  if (!level || std::string(level) != "baseline")
    EXPECT_NE(fitted.output.find("method: " + want), std::string::npos) << fitted.output << "\nwant " << want;
}

TEST(Cli, FilterPngPerChannel) {
  Tensor img = fctest::random_tensor({16, 12, 3}, 3, 0, 1);
  io::write_png(dir() + "/in.png", img);
  CliResult r = run("filter " + dir() + "/in.png " + dir() + "/out.png --filter gaussian_lowpass:0.2 --padding reflect");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(io::read_png(dir() + "/out.png").shape(), (Shape{16, 12, 3}));
}

TEST(Cli, BadInputFailsClearlyAndWritesNothing) {
  io::write_npy(dir() + "/ok.npy", fctest::random_tensor({8, 8}, 4));
  {
    std::FILE* f = std::fopen((dir() + "/bad.npy").c_str(), "wb");
    std::fputs("\x93NUMPY garbage", f);
    std::fclose(f);
  }
  struct Case {
    std::string args, needle;
  };
  const std::string o = dir() + "/never.npy";
  for (const Case& c : {
           Case{"convolve " + dir() + "/missing.npy " + dir() + "/ok.npy " + o, "cannot open"},
           Case{"convolve " + dir() + "/bad.npy " + dir() + "/ok.npy " + o, "bad.npy"},
           Case{"convolve " + dir() + "/ok.npy " + dir() + "/ok.npy " + o + " --mode wrap", "mode"},
           Case{"convolve " + dir() + "/ok.npy " + dir() + "/ok.npy " + o + " --method fast", "method"},
           Case{"filter " + dir() + "/ok.npy " + o + " --filter nosuch", "unknown name"},
           Case{"filter " + dir() + "/ok.npy " + o + " --filter butterworth:0.1", "expected 2 argument"},
           Case{"filter " + dir() + "/ok.npy " + dir() + "/out.txt --filter gaussian_lowpass:0.1", ".npy or .png"},
       }) {
    CliResult r = run(c.args);
    EXPECT_NE(r.status, 0) << c.args;
    EXPECT_NE(r.output.find("error: "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(c.needle), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_FALSE(fs::exists(o)) << c.args;
  }
  for (auto& e : fs::directory_iterator(dir()))
    EXPECT_EQ(e.path().string().find(".tmp-"), std::string::npos) << "left a temporary file " << e.path();
  EXPECT_NE(run("").status, 0);
  EXPECT_EQ(run("convolve --help").status, 0);
}

TEST(Cli, TrainSaveThenSummaryEvaluatePredict) {
  const std::string m = dir() + "/cli_model.keras";
  CliResult r = run("train --epochs 1 --limit 600 --verbose 0 --save " + m);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("saved " + m), std::string::npos) << r.output;
  r = run("summary --model " + m);
  ASSERT_EQ(r.status, 0) << r.output;
  // Saved compiled, with Adam's state: Keras's summary of such a file counts it too.
  EXPECT_NE(r.output.find(" Total params: 163,232 (637.62 KB)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" Trainable params: 54,410 (212.54 KB)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" Optimizer params: 108,822 (425.09 KB)"), std::string::npos) << r.output;
  r = run("evaluate --model " + m + " --limit 200");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("test accuracy: "), std::string::npos) << r.output;
  io::write_npy(dir() + "/img.npy", fctest::random_tensor({28, 28}, 5, 0, 1));
  r = run("predict --model " + m + " " + dir() + "/img.npy --top 3");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("  3. "), std::string::npos) << r.output;  // three classes, Fashion-MNIST names
  EXPECT_NE(r.output.find("(class "), std::string::npos) << r.output;
  io::write_npy(dir() + "/wrong.npy", fctest::random_tensor({5, 5}, 6));
  r = run("predict --model " + m + " " + dir() + "/wrong.npy");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("input is (N, 28, 28, 1)"), std::string::npos) << r.output;
  r = run("evaluate --model seed-cnn");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find(".keras"), std::string::npos) << r.output;
  r = run("train --epochs 1 --limit 100 --save " + dir() + "/x.h5");
  EXPECT_NE(r.status, 0);
  EXPECT_FALSE(fs::exists(dir() + "/x.h5"));
}

// Models whose input is (28, 28), (784,) or (28, 28, 3), as TensorFlow's tutorials and
// public files have them (issue 11): predict and evaluate feed them images and Fashion-MNIST
// by the documented rules, with the same predictions as the data adapted by hand.
TEST(Cli, PredictAndEvaluateAdaptImagesToTheModelsInput) {
  using namespace fourierconv::nn;
  const Tensor img = fctest::random_tensor({28, 28, 1}, 31, 0, 1);
  io::write_npy(dir() + "/img3.npy", img);
  struct Case {
    std::string name;
    Shape input;
    Tensor adapted;  // img as the model takes it, made here by hand
  };
  Tensor flat = img.reshaped({1, 784}), gray = img.reshaped({1, 28, 28}), rgb({1, 28, 28, 3});
  for (std::size_t p = 0; p < 784; ++p) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = img[p];
  for (const Case& c : {Case{"hw", {28, 28}, gray}, Case{"flat", {784}, flat}, Case{"rgb", {28, 28, 3}, rgb}}) {
    SCOPED_TRACE(c.name);
    Sequential m;
    if (c.input.size() == 3) {
      m.add(Conv2D(2, {3, 3}, {.activation = "relu", .input_shape = c.input}));
      m.add(Flatten());
    } else {
      m.add(Flatten({.input_shape = c.input}));
    }
    m.add(Dense(10, {.activation = "softmax"}));
    const std::string path = dir() + "/adapt_" + c.name + ".keras";
    save_model(m, path);
    Tensor p = m.predict(c.adapted);
    std::size_t best = 0;
    for (std::size_t k = 1; k < 10; ++k)
      if (p[k] > p[best]) best = k;
    CliResult r0 = run("predict --model " + path + " " + dir() + "/img3.npy --top 1 --output " + dir() + "/raw.npy");
    ASSERT_EQ(r0.status, 0) << r0.output;
    EXPECT_NE(r0.output.find("(class " + std::to_string(best) + ")"), std::string::npos) << r0.output;
    Tensor raw = io::read_npy(dir() + "/raw.npy");  // --output: the raw outputs, as predict gives them
    ASSERT_EQ(raw.shape(), p.shape());
    for (std::size_t k = 0; k < 10; ++k) EXPECT_NEAR(raw[k], p[k], 1e-6);
    CliResult r = run("evaluate --model " + path + " --limit 50");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("(50 images)"), std::string::npos) << r.output;
  }
  // No rule: (5, 5) data for a (28, 28) model names both shapes.
  io::write_npy(dir() + "/small.npy", fctest::random_tensor({5, 5}, 32));
  CliResult r = run("predict --model " + dir() + "/adapt_hw.keras " + dir() + "/small.npy");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("input is (N, 28, 28)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("(5, 5)"), std::string::npos) << r.output;
  r = run("predict --model " + dir() + "/adapt_hw.keras " + dir() + "/img3.npy --output " + dir() + "/raw.txt");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("--output"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir() + "/raw.txt"));
}

}  // namespace

namespace {

// A Functional model of one input and two outputs: predict prints each output and --output
// writes one file per output; a model of two inputs is refused by name.
TEST(Cli, PredictGraphsOfSeveralOutputsAndInputs) {
  nn::Model m("two_heads");
  nn::KerasTensor x = m.input({6});
  nn::KerasTensor h = m.add(nn::Dense(4, {.activation = "relu", .name = "trunk"}), x);
  m.set_outputs({m.add(nn::Dense(3, {.activation = "softmax", .name = "cls"}), h), m.add(nn::Dense(2, {.name = "box"}), h)});
  const std::string path = dir() + "/two_heads.keras";
  nn::save_model(m, path);
  const Tensor in = fctest::random_tensor({2, 6}, 4);
  io::write_npy(dir() + "/six.npy", in);
  CliResult r = run("predict --model " + path + " " + dir() + "/six.npy --top 1 --output " + dir() + "/heads.npy");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("output cls:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("output box:"), std::string::npos) << r.output;
  const auto want = m.predict({&in});
  fctest::expect_close(io::read_npy(dir() + "/heads_cls.npy"), fctest::to_double(want[0]), 1e-6, "cls");
  fctest::expect_close(io::read_npy(dir() + "/heads_box.npy"), fctest::to_double(want[1]), 1e-6, "box");
  r = run("predict --model " + std::string(FOURIERCONV_SOURCE_DIR) + "/tests/fixtures/keras/functional_graph.keras " + dir() + "/six.npy");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("has 2 inputs"), std::string::npos) << r.output;
  r = run("summary --model " + std::string(FOURIERCONV_SOURCE_DIR) + "/tests/fixtures/keras/functional_graph.keras");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Connected to"), std::string::npos) << r.output;
}

// Every dtype through .npy files, axes, convolve2d's boundaries, correlate; errors leave no file.
TEST(Cli, ConvolveAndCorrelateEveryDtypeAxesAndBoundaries) {
  Array x(DType::Int16, {6, 7}), k(DType::Int16, {2, 3});
  for (std::size_t i = 0; i < x.size(); ++i) x.data_as<std::int16_t>()[i] = std::int16_t(i % 5) - 2;
  for (std::size_t i = 0; i < k.size(); ++i) k.data_as<std::int16_t>()[i] = std::int16_t(i) - 1;
  io::write_npy(dir() + "/xi.npy", x);
  io::write_npy(dir() + "/ki.npy", k);
  CliResult r = run("convolve " + dir() + "/xi.npy " + dir() + "/ki.npy " + dir() + "/yi.npy --mode same --method fft");
  ASSERT_EQ(r.status, 0) << r.output;
  Array y = io::read_npy_array(dir() + "/yi.npy"), want = signal::convolve(x.view(), k.view(), Mode::Same, Method::Direct);
  ASSERT_EQ(y.dtype(), DType::Int16);  // scipy: the FFT result rounded back to the integer type
  ASSERT_EQ(y.shape(), want.shape());
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_EQ(y.data_as<std::int16_t>()[i], want.data_as<std::int16_t>()[i]);
  // Complex, correlate, along the last axis only (the first broadcasts: 6 against 1).
  Array c(DType::Complex128, {6, 9}), h(DType::Complex128, {1, 4});
  for (std::size_t i = 0; i < c.size(); ++i) c.data_as<std::complex<double>>()[i] = {double(i % 7), double(i % 3) - 1};
  for (std::size_t i = 0; i < h.size(); ++i) h.data_as<std::complex<double>>()[i] = {1.0, double(i)};
  io::write_npy(dir() + "/c.npy", c);
  io::write_npy(dir() + "/h.npy", h);
  r = run("correlate " + dir() + "/c.npy " + dir() + "/h.npy " + dir() + "/yc.npy --axes -1 --verbose");
  ASSERT_EQ(r.status, 0) << r.output;
  signal::ConvolveOptions o;
  o.axes = std::vector<long>{-1};
  Array yc = io::read_npy_array(dir() + "/yc.npy"), wc = signal::correlate(c.view(), h.view(), Mode::Full, Method::Auto, o);
  ASSERT_EQ(yc.shape(), (Shape{6, 12}));
  for (std::size_t i = 0; i < yc.size(); ++i)
    EXPECT_LT(std::abs(yc.data_as<std::complex<double>>()[i] - wc.data_as<std::complex<double>>()[i]), 1e-12);
  // convolve2d with a symmetric boundary and a fill value.
  r = run("convolve " + dir() + "/xi.npy " + dir() + "/ki.npy " + dir() + "/ys.npy --mode same --boundary symm");
  ASSERT_EQ(r.status, 0) << r.output;
  Array ys = io::read_npy_array(dir() + "/ys.npy"), ws = signal::convolve2d(x.view(), k.view(), Mode::Same, signal::Boundary::Symm);
  for (std::size_t i = 0; i < ys.size(); ++i) EXPECT_EQ(ys.data_as<std::int16_t>()[i], ws.data_as<std::int16_t>()[i]);
  r = run("convolve " + dir() + "/xi.npy " + dir() + "/ki.npy " + dir() + "/yf.npy --fillvalue 3");
  ASSERT_EQ(r.status, 0) << r.output;
  // Errors: clear, non-zero, no output file.
  for (const std::string& bad : {std::string("--axes 0,0"), std::string("--axes 5"), std::string("--axes x"),
                                 std::string("--mode valid --axes 1 --boundary wrap"), std::string("--fillvalue abc")}) {
    fs::remove(dir() + "/bad.npy");
    r = run("convolve " + dir() + "/xi.npy " + dir() + "/ki.npy " + dir() + "/bad.npy " + bad);
    EXPECT_NE(r.status, 0) << bad << ": " << r.output;
    EXPECT_NE(r.output.find("error: "), std::string::npos) << bad << ": " << r.output;
    EXPECT_FALSE(fs::exists(dir() + "/bad.npy")) << bad;
  }
  r = run("convolve " + dir() + "/c.npy " + dir() + "/h.npy " + dir() + "/bad.png --axes 1");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("complex128"), std::string::npos) << r.output;
}

}  // namespace

// Degenerate sizes through every command that takes arrays (issue 14): an empty or
// one-element input gives an empty/one-element result or a clear error; never a crash
// (the status of a signal), never a partial file.
TEST(Cli, EmptyAndOneElementInputs) {
  const std::string d = dir();
  io::write_npy(d + "/empty.npy", Tensor({0, 5}));
  io::write_npy(d + "/one.npy", Tensor({1, 1}, 2.0f));
  io::write_npy(d + "/batch0.npy", Tensor({0, 28, 28, 1}));
  struct Case {
    std::string args;
    int status;
    std::string says;
  };
  const Case cases[] = {
      {"filter " + d + "/empty.npy " + d + "/f_empty.npy --filter gaussian_lowpass:0.1", 0, "filtered"},
      {"filter " + d + "/one.npy " + d + "/f_one.npy --filter gaussian_lowpass:0.1 --padding mirror", 0, "filtered"},
      {"convolve " + d + "/one.npy " + d + "/one.npy " + d + "/c_one.npy", 0, ""},
      {"convolve " + d + "/empty.npy " + d + "/one.npy " + d + "/c_empty.npy", 1, "empty"},
      {"predict --model " + std::string(FOURIERCONV_SOURCE_DIR) + "/tests/fixtures/keras/seed.keras " + d + "/batch0.npy", 0,
       "0 samples"},
  };
  for (const auto& c : cases) {
    CliResult r = run(c.args);
    EXPECT_EQ(r.status, c.status) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.says), std::string::npos) << c.args << "\n" << r.output;
  }
  EXPECT_EQ(io::read_npy(d + "/f_empty.npy").shape(), (Shape{0, 5}));
  EXPECT_FLOAT_EQ(io::read_npy(d + "/c_one.npy")[0], 4.0f);
  EXPECT_FALSE(fs::exists(d + "/c_empty.npy"));
}

// Audio: `filter` with an impulse response on a WAV file (the full convolution of each
// channel), and `stream` from standard input to standard output, against a double reference.
TEST(Cli, AudioFilterAndStream) {
  const std::size_t frames = 3000, taps = 700;
  io::Audio x;
  x.sample_rate = 16000;
  x.samples = Array(DType::Float32, {frames, 2});
  Tensor xs = fctest::random_tensor({frames * 2}, 40, -0.5f, 0.5f), h = fctest::random_tensor({taps}, 41, -0.05f, 0.05f);
  std::memcpy(x.samples.data(), xs.data(), xs.size() * sizeof(float));
  io::write_wav(dir() + "/in.wav", x, "FLOAT");
  io::write_npy(dir() + "/ir.npy", h);
  auto reference = [&](std::size_t c, std::size_t t) {
    double acc = 0;
    for (std::size_t j = 0; j < taps && j <= t; ++j)
      if (t - j < frames) acc += double(h[j]) * xs[(t - j) * 2 + c];
    return acc;
  };
  CliResult r = run("filter " + dir() + "/in.wav " + dir() + "/out.wav --ir " + dir() + "/ir.npy --block 128");
  ASSERT_EQ(r.status, 0) << r.output;
  io::Audio y = io::read_wav(dir() + "/out.wav");
  ASSERT_EQ(y.frames(), frames + taps - 1);
  ASSERT_EQ(y.channels(), 2u);
  EXPECT_EQ(y.sample_rate, 16000);
  for (std::size_t t = 0; t < y.frames(); t += 7)
    for (std::size_t c = 0; c < 2; ++c) ASSERT_NEAR(y.samples.data_as<float>()[t * 2 + c], reference(c, t), 1e-5) << t;

  // An impulse response recorded at another rate is refused, and nothing is written.
  io::Audio ir;
  ir.sample_rate = 44100;
  ir.samples = Array(DType::Float32, {taps, 1});
  io::write_wav(dir() + "/ir44.wav", ir);
  r = run("filter " + dir() + "/in.wav " + dir() + "/bad.wav --ir " + dir() + "/ir44.wav");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("sample rate 44100 Hz differs"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir() + "/bad.wav"));

  // stream: channel 0 as raw float32 through a pipe; latency B, then the same samples.
  {
    std::ofstream raw(dir() + "/in.f32", std::ios::binary);
    for (std::size_t t = 0; t < frames; ++t) raw.write(reinterpret_cast<const char*>(&xs[t * 2]), sizeof(float));
  }
  // (run() appends 2>&1 to the command line: here it applies to the cat of the report.)
  for (const std::string flags : {"", " --background"}) {
    r = run("stream --ir " + dir() + "/ir.npy --block 64 --rate 16000" + flags + " < " + dir() + "/in.f32 > " + dir() +
            "/out.f32 2> " + dir() + "/report.txt && cat " + dir() + "/report.txt");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("latency 64 samples"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("real-time factor"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("worker thread") != std::string::npos, !flags.empty()) << r.output;
    std::vector<unsigned char> out = io::read_file(dir() + "/out.f32", "test");
    ASSERT_EQ(out.size(), frames * sizeof(float));
    for (std::size_t t = 64; t < frames; t += 5) {
      float v;
      std::memcpy(&v, out.data() + t * sizeof(float), sizeof v);
      ASSERT_NEAR(v, reference(0, t - 64), 1e-5) << flags << " sample " << t;
    }
  }
  // A stream that ends mid-frame: an error naming it.
  {
    std::ofstream odd(dir() + "/odd.f32", std::ios::binary);
    odd.write("0123456789abc", 13);  // one frame of 2 x float32 and 5 stray bytes
  }
  r = run("stream --ir " + dir() + "/ir.npy --channels 2 < " + dir() + "/odd.f32");  // refused before any output
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("mid-frame"), std::string::npos) << r.output;
  r = run("stream --ir " + dir() + "/ir.npy --block 0 < /dev/null");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("block"), std::string::npos) << r.output;
}

TEST(Cli, CompareOnLabelledSignals) {
  // Two classes of signals (a slow or a fast sine), as tools/ucr/export_ucr.py writes a UCR set:
  // (N, L) float32 series (univariate) and float class indices.
  const std::string d = dir() + "/signals";
  fs::create_directories(d);
  for (const char* part : {"train", "test"}) {
    const std::size_t N = 16, L = 40;
    Tensor x({N, L}), y({N});
    for (std::size_t n = 0; n < N; ++n) {
      y[n] = float(n % 2);
      for (std::size_t t = 0; t < L; ++t) x[n * L + t] = float(std::sin((n % 2 ? 0.9 : 0.2) * double(t) + double(n)));
    }
    io::write_npy(d + "/x_" + part + ".npy", x);
    io::write_npy(d + "/y_" + part + ".npy", y);
  }
  CliResult r = run("compare --signals " + d + " --epochs 2 --verbose 0 --out " + dir() + "/cmp");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* want : {"| signal-cnn | ", "| signal-fourier | ", "| signal-spectral | ", "Conv1D direct", "fixed FFT bank, length 80",
                           "rfft + learned modes"})
    EXPECT_NE(r.output.find(want), std::string::npos) << want << "\n" << r.output;
  EXPECT_TRUE(fs::exists(dir() + "/cmp/compare.md"));
  EXPECT_TRUE(fs::exists(dir() + "/cmp/accuracy.png"));
  // Labels that are not class indices are refused, naming the file.
  io::write_npy(d + "/y_test.npy", Tensor({16}, 0.5f));
  r = run("compare --signals " + d + " --epochs 1 --verbose 0 --out " + dir() + "/cmp2");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("y_test.npy: labels must be class indices"), std::string::npos) << r.output;
  // NaN in a series is refused up front (not as a NaN loss several epochs later).
  Tensor with_nan({16, 40}, 0.5f);
  with_nan[77] = NAN;
  io::write_npy(d + "/x_test.npy", with_nan);
  io::write_npy(d + "/y_test.npy", Tensor({16}, 1.0f));
  r = run("compare --signals " + d + " --epochs 1 --verbose 0 --out " + dir() + "/cmp4");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("x_test.npy: expected finite values, got nan in series 1"), std::string::npos) << r.output;
  // Images where signals are expected.
  io::write_npy(d + "/x_train.npy", Tensor({4, 5, 5, 1}));
  r = run("compare --signals " + d + " --epochs 1 --verbose 0 --out " + dir() + "/cmp3");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("expected signals of shape (N, L) or (N, L, C)"), std::string::npos) << r.output;
}

TEST(Cli, SignalFilesDesignedFirsAndResampling) {
  // A .npy signal and CSV columns, filtered by a designed FIR (scipy's firwin, fixture) or an
  // impulse response resampled from another rate (our resample_poly, checked against scipy in
  // test_fir_design.cpp); every output against a double-precision convolution.
  const std::size_t N = 500;
  Tensor x = fctest::random_tensor({N, 2}, 61);
  io::write_npy(dir() + "/sig.npy", x);
  {
    std::ofstream csv(dir() + "/sig.csv");
    csv << "left, right\n";
    for (std::size_t t = 0; t < N; ++t) csv << x[t * 2] << "," << x[t * 2 + 1] << "\n";
  }
  Array ha = Array::copy_of(io::read_npy_array(std::string(FOURIERCONV_SOURCE_DIR) + "/tests/fixtures/fir/design_lowpass_1000_63_at_8000.npy").view(),
                            DType::Float64);
  const std::vector<double> h(ha.data_as<double>(), ha.data_as<double>() + ha.size());
  auto expect_filtered = [&](const Tensor& y, const std::vector<double>& taps, const std::string& what) {
    ASSERT_EQ(y.dim(0), N + taps.size() - 1) << what;
    for (std::size_t t = 0; t < y.dim(0); t += 3)
      for (std::size_t c = 0; c < 2; ++c) {
        double acc = 0;
        for (std::size_t j = 0; j < taps.size() && j <= t; ++j)
          if (t - j < N) acc += taps[j] * x[(t - j) * 2 + c];
        ASSERT_NEAR(y[t * 2 + c], acc, 2e-5) << what << " t=" << t;
      }
  };
  CliResult r = run("filter " + dir() + "/sig.npy " + dir() + "/out.npy --filter lowpass:1000,63 --rate 8000");
  ASSERT_EQ(r.status, 0) << r.output;
  expect_filtered(io::read_npy(dir() + "/out.npy"), h, "npy");
  r = run("filter " + dir() + "/sig.csv " + dir() + "/out.csv --filter lowpass:1000,63 --rate 8000");
  ASSERT_EQ(r.status, 0) << r.output;
  io::CsvSignal back = io::read_csv(dir() + "/out.csv");
  EXPECT_EQ(back.names, (std::vector<std::string>{"left", "right"}));
  Tensor yc({back.signal.frames(), 2});
  std::copy(back.signal.samples.data_as<float>(), back.signal.samples.data_as<float>() + yc.size(), yc.begin());
  expect_filtered(yc, h, "csv");

  // An impulse response at 16 kHz for a signal at 8 kHz: refused, or resampled on request.
  io::Audio ir;
  ir.sample_rate = 16000;
  Tensor irs = fctest::random_tensor({90}, 62);
  ir.samples = Array(DType::Float32, {90, 1});
  std::copy(irs.begin(), irs.end(), ir.samples.data_as<float>());
  io::write_wav(dir() + "/ir16k.wav", ir, "FLOAT");
  r = run("filter " + dir() + "/sig.csv " + dir() + "/no.csv --ir " + dir() + "/ir16k.wav --rate 8000");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("give --resample"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir() + "/no.csv"));
  r = run("filter " + dir() + "/sig.csv " + dir() + "/rs.npy --ir " + dir() + "/ir16k.wav --rate 8000 --resample");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::vector<float> hr = resample_poly(std::vector<float>(irs.begin(), irs.end()), 1, 2);
  expect_filtered(io::read_npy(dir() + "/rs.npy"), std::vector<double>(hr.begin(), hr.end()), "resampled IR");

  // Bad input: a ragged CSV, a rate the designed FIR needs, both filters at once, NaN taps.
  std::ofstream(dir() + "/ragged.csv") << "1,2\n3\n";
  for (auto [args, want] : std::vector<std::pair<std::string, std::string>>{
           {dir() + "/ragged.csv " + dir() + "/o.csv --filter lowpass:100 --rate 8000", "line 2 has 1 fields, expected 2"},
           {dir() + "/sig.csv " + dir() + "/o.csv --filter lowpass:100", "the sample rate is unknown"},
           {dir() + "/sig.npy " + dir() + "/o.npy --filter lowpass:100", "give --rate for a .npy signal"},
           {dir() + "/sig.csv " + dir() + "/o.wav --filter lowpass:100 --ir " + dir() + "/ir16k.wav --rate 8000", "exactly one of --ir"},
           {dir() + "/sig.npy " + dir() + "/o.wav --ir " + dir() + "/nan.npy", "--ir: expected finite float32 values"},
           {dir() + "/big64.npy " + dir() + "/o.npy --filter lowpass:100 --rate 8000", "IN: expected finite float32 values"},
           {dir() + "/chfirst.npy " + dir() + "/o.npy --filter lowpass:100 --rate 8000", "channels first?"},
           {dir() + "/loud.npy " + dir() + "/o.csv --ir " + dir() + "/gain.npy", "the result overflows float32"},
           {dir() + "/sig.csv " + dir() + "/o.wav --ir " + dir() + "/ir16k.wav --resample", "a WAV file needs a sample rate"}}) {
    if (want == "--ir: expected finite float32 values") {
      io::write_npy(dir() + "/nan.npy", Tensor({3}, NAN));
      Array big(DType::Float64, {3});  // 1e300 has no float32
      big.data_as<double>()[0] = 1e300;
      io::write_npy(dir() + "/big64.npy", big);
      io::write_npy(dir() + "/chfirst.npy", Tensor({2, 3000}));
      io::write_npy(dir() + "/loud.npy", Tensor({4}, 3e38f));
      io::write_npy(dir() + "/gain.npy", Tensor({1}, 4.0f));
    }
    r = run("filter " + args);
    EXPECT_EQ(r.status, 1) << args;
    EXPECT_NE(r.output.find(want), std::string::npos) << args << "\n" << r.output;
  }
  EXPECT_FALSE(fs::exists(dir() + "/o.csv"));
  EXPECT_FALSE(fs::exists(dir() + "/o.wav"));
  EXPECT_FALSE(fs::exists(dir() + "/o.npy"));
  // PCM output clips what is beyond [-1, 1], and says so.
  io::Audio loud;
  loud.sample_rate = 8000;
  loud.samples = Array(DType::Float32, {50, 1});
  std::fill(loud.samples.data_as<float>(), loud.samples.data_as<float>() + 50, 0.5f);
  io::write_wav(dir() + "/loud16.wav", loud, "PCM_16");
  r = run("filter " + dir() + "/loud16.wav " + dir() + "/clipped.wav --ir " + dir() + "/gain.npy");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("warning: 50 samples beyond [-1, 1] are clipped in the PCM_16 output"), std::string::npos) << r.output;
}

TEST(Cli, StreamReadsWavFromStandardInput) {
  // PCM_16 stereo at 8 kHz, through a pipe (--input wav) and from a file (auto-detected): the
  // output is raw float32 frames, the full convolution delayed by the block.
  const std::size_t frames = 2000, taps = 300, B = 64;
  io::Audio x;
  x.sample_rate = 8000;
  x.samples = Array(DType::Float32, {frames, 2});
  Tensor xs = fctest::random_tensor({frames * 2}, 70, -0.5f, 0.5f), h = fctest::random_tensor({taps}, 71, -0.05f, 0.05f);
  std::memcpy(x.samples.data(), xs.data(), xs.size() * sizeof(float));
  io::write_wav(dir() + "/in16.wav", x, "PCM_16");
  io::write_npy(dir() + "/h.npy", h);
  const io::Audio pcm = io::read_wav(dir() + "/in16.wav");  // the 16-bit values the stream sees
  for (const std::string& cmd : {"stream --ir " + dir() + "/h.npy --block 64 --input wav < " + dir() + "/in16.wav",
                                 "stream --ir " + dir() + "/h.npy --block 64 < " + dir() + "/in16.wav",
                                 "stream --ir " + dir() + "/h.npy --block 64 --input wav --rate 8000 --channels 2 < " + dir() + "/in16.wav"}) {
    const std::string piped = "cat " + dir() + "/in16.wav | " + std::string(FOURIERCONV_CLI) + " " + cmd.substr(0, cmd.find(" <"));
    for (const std::string& full : {std::string(FOURIERCONV_CLI) + " " + cmd, piped}) {
      if (full == piped && cmd.find("--input wav") == std::string::npos) continue;  // a pipe needs --input wav
      SCOPED_TRACE(full);
      ASSERT_EQ(std::system((full + " > " + dir() + "/out.f32 2> " + dir() + "/err.txt").c_str()), 0);
      std::vector<unsigned char> bytes = io::read_file(dir() + "/out.f32", "out");
      ASSERT_EQ(bytes.size(), frames * 2 * sizeof(float));
      const float* y = reinterpret_cast<const float*>(bytes.data());
      for (std::size_t t = B; t < frames; t += 5)
        for (std::size_t c = 0; c < 2; ++c) {
          double acc = 0;
          for (std::size_t j = 0; j < taps && j <= t - B; ++j) acc += double(h[j]) * pcm.samples.data_as<float>()[(t - B - j) * 2 + c];
          ASSERT_NEAR(y[t * 2 + c], acc, 1e-5) << t;
        }
    }
  }
  // A WAV through a pipe without --input wav, a truncated WAV stream, a rate that contradicts it.
  std::vector<unsigned char> wav = io::read_file(dir() + "/in16.wav", "in");
  io::write_file_atomic(dir() + "/cut.wav", std::vector<unsigned char>(wav.begin(), wav.begin() + 3000), "cut");
  std::vector<unsigned char> zero = wav;  // RIFF and data sizes 0, the samples still there
  const auto data_at = std::search(zero.begin(), zero.end(), std::begin("data"), std::begin("data") + 4) - zero.begin();
  std::fill(zero.begin() + 4, zero.begin() + 8, 0);
  std::fill(zero.begin() + data_at + 4, zero.begin() + data_at + 8, 0);
  io::write_file_atomic(dir() + "/zero.wav", zero, "zero");
  for (auto [cmd, want] : std::vector<std::pair<std::string, std::string>>{
           {"cat " + dir() + "/in16.wav | " + FOURIERCONV_CLI + " stream --ir " + dir() + "/h.npy --channels 2", "give --input wav"},
           {"cat " + dir() + "/cut.wav | " + FOURIERCONV_CLI + " stream --ir " + dir() + "/h.npy --input wav", "truncated"},
           {std::string(FOURIERCONV_CLI) + " stream --ir " + dir() + "/h.npy --rate 44100 < " + dir() + "/in16.wav", "differs from the WAV stream's 8000 Hz"},
           // a truncated file redirected (seekable: libsndfile sees the lie at once), a header of size 0
           {std::string(FOURIERCONV_CLI) + " stream --ir " + dir() + "/h.npy < " + dir() + "/cut.wav", "truncated"},
           {std::string(FOURIERCONV_CLI) + " stream --ir " + dir() + "/h.npy < " + dir() + "/zero.wav", "declares no audio"}}) {
    const int rc = std::system((cmd + " > /dev/null 2> " + dir() + "/err.txt").c_str());
    EXPECT_NE(rc, 0) << cmd;
    std::vector<unsigned char> e = io::read_file(dir() + "/err.txt", "err");
    EXPECT_NE(std::string(e.begin(), e.end()).find(want), std::string::npos) << cmd << ": " << std::string(e.begin(), e.end());
  }
}
