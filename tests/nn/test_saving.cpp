// Keras model files: files written by real Keras 3 (tools/keras-reference/make_fixtures.py)
// load and predict as Keras does, print Keras's summary; ours round-trip and, when Keras is
// installed, load in Keras with the same predictions; damaged files give clear errors.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fourierconv/io/npy.hpp"
#include "fourierconv/nn.hpp"
#include "fourierconv/nn/models.hpp"
#include "keras_check.hpp"
#include "reference.hpp"

using namespace fourierconv;
using namespace fourierconv::nn;
using fctest::random_tensor;

namespace {

const std::string kDir = std::string(FOURIERCONV_SOURCE_DIR) + "/tests/fixtures/keras/";

using fctest::read_text;

using fctest::message;

class KerasFiles : public ::testing::TestWithParam<const char*> {};

TEST_P(KerasFiles, LoadPredictAndSummarizeAsKerasDoes) {
  const std::string name = GetParam();
  Model m = load_model(kDir + name + ".keras");
  Tensor x = io::read_npy(kDir + name + "_x.npy"), want = io::read_npy(kDir + name + "_pred.npy");
  Tensor got = m.predict(x);
  ASSERT_EQ(got.shape(), want.shape());
  fctest::expect_close(got, fctest::to_double(want), 1e-5, name + " predictions");
  EXPECT_EQ(m.summary_text({.line_length = 76}), read_text(kDir + name + "_summary.txt"));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, KerasFiles, ::testing::Values("seed", "every_layer", "every_layer_1d", "global_1d", "global_2d", "activations", "batchnorm", "more_layers", "depthwise", "relu_inf"));

TEST(Saving, LegacyKeras2H5FilesLoadWithTheSameWeights) {
  for (std::string name : {"seed", "every_layer", "every_layer_1d", "global_1d", "global_2d", "activations", "batchnorm", "depthwise"}) {
    Model m = load_model(kDir + name + "_legacy.h5");
    Tensor x = io::read_npy(kDir + name + "_x.npy"), want = io::read_npy(kDir + name + "_pred.npy");
    fctest::expect_close(m.predict(x), fctest::to_double(want), 1e-5, name + " legacy .h5");
    EXPECT_EQ(m.summary_text({.line_length = 76}), read_text(kDir + name + "_summary.txt"));
  }
  EXPECT_NE(message([&] { load_model(kDir + "missing_legacy.h5"); }).find("cannot open"), std::string::npos);
  // A truncated HDF5 file and a weights-only file are not models.
  std::ifstream in(kDir + "seed_legacy.h5", std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  const std::string t = ::testing::TempDir() + "/fc_trunc_legacy.h5";
  std::ofstream(t, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 3));
  EXPECT_NE(message([&] { load_model(t); }).find("load_model"), std::string::npos);
  Model m = load_model(kDir + "seed.keras");
  const std::string w = ::testing::TempDir() + "/fc_only.weights.h5", renamed = ::testing::TempDir() + "/fc_only.h5";
  save_weights(m, w);
  std::filesystem::copy_file(w, renamed, std::filesystem::copy_options::overwrite_existing);
  EXPECT_NE(message([&] { load_model(renamed); }).find("no model_config"), std::string::npos);
}

Sequential fourier_model() {
  clear_session();
  set_random_seed(5);
  Sequential m;
  m.add(Conv2D(4, {3, 3}, {.padding = "same", .activation = "relu", .input_shape = {16, 16, 1}}));
  m.add(FourierConv2D({make_filter("gaussian_lowpass:0.1"), make_filter("gabor:0.2,0.5,0.05")}, {.padding = "same"}));
  m.add(SpectralConv2D(3, {4, 4}, {.activation = "tanh"}));
  m.add(AveragePooling2D({2, 2}));
  m.add(Flatten());
  m.add(Dropout(0.2));
  m.add(Dense(5, {.activation = "softmax"}));
  return m;
}

TEST(Saving, RoundTripKeepsPredictionsSummaryAndTrainability) {
  Sequential m = fourier_model();
  m.layer("conv2d").set_trainable(false);
  const std::string path = ::testing::TempDir() + "/fc_roundtrip.keras";
  save_model(m, path);
  Model back = load_model(path);
  Tensor x = random_tensor({3, 16, 16, 1}, 9);
  Tensor a = m.predict(x), b = back.predict(x);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]);
  EXPECT_EQ(back.summary_text({.line_length = 76}), m.summary_text({.line_length = 76}));
  EXPECT_FALSE(back.layer("conv2d").trainable());
  // Weights alone.
  const std::string w = ::testing::TempDir() + "/fc_roundtrip.weights.h5";
  save_weights(m, w);
  Sequential fresh = fourier_model();
  load_weights(fresh, w);
  Tensor c = fresh.predict(x);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], c[i]);
  EXPECT_NE(message([&] { save_weights(m, ::testing::TempDir() + "/w.h5"); }).find(".weights.h5"), std::string::npos);
}

