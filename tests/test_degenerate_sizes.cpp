// Degenerate sizes at every public entry point (issue 14): zero-size batches, zero-length
// axes, one-element axes, and shapes whose element count overflows size_t or passes the
// memory limit. The property: each call either returns the empty result the math defines
// (numpy's, Keras's and PyTorch's answer), or throws fourierconv::Error whose message names
// the real condition, never a crash, and never a message that contradicts the input (the
// fault found: "expected (N, 28, 28, 1), got (0, 28, 28, 1)").
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fourierconv/convolve.hpp"
#include "fourierconv/error.hpp"
#include "fourierconv/filters.hpp"
#include "fourierconv/memory_limit.hpp"
#include "fourierconv/nn/models.hpp"
#include "fourierconv/signal.hpp"
#include "reference.hpp"

using namespace fourierconv;

namespace {

constexpr std::size_t kHuge = std::size_t(1) << 33;  // 2^33 x 2^33 overflows 64 bits

// Runs f; passes when it returns or throws Error, and hands the message (empty if none) to
// `check`. Any other exception fails the test.
void returns_or_errors(const std::function<void()>& f, const std::string& what,
                       const std::function<void(const std::string&)>& check = {}) {
  std::string msg;
  try {
    f();
  } catch (const Error& e) {
    msg = e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": threw a non-fourierconv exception: " << e.what();
    return;
  }
  if (check) check(msg);
}

}  // namespace

