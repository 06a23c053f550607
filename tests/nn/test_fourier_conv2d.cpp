// FourierConv2D: numpy fixtures (full complex transforms) for every padding x output,
// finite-difference input gradients, zero parameters, and frozen-by-construction filters.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "fourierconv/io/npy.hpp"
#include "fourierconv/nn.hpp"
#include "nn/gradcheck.hpp"
#include "reference.hpp"

using namespace fourierconv;
using namespace fourierconv::nn;
using fctest::random_tensor;

namespace {

const std::string kDir = std::string(FOURIERCONV_SOURCE_DIR) + "/tests/fixtures/";

// The bank of tests/fixtures/make_fixtures.py.
std::vector<Filter> fixture_bank() {
  return {filter_gaussian_lowpass(0.15), filter_gabor(0.2, 0.5, 0.05), filter_custom([](float fy, float fx) {
            return std::exp(-(fx * fx + fy * fy) / (2 * 0.2f * 0.2f)) + 0.5f * std::sin(2 * std::numbers::pi_v<float> * fx);
          })};
}

TEST(FourierConv2D, MatchesNumpyForEveryPaddingAndOutput) {
  Tensor x = io::read_npy(kDir + "fourier_x.npy");
  for (const char* padding : {"circular", "same"})
    for (const char* output : {"real", "magnitude"}) {
      FourierConv2D layer(fixture_bank(), {.padding = padding, .output = output});
      layer.build({9, 11, 2});
      Tensor want = io::read_npy(kDir + "fourier_" + padding + "_" + output + ".npy");
      Tensor y(want.shape(), NAN);
      y = layer.call(x);
      ASSERT_EQ(y.shape(), (Shape{2, 9, 11, 6}));
      fctest::expect_close(y, fctest::to_double(want), 1e-5, std::string(padding) + "/" + output);
    }
}

TEST(FourierConv2D, InputGradientsMatchFiniteDifferences) {
  for (const char* padding : {"circular", "same"})
    for (const char* output : {"real", "magnitude"}) {
      FourierConv2D layer(fixture_bank(), {.padding = padding, .output = output, .activation = "tanh"});
      layer.build({5, 6, 2});
      // Magnitude is not differentiable at 0; random inputs stay clear of it.
      fctest::check_layer_gradients(layer, random_tensor({2, 5, 6, 2}, 17), 18, 1e-3, 3e-3, 2e-2, 60);
    }
}

TEST(FourierConv2D, HasNoWeightsAndSaysSoInTheSummary) {
  clear_session();
  Sequential m;
  m.add(FourierConv2D(filter_bank_gabor({0.1, 0.2, 0.3, 0.4}, 8, 0.05), {.activation = "relu", .input_shape = {28, 28, 1}}));
  m.add(MaxPooling2D({2, 2}));
  m.add(Flatten());
  m.add(Dense(10, {.activation = "softmax"}));
  EXPECT_EQ(m.layers()[0]->count_params(), 0u);
  EXPECT_EQ(m.count_params(), 62730u);  // 14*14*32*10 + 10: all of it in the Dense layer
  std::string s = m.summary_text({.line_length = 76, .detail = true});
  EXPECT_NE(s.find("│ fourier_conv2d (FourierConv2D)  │ (None, 28, 28, 32)     │             0 │"), std::string::npos) << s;
  EXPECT_NE(s.find(" Total params: 62,730 (245.04 KB)"), std::string::npos) << s;
  EXPECT_NE(s.find(" Non-trainable params: 0 (0.00 B)"), std::string::npos) << s;
  EXPECT_NE(s.find("fixed filter bank (not trained): 32 response(s)"), std::string::npos) << s;
  EXPECT_NE(s.find("0 weights"), std::string::npos) << s;
}

TEST(FourierConv2D, FiltersStayFixedWhileEarlierLayersTrain) {
  // Conv2D -> FourierConv2D -> ... : the Fourier layer passes gradients back to Conv2D, whose
  // kernel changes; the Fourier layer's response does not (same input, same output).
  clear_session();
  set_random_seed(3);
  Sequential m;
  m.add(Conv2D(2, {3, 3}, {.padding = "same", .input_shape = {12, 12, 1}}));
  m.add(FourierConv2D({filter_gaussian_lowpass(0.1), filter_gaussian_highpass(0.2)}, {.padding = "same"}));
  m.add(Flatten());
  m.add(Dense(3, {.activation = "softmax"}));
  m.compile("adam", "sparse_categorical_crossentropy");
  auto& fourier = m.layer("fourier_conv2d");
  Tensor probe = random_tensor({1, 12, 12, 2}, 9);
  Tensor before = fourier.call(probe);
  Tensor k0 = m.layer("conv2d").weights()[0]->value;
  Tensor x = random_tensor({16, 12, 12, 1}, 10), y({16});
  for (int i = 0; i < 16; ++i) y[i] = float(i % 3);
  m.fit(x, y, {.batch_size = 4, .epochs = 2, .verbose = 0});
  Tensor after = fourier.call(probe);
  for (std::size_t i = 0; i < before.size(); ++i) ASSERT_EQ(before[i], after[i]);
  double moved = 0;
  for (std::size_t i = 0; i < k0.size(); ++i) moved += std::fabs(m.layer("conv2d").weights()[0]->value[i] - k0[i]);
  EXPECT_GT(moved, 1e-3);
  EXPECT_EQ(m.trainable_weights().size(), 4u);  // conv kernel, bias, dense kernel, bias
}

TEST(FourierConv2D, TheSeedsLambdaFilterFunction) {
  // FourierConv2D(lambda x: tf.sin(x)) in C++: any callable of the frequency.
  FourierConv2D layer([](float fy, float fx) { return std::sin(std::sqrt(fx * fx + fy * fy)); });
  layer.build({8, 8, 1});
  Tensor x = random_tensor({1, 8, 8, 1}, 4);
  Tensor y = layer.call(x);
  Tensor want = apply_filter(x.reshaped({8, 8}), filter_custom([](float fy, float fx) {
                               return std::sin(std::sqrt(fx * fx + fy * fy));
                             }));
  fctest::expect_close(y, fctest::to_double(want), 1e-6, "lambda");
}

TEST(FourierConv2D, BadInputGivesClearErrors) {
  EXPECT_THROW(FourierConv2D(std::vector<Filter>{}), Error);
  EXPECT_THROW(FourierConv2D({filter_gaussian_lowpass(0.1)}, {.padding = "valid"}), Error);
  EXPECT_THROW(FourierConv2D({filter_gaussian_lowpass(0.1)}, {.output = "phase"}), Error);
  FourierConv2D nan({filter_custom([](float, float fx) { return fx > 0.2f ? NAN : 1.0f; })});
  try {
    nan.build({8, 8, 1});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not finite"), std::string::npos) << e.what();
  }
  FourierConv2D ok({filter_gaussian_lowpass(0.1)});
  EXPECT_THROW(ok.build({8, 8}), Error);
}

}  // namespace