using fctest::expect_keras_predicts_as_we_do;

// Python's json module writes non-finite floats as bare NaN and Infinity tokens (not JSON):
// Infinity loads as the largest double (infinity in float32), NaN is refused by name.
TEST(Saving, BareInfinityAndNaNTokensInAConfig) {
  auto cfg = [](const std::string& v) {
    return R"({"class_name": "Sequential", "config": {"name": "s", "layers": [
      {"class_name": "InputLayer", "config": {"batch_shape": [null, 3], "name": "in"}},
      {"class_name": "ReLU", "config": {"name": "r", "max_value": )" + v + R"(, "note": "Infinity, NaN"}}]}})";
  };
  Model m = model_from_json(cfg("Infinity"));
  Tensor x({1, 3});
  x[0] = 1e30f, x[1] = -2.0f, x[2] = 3.0f;
  Tensor y = m.predict(x);
  EXPECT_EQ(y[0], 1e30f);  // no cap
  EXPECT_EQ(y[2], 3.0f);
  EXPECT_NE(message([&] { model_from_json(cfg("NaN")); }).find("max_value"), std::string::npos);
}

TEST(Saving, Keras21BareListConfigLoads) {
  // Keras 2.0/2.1 wrote a Sequential's config as a bare list of layers, with the input shape in
  // the first layer and a fixed-length byte string attribute (make_fixtures.py, keras21()).
  Model m = load_model(kDir + "seed_keras21_legacy.h5");
  Tensor x = io::read_npy(kDir + "seed_x.npy"), want = io::read_npy(kDir + "seed_pred.npy");
  fctest::expect_close(m.predict(x), fctest::to_double(want), 1e-5, "Keras 2.1 layout");
  EXPECT_EQ(m.summary_text({.line_length = 76}), read_text(kDir + "seed_summary.txt"));
}

TEST(Saving, RealKerasLoadsOurFile) {
  // The seed model, trained a little, saved by us and loaded by Keras in a subprocess.
  clear_session();
  set_random_seed(3);
  Sequential m = make_model("seed-cnn");
  m.compile("adam", "sparse_categorical_crossentropy");
  Tensor x = random_tensor({16, 28, 28, 1}, 4, 0, 1), y({16});
  for (int i = 0; i < 16; ++i) y[i] = float(i % 10);
  m.fit(x, y, {.batch_size = 8, .epochs = 1, .verbose = 0});
  expect_keras_predicts_as_we_do(m, x, "fc_ours");
}

TEST(Saving, RealKerasLoadsOurBatchNormalization) {
  // Trained here (moving statistics and gamma/beta moved), center/scale off in places.
  clear_session();
  set_random_seed(5);
  Sequential m;
  m.add(Conv2D(3, {3, 3}, {.input_shape = {9, 9, 2}}));
  m.add(BatchNormalization({.momentum = 0.8}));
  m.add(Flatten());
  m.add(Dense(4));
  m.add(BatchNormalization({.epsilon = 0.01, .center = false}));
  m.add(Dense(3, {.activation = "softmax"}));
  m.compile("adam", "sparse_categorical_crossentropy");
  Tensor x = random_tensor({24, 9, 9, 2}, 6, 0, 1), y({24});
  for (int i = 0; i < 24; ++i) y[i] = float(i % 3);
  m.fit(x, y, {.batch_size = 8, .epochs = 2, .verbose = 0});
  expect_keras_predicts_as_we_do(m, x, "fc_batchnorm");
}