TEST(DegenerateSizes, ShapesThatOverflowOrPassTheLimitAreRefusedBeforeAllocating) {
  EXPECT_THROW(Tensor({kHuge, kHuge}), OutOfMemory);
  EXPECT_THROW(Array(DType::Float64, {kHuge, kHuge}), OutOfMemory);
  EXPECT_THROW(shape_size({kHuge, kHuge}), OutOfMemory);
  EXPECT_EQ(shape_size({kHuge, kHuge, 0}), 0u);  // a zero axis makes any shape empty
  EXPECT_EQ(Tensor({kHuge, 0}).size(), 0u);
  fctest::LimitGuard limit(std::size_t(1) << 20);
  try {
    Tensor t({1024, 1024});  // 4 MiB > 1 MiB
    FAIL() << "a tensor past the memory limit was allocated";
  } catch (const OutOfMemory& e) {
    EXPECT_NE(std::string(e.what()).find("memory limit"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("(1024, 1024)"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(Tensor({256, 256}));  // 256 KiB
}

TEST(DegenerateSizes, MemorySizesParseAsDocumented) {
  EXPECT_EQ(parse_memory_size("4G", "x"), std::size_t(4) << 30);
  EXPECT_EQ(parse_memory_size("512m", "x"), std::size_t(512) << 20);
  EXPECT_EQ(parse_memory_size("1024", "x"), 1024u);
  EXPECT_EQ(parse_memory_size("2KB", "x"), 2048u);
  for (const char* bad : {"", "G", "-1", "0", "1.5G", "4Q", "4GBB", "99999999999999999999", "9000000000T"})
    EXPECT_THROW(parse_memory_size(bad, "x"), Error) << bad;
  EXPECT_THROW(set_memory_limit(~std::size_t(0)), Error);
}

TEST(DegenerateSizes, EveryModelPredictsAnEmptyBatchAndRefusesToEvaluateOrFitIt) {
  for (const auto& info : nn::model_names()) {
    SCOPED_TRACE(info.name);
    nn::Sequential m = nn::make_model(info.name);
    Shape in{0};
    in.insert(in.end(), m.input_shape().begin(), m.input_shape().end());
    Tensor x(in);
    Tensor p = m.predict(x);
    Shape want{0};
    const Shape out = m.output_shape();
    want.insert(want.end(), out.begin(), out.end());
    EXPECT_EQ(p.shape(), want);
    m.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
    Tensor y({0});
    for (const char* who : {"evaluate", "fit"}) {
      returns_or_errors(
          [&] {
            if (std::string(who) == "fit") m.fit(x, y, {.epochs = 1, .verbose = 0});
            else m.evaluate(x, y, 32, 0);
          },
          who,
          [&](const std::string& msg) {
            EXPECT_NE(msg.find("no samples"), std::string::npos) << who << ": " << msg;
            EXPECT_EQ(msg.find("must have shape"), std::string::npos) << who << ": " << msg;
          });
    }
  }
}

TEST(DegenerateSizes, EveryLayerPassesAnEmptyBatchForwardAndBackward) {
  // Each layer of each registered model, called on a batch of 0: the output is (0, ...), the
  // input gradient (0, ...), and every weight gradient is zero (a sum over no samples).
  for (const auto& info : nn::model_names()) {
    nn::Sequential m = nn::make_model(info.name);
    for (auto& l : m.layers()) {
      SCOPED_TRACE(info.name + "/" + l->name());
      Shape in{0};
      in.insert(in.end(), l->input_shape().begin(), l->input_shape().end());
      Tensor x(in);
      const Tensor& y = l->call(x, true);
      EXPECT_EQ(y.size(), 0u);
      EXPECT_EQ(y.dim(0), 0u);
      Tensor dy(y.shape());
      const Tensor& dx = l->backward(dy);
      EXPECT_EQ(dx.shape(), in);
      for (auto* w : l->weights())
        for (float g : w->grad) EXPECT_EQ(g, 0.0f) << w->name;
    }
  }
}

TEST(DegenerateSizes, ModelsOnOneElementAndZeroAxesAnswerOrSayWhy) {
  for (const auto& info : nn::model_names())
    for (Shape s : {Shape{1, 1, 1}, Shape{1, 28, 1}, Shape{28, 28, 0}, Shape{0, 28, 1}, Shape{kHuge, kHuge, 1}}) {
      SCOPED_TRACE(info.name + " " + shape_to_string(s));
      returns_or_errors(
          [&] {
            nn::Sequential m = nn::make_model(info.name, s);
            Shape in{0};
            in.insert(in.end(), s.begin(), s.end());
            EXPECT_EQ(m.predict(Tensor(in)).dim(0), 0u);
            in[0] = 1;
            EXPECT_EQ(m.predict(Tensor(in)).dim(0), 1u);
          },
          "make_model",
          [&](const std::string& msg) {
            for (const char* contradiction : {"expected input of shape", "must have shape"})
              EXPECT_EQ(msg.find(contradiction), std::string::npos) << msg;
          });
    }
}

TEST(DegenerateSizes, SignalFunctionsOnZeroAndOneElementAxes) {
  // Every combination of these shapes, modes and methods: either a result of scipy's shape
  // (empty where an input is empty), or an Error. None may read outside its inputs (the
  // sanitizer build checks that).
  const std::vector<Shape> shapes = {{0}, {1}, {3}, {0, 4}, {1, 1}, {1, 5}, {4, 1}, {2, 0, 3}};
  for (const Shape& a : shapes)
    for (const Shape& b : shapes) {
      if (a.size() != b.size()) continue;
      Array x(DType::Float64, a), k(DType::Float64, b);
      for (auto mode : {Mode::Full, Mode::Same, Mode::Valid})
        for (auto method : {Method::Direct, Method::Fft, Method::Auto, Method::OverlapAdd}) {
          const std::string what = "convolve " + shape_to_string(a) + " * " + shape_to_string(b);
          returns_or_errors(
              [&] {
                Array y = signal::convolve(x.view(), k.view(), mode, method);
                if (x.size() == 0 || k.size() == 0) {
                  EXPECT_EQ(y.size(), 0u) << what;
                }
              },
              what);
          returns_or_errors([&] { (void)signal::correlate(x.view(), k.view(), mode, method); }, "correlate " + what);
        }
      returns_or_errors([&] { (void)signal::fftconvolve(x.view(), k.view()); }, "fftconvolve");
      returns_or_errors([&] { (void)signal::oaconvolve(x.view(), k.view()); }, "oaconvolve");
      if (a.size() == 2) returns_or_errors([&] { (void)signal::convolve2d(x.view(), k.view()); }, "convolve2d");
    }
}

TEST(DegenerateSizes, SignalViewsWhoseShapesOverflowAreRefusedBeforeReading) {
  // A view may describe more memory than exists (a hostile or mistaken caller). Its size
  // overflows or passes the limit, so the call must fail before touching the data.
  double one = 1;
  fctest::LimitGuard limit(std::size_t(64) << 20);
  // A view whose element count overflows cannot even be described (its strides would wrap).
  EXPECT_THROW(ArrayView::contiguous(DType::Float64, {kHuge, kHuge}, &one), OutOfMemory);
  for (Shape s : {Shape{std::size_t(1) << 40, 2}, Shape{3, std::size_t(1) << 36}}) {
    ArrayView big = ArrayView::contiguous(DType::Float64, s, &one);
    ArrayView small = ArrayView::contiguous(DType::Float64, {1, 1}, &one);
    EXPECT_THROW(signal::convolve(big, small), Error) << shape_to_string(s);
    EXPECT_THROW(signal::fftconvolve(small, big), Error) << shape_to_string(s);
    EXPECT_THROW(signal::convolve(big, small, Mode::Valid, Method::Direct), Error) << shape_to_string(s);
  }
}

TEST(DegenerateSizes, FloatApiAndFiltersOnEmptyAndOneElementImages) {
  Tensor one({1, 1}, 2.0f), empty({0, 5});
  Tensor k({1, 1}, 3.0f);
  EXPECT_FLOAT_EQ(convolve(one, k)[0], 6.0f);
  EXPECT_FLOAT_EQ(fourier_convolution(one, k)[0], 6.0f);
  for (auto p : {FilterPadding::Wrap, FilterPadding::Reflect, FilterPadding::Mirror, FilterPadding::Nearest,
                 FilterPadding::Constant}) {
    Tensor y = apply_filter(one, filter_gaussian_lowpass(0.1), p);
    EXPECT_EQ(y.shape(), one.shape());
    EXPECT_EQ(apply_filter(empty, filter_gaussian_lowpass(0.1), p).shape(), empty.shape()) << to_string(p);
  }
  returns_or_errors([&] { (void)convolve(empty, k); }, "convolve empty");
}