TEST(Saving, RealKerasLoadsOurLayersWithoutKernels) {
  // Built here: every layer of keras_layers_misc.cpp but the augmentation layers (which exist
  // for loaded models: their configs are kept as they came), with weights away from their
  // initial values; then the Keras fixture with the augmentation layers, loaded and saved back.
  clear_session();
  set_random_seed(9);
  Sequential m;
  m.add(Rescaling({0.5}, {0.1}, {.input_shape = {6, 5, 2}}));
  m.add(ZeroPadding2D({1, 0, 2, 1}));
  m.add(Conv2D(3, {2, 2}));
  m.add(ReLU({.max_value = 2.0, .negative_slope = 0.05}));
  m.add(PReLU({.shared_axes = {1}}));
  m.add(Cropping2D({0, 1, 1, 0}));
  m.add(UpSampling2D({2, 2}, {.interpolation = "bilinear"}));
  m.add(LayerNormalization());
  m.add(LeakyReLU());
  m.add(SpatialDropout2D(0.2));
  m.add(Permute({3, 1, 2}));
  m.add(Reshape({-1, 6}));
  m.add(ELU());
  m.add(GaussianNoise(0.3));
  m.add(Flatten());
  m.add(Dense(4));
  m.add(Softmax());
  for (const char* l : {"p_re_lu", "layer_normalization"})
    for (auto* w : m.layer(l).weights())
      for (float& v : w->value) v += 0.3f;
  expect_keras_predicts_as_we_do(m, random_tensor({3, 6, 5, 2}, 10), "fc_misc");
  Model loaded = load_model(kDir + "more_layers.keras");
  expect_keras_predicts_as_we_do(loaded, io::read_npy(kDir + "more_layers_x.npy"), "fc_more_layers");
}

TEST(Saving, RealKerasLoadsOurDepthwiseSeparableAndTransposedConvolutions) {
  clear_session();
  set_random_seed(13);
  Sequential m;
  m.add(DepthwiseConv2D({3, 3}, {.strides = {2, 1}, .padding = "same", .depth_multiplier = 2, .activation = "relu",
                                 .input_shape = {9, 7, 2}}));
  m.add(SeparableConv2D(3, {2, 3}, {.depth_multiplier = 2, .dilation_rate = {2, 1}}));
  m.add(Conv2DTranspose(2, {3, 2}, {.strides = {2, 3}, .padding = "same", .activation = "tanh"}));
  m.add(Flatten());
  m.add(Dense(2));
  for (auto* l : {&m.layer("depthwise_conv2d"), &m.layer("separable_conv2d")})
    for (auto* w : l->weights())
      if (w->name == "bias") w->value = random_tensor(w->value.shape(), 14);
  expect_keras_predicts_as_we_do(m, random_tensor({3, 9, 7, 2}, 15), "fc_depthwise");
}

TEST(Saving, RealKerasComputesOurFourierLayers) {
  // FourierConv2D (both paddings, both outputs) and SpectralConv2D through
  // python/fourierconv_keras.py in real Keras, with a linear head so every difference shows.
  clear_session();
  set_random_seed(8);
  Sequential m;
  m.add(Conv2D(3, {3, 3}, {.padding = "same", .activation = "tanh", .input_shape = {12, 10, 1}}));
  m.add(FourierConv2D({make_filter("butterworth:0.15,2"), make_filter("gabor:0.2,0.5,0.05")}, {.padding = "same"}));
  m.add(FourierConv2D({make_filter("gaussian_bandpass:0.2,0.08")}, {.padding = "circular", .output = "magnitude"}));
  m.add(SpectralConv2D(4, {3, 4}));
  m.add(Flatten());
  m.add(Dense(5));
  for (auto* w : m.layer("spectral_conv2d").weights())
    for (float& v : w->value) v *= 50;
  expect_keras_predicts_as_we_do(m, random_tensor({4, 12, 10, 1}, 12, 0, 1), "fc_fourier");
}

TEST(Saving, RealKerasLoadsOurSignalLayers) {
  // Conv1D (causal, dilated), the 1-D poolings, FourierConv1D (both paddings and outputs) and
  // SpectralConv1D through fourierconv.keras in real Keras.
  clear_session();
  set_random_seed(9);
  Sequential m;
  m.add(Conv1D(3, 4, {.padding = "causal", .dilation_rate = 2, .activation = "tanh", .input_shape = {30, 2}}));
  m.add(FourierConv1D({make_filter("butterworth:0.15,2"), make_filter("gabor:0.2,0,0.05")}, {.padding = "same"}));
  m.add(FourierConv1D({make_filter("gaussian_bandpass:0.2,0.08")}, {.padding = "circular", .output = "magnitude"}));
  m.add(SpectralConv1D(4, 7));
  m.add(MaxPooling1D(2, {.strides = 1, .padding = "same"}));
  m.add(AveragePooling1D(3));
  m.add(Conv1D(2, 3, {.strides = 2, .padding = "same"}));
  m.add(Flatten());
  m.add(Dense(5));
  for (float& v : m.layer("spectral_conv1d").weights()[0]->value) v *= 50;
  expect_keras_predicts_as_we_do(m, random_tensor({4, 30, 2}, 13, 0, 1), "fc_signal");
}

TEST(Saving, DamagedAndUnsupportedFilesGiveClearErrors) {
  auto load = [](const std::string& f) { return message([&] { load_model(kDir + f); }); };
  EXPECT_NE(load("bad_unsupported_layer.keras").find("unsupported class LSTM"), std::string::npos) << load("bad_unsupported_layer.keras");
  EXPECT_NE(load("bad_weight_shape.keras").find("expected shape (3, 3, 1, 16)"), std::string::npos) << load("bad_weight_shape.keras");
  EXPECT_NE(load("bad_config_json.keras").find("not valid JSON"), std::string::npos);
  EXPECT_NE(load("bad_missing_weights.keras").find("no model.weights.h5"), std::string::npos);
  EXPECT_NE(load("bad_huge_layer.keras").find("parameters by layer conv2d, but the weights hold only"), std::string::npos) << load("bad_huge_layer.keras");
  EXPECT_NE(load("missing.keras").find("cannot open"), std::string::npos);
  EXPECT_NE(message([&] { load_model(kDir + "seed_x.npy"); }).find(".keras"), std::string::npos);
  // Truncated and bit-flipped archives.
  std::ifstream in(kDir + "seed.keras", std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  const std::string t = ::testing::TempDir() + "/fc_trunc.keras";
  std::ofstream(t, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 2));
  EXPECT_NE(message([&] { load_model(t); }).find("load_model"), std::string::npos);
  std::vector<char> flipped = bytes;
  for (std::size_t i = 200; i < flipped.size(); i += 97) flipped[i] = char(flipped[i] ^ 0x5a);
  std::ofstream(t, std::ios::binary).write(flipped.data(), std::streamsize(flipped.size()));
  EXPECT_NE(message([&] { load_model(t); }).find("load_model"), std::string::npos);
  // One flipped bit inside a member's data (the middle of the archive is the weights): the
  // zip structure is intact, only the member's CRC-32 tells (a weight would change silently).
  std::vector<char> one = bytes;
  one[one.size() / 2] = char(one[one.size() / 2] ^ 0x01);
  std::ofstream(t, std::ios::binary).write(one.data(), std::streamsize(one.size()));
  EXPECT_NE(message([&] { load_model(t); }).find("bad CRC-32"), std::string::npos) << message([&] { load_model(t); });
}

TEST(Saving, CallableFiltersCannotBeSavedAndSayWhy) {
  clear_session();
  Sequential m;
  m.add(FourierConv2D([](float, float fx) { return fx; }, {.input_shape = {8, 8, 1}}));
  const std::string p = ::testing::TempDir() + "/fc_callable.keras";
  std::filesystem::remove(p);
  EXPECT_NE(message([&] { save_model(m, p); }).find("C++ callable"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(p));  // nothing half-written
}

}  // namespace

// Numbers in a config are checked before conversion: nlohmann's get<size_t> casts a float out of
// range with undefined behaviour and wraps a negative integer (found by fuzz_keras_config:
// fuzz/regressions/keras_config/crash-ee91b0da...). Keras itself writes integral floats in some
// versions, so 32.0 stays a valid filter count.
TEST(Saving, ConfigNumbersOutOfRangeAreRefused) {
  auto model = [](const std::string& filters, const std::string& dilation) {
    return R"({"class_name": "Sequential", "config": {"name": "s", "layers": [
      {"class_name": "InputLayer", "config": {"batch_shape": [null, 8, 8, 1]}},
      {"class_name": "Conv2D", "config": {"name": "c", "filters": )" + filters +
           R"(, "kernel_size": [3, 3], "padding": "valid", "strides": [1, 1], "dilation_rate": )" + dilation + R"(}}]}})";
  };
  EXPECT_EQ(model_from_json(model("32.0", "[1, 1]")).layers().size(), 1u);
  for (const auto& [f, d] : std::vector<std::pair<std::string, std::string>>{
           {"4", "[2222222222222222222222222, 1]"}, {"-5", "[1, 1]"}, {"4", "[1.5, 1]"}, {"1e300", "[1, 1]"}, {"4", "[-1, 1]"}}) {
    try {
      model_from_json(model(f, d));
      ADD_FAILURE() << "accepted filters " << f << ", dilation " << d;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("out of range"), std::string::npos) << e.what();
    }
  }
}
