// BatchNormalization against its definition in double (Keras 3's, normalization.hpp), its
// moving statistics, inference and frozen modes, and gradients by finite differences.
#include <gtest/gtest.h>

#include <cmath>

#include "fourierconv/nn.hpp"
#include "nn/gradcheck.hpp"
#include "keras_check.hpp"
#include "reference.hpp"

using namespace fourierconv;
using namespace fourierconv::nn;
using fctest::message;
using fctest::random_tensor;

namespace {

struct Stats {
  std::vector<double> mean, var;  // per channel, biased variance
};

Stats batch_stats(const Tensor& x, std::size_t C) {
  const std::size_t M = x.size() / C;
  Stats s{std::vector<double>(C, 0.0), std::vector<double>(C, 0.0)};
  for (std::size_t i = 0; i < M; ++i)
    for (std::size_t c = 0; c < C; ++c) s.mean[c] += x[i * C + c] / double(M);
  for (std::size_t i = 0; i < M; ++i)
    for (std::size_t c = 0; c < C; ++c) s.var[c] += std::pow(x[i * C + c] - s.mean[c], 2) / double(M);
  return s;
}

BatchNormalization built(BatchNormalizationArgs a, const Shape& in, unsigned seed) {
  BatchNormalization b(a);
  b.build(in);
  auto w = b.weights();
  Tensor r = random_tensor({4 * in.back()}, seed);
  std::size_t k = 0;
  for (Weight* v : w)  // gamma near 1, beta near 0, a moving mean and a positive variance
    for (float& e : v->value) e = v->name == "moving_variance" ? 0.5f + std::fabs(r[k++]) : (v->name == "gamma" ? 1.0f : 0.0f) + 0.5f * r[k++];
  return b;
}

TEST(BatchNormalization, TrainingNormalizesByTheBatchAndUpdatesTheMovingStatistics) {
  const Shape in{5, 4, 3};
  BatchNormalization b = built({.momentum = 0.9, .epsilon = 1e-3}, in, 1);
  auto w = b.weights();
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w[0]->name, "gamma");
  EXPECT_EQ(w[3]->name, "moving_variance");
  EXPECT_EQ(b.count_params(), 12u);
  EXPECT_EQ(b.count_trainable_params(), 6u);
  const std::vector<float> mm(w[2]->value.begin(), w[2]->value.end()), mv(w[3]->value.begin(), w[3]->value.end());
  Tensor x = random_tensor({6, 5, 4, 3}, 2);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = x[i] * float(1 + i % 3) + float(i % 3);  // per-channel scale and shift
  Tensor y = b.call(x, true);
  Stats s = batch_stats(x, 3);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::size_t c = i % 3;
    const double want = w[0]->value[c] * (x[i] - s.mean[c]) / std::sqrt(s.var[c] + 1e-3) + w[1]->value[c];
    EXPECT_NEAR(y[i], want, 2e-5) << i;
  }
  for (std::size_t c = 0; c < 3; ++c) {
    EXPECT_NEAR(w[2]->value[c], 0.9 * mm[c] + 0.1 * s.mean[c], 1e-5);
    EXPECT_NEAR(w[3]->value[c], 0.9 * mv[c] + 0.1 * s.var[c], 1e-5);
  }
}

TEST(BatchNormalization, InferenceAndFrozenLayersUseTheMovingStatistics) {
  const Shape in{7, 2};
  for (bool frozen : {false, true}) {
    BatchNormalization b = built({.epsilon = 0.01}, in, 3);
    b.set_trainable(!frozen);
    auto w = b.weights();
    Tensor x = random_tensor({3, 7, 2}, 4);
    const Tensor before = w[2]->value;
    Tensor y = b.call(x, frozen);  // training=true for the frozen layer: still inference mode
    for (std::size_t i = 0; i < x.size(); ++i) {
      const std::size_t c = i % 2;
      const double want = w[0]->value[c] * (x[i] - w[2]->value[c]) / std::sqrt(w[3]->value[c] + 0.01) + w[1]->value[c];
      EXPECT_NEAR(y[i], want, 1e-5) << i;
    }
    for (std::size_t c = 0; c < 2; ++c) EXPECT_EQ(w[2]->value[c], before[c]) << "moving mean changed";
  }
}

TEST(BatchNormalization, GradientsMatchFiniteDifferences) {
  for (bool center : {true, false})
    for (bool scale : {true, false}) {
      SCOPED_TRACE(std::string("center ") + (center ? "1" : "0") + " scale " + (scale ? "1" : "0"));
      BatchNormalization b = built({.momentum = 0.5, .epsilon = 1e-2, .center = center, .scale = scale}, {3, 4}, 5);
      EXPECT_EQ(b.weights().size(), 2u + center + scale);
      // Training mode: the moving statistics change with every call, the output does not.
      fctest::check_layer_gradients(b, random_tensor({5, 3, 4}, 6), 7, 1e-2, 3e-3, 2e-2);
    }
  BatchNormalization b = built({}, {6}, 8);
  Tensor x = random_tensor({4, 6}, 9);
  Tensor y = b.call(x, false);
  Tensor r = random_tensor(y.shape(), 10);
  Tensor dx = b.backward(r);
  for (std::size_t i = 0; i < x.size(); ++i) {  // inference: dx = gamma / sqrt(var + eps) dy
    const std::size_t c = i % 6;
    EXPECT_NEAR(dx[i], r[i] * b.weights()[0]->value[c] / std::sqrt(b.weights()[3]->value[c] + 1e-3), 1e-5);
  }
}

TEST(BatchNormalization, TrainsInASequentialModelAndOnlyItsGammaAndBetaMove) {
  clear_session();
  set_random_seed(11);
  Sequential m;
  m.add(Conv2D(4, {3, 3}, {.input_shape = {8, 8, 1}}));
  m.add(BatchNormalization());
  m.add(Flatten());
  m.add(Dense(2, {.activation = "softmax"}));
  m.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  Tensor x = random_tensor({32, 8, 8, 1}, 12), y({32});
  for (std::size_t i = 0; i < 32; ++i) y[i] = float(x[i * 64 + 20] > 0);  // a learnable rule
  auto h = m.fit(x, y, {.batch_size = 8, .epochs = 8, .verbose = 0});
  EXPECT_LT(h.history["loss"].back(), h.history["loss"].front());
  auto w = m.layer("batch_normalization").weights();
  EXPECT_NE(w[2]->value[0], 0.0f) << "the moving mean moved";
  EXPECT_EQ(m.count_params() - m.count_trainable_params(), 8u);  // moving mean and variance
}

TEST(BatchNormalization, BadArguments) {
  EXPECT_THROW(BatchNormalization({.momentum = 1.5}), Error);
  EXPECT_THROW(BatchNormalization({.epsilon = 0}), Error);
  BatchNormalization b({.axis = 1});
  try {
    b.build({5, 4, 3});
    FAIL() << "axis 1 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("axis 1"), std::string::npos) << e.what();
  }
  BatchNormalization ok({.axis = 3});  // Keras 2's way of saying the last axis of an image
  EXPECT_NO_THROW(ok.build({5, 4, 3}));
}

}  // namespace

// keras.layers.Normalization: adapt() takes the mean and biased variance over every axis but
// the last (checked in double); the output and its inverse against the definition; the
// weights (the count an int32 in the file) round-trip, and real Keras loads the model.
TEST(Normalization, AdaptCallInvertSaveAndKerasLoads) {
  clear_session();
  const Tensor data = random_tensor({20, 3, 2, 4}, 31, -2, 5);
  Sequential m("norm");
  m.add(Input{{3, 2, 4}});
  auto& nz = m.add(Normalization());
  nz.adapt(data);
  std::vector<double> mean(4, 0.0), var(4, 0.0);
  for (std::size_t i = 0; i < data.size(); ++i) mean[i % 4] += data[i] / 120.0;
  for (std::size_t i = 0; i < data.size(); ++i) var[i % 4] += (data[i] - mean[i % 4]) * (data[i] - mean[i % 4]) / 120.0;
  const auto ws = nz.weights();
  ASSERT_EQ(ws.size(), 3u);
  EXPECT_EQ(ws[2]->value.shape(), Shape{});
  EXPECT_EQ(ws[2]->value[0], 120.0f);
  EXPECT_EQ(m.count_params(), 9u);
  EXPECT_EQ(m.count_trainable_params(), 0u);
  const Tensor x = random_tensor({2, 3, 2, 4}, 32, -2, 5);
  const Tensor y = m.predict(x);
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], (x[i] - mean[i % 4]) / std::sqrt(var[i % 4]), 1e-4);
  const std::string path = ::testing::TempDir() + "/fc_norm.keras";
  save_model(m, path);
  Model back = load_model(path);
  fctest::expect_close(back.predict(x), fctest::to_double(y), 1e-6, "reloaded");
  EXPECT_EQ(back.layers()[0]->weights()[2]->value[0], 120.0f);
  fctest::expect_keras_predicts_as_we_do(m, x, "fc_norm");

  Sequential inv("inv");
  inv.add(Input{{4}});
  inv.add(Normalization({.mean = std::vector<double>{1.0, 2.0, 3.0, 4.0}, .variance = std::vector<double>{4.0, 4.0, 4.0, 4.0}, .invert = true}));
  const Tensor v = random_tensor({3, 4}, 33);
  const Tensor w = inv.predict(v);
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(w[i], v[i] * 2.0 + double(i % 4 + 1), 1e-5);
  EXPECT_EQ(inv.count_params(), 0u);
  fctest::expect_keras_predicts_as_we_do(inv, v, "fc_norm_inv");
  EXPECT_NE(message([] { Normalization({.mean = std::vector<double>{0.0}}); }).find("go together"), std::string::npos);
  EXPECT_NE(message([] { Normalization({.mean = std::vector<double>{0.0, 1.0}, .variance = std::vector<double>{1.0}}); }).find("same number"),
            std::string::npos);
  Sequential bad;
  bad.add(Input{{3, 4}});
  EXPECT_NE(message([&] { bad.add(Normalization({.axis = 1})); }).find("only the last axis"), std::string::npos);
}

// Dropout with Keras's noise_shape (None, 1, 1, 1): one draw per sample, shared by all of
// its elements; at inference the identity.
TEST(Dropout, NoiseShapeSharesOneDrawAlongSizeOneAxes) {
  Dropout d(0.5, {.seed = 3, .noise_shape = {0, 1, 1, 1}});
  d.build({4, 3, 2});
  const Tensor x = random_tensor({64, 4, 3, 2}, 34, 1, 2);
  const Tensor& y = d.call(x, true);
  std::size_t dropped = 0;
  for (std::size_t n = 0; n < 64; ++n) {
    const float ratio = y[n * 24] / x[n * 24];
    EXPECT_TRUE(ratio == 0.0f || std::fabs(ratio - 2.0f) < 1e-6f);
    for (std::size_t e = 1; e < 24; ++e) EXPECT_NEAR(y[n * 24 + e], x[n * 24 + e] * ratio, 1e-6);
    dropped += ratio == 0.0f;
  }
  EXPECT_GT(dropped, 16u);
  EXPECT_LT(dropped, 48u);
  const Tensor& dx = d.backward(Tensor(y.shape(), 1.0f));
  for (std::size_t i = 0; i < dx.size(); ++i) EXPECT_NEAR(dx[i] * x[i], y[i], 1e-5);
  EXPECT_EQ(d.call(x, false)[5], x[5]);
  Dropout wrong(0.5, {.noise_shape = {0, 2, 1, 1}});
  EXPECT_NE(message([&] { wrong.build({4, 3, 2}); }).find("does not broadcast"), std::string::npos);
}

// At inference a BatchNormalization after a Conv2D (direct or FFT, with or without bias) or a
// DepthwiseConv2D folds into that layer's kernel and bias, and a relu after them (ReLU with a
// cap, Activation relu) into the same passes: the model's output equals the layers run one
// after the other.
TEST(BatchNormalization, FoldsIntoThePrecedingConvolutionAtInference) {
  for (const std::string algorithm : {"direct", "fft"})
    for (bool bias : {true, false}) {
      clear_session();
      Sequential m;
      m.add(Input{{9, 8, 3}});
      m.add(Conv2D(5, {3, 3}, {.padding = "same", .use_bias = bias, .algorithm = algorithm}));
      m.add(BatchNormalization());
      m.add(ReLU({.max_value = 0.5}));  // taken into the pair's passes
      m.add(DepthwiseConv2D({3, 3}, {.depth_multiplier = 2, .use_bias = bias}));
      m.add(BatchNormalization({.epsilon = 1e-2}));
      m.add(ActivationLayer("relu"));
      m.add(Conv2D(3, {1, 1}, {.use_bias = bias, .algorithm = algorithm}));
      m.add(BatchNormalization());
      unsigned seed = 40;
      for (auto& l : m.layers())
        if (l->class_name() == "BatchNormalization")
          for (Weight* w : l->weights()) w->value = random_tensor(w->value.shape(), ++seed, 0.5, 1.5);
      const Tensor x = random_tensor({3, 9, 8, 3}, 50);
      // A wide layer on a small output (kernel larger than output: the output is scaled).
      Sequential wide;
      wide.add(Input{{2, 2, 16}});
      wide.add(Conv2D(4, {3, 3}, {.padding = "same", .use_bias = bias, .algorithm = algorithm}));
      wide.add(BatchNormalization());
      wide.add(ReLU({.max_value = 0.3}));
      for (Weight* w : wide.layers()[1]->weights()) w->value = random_tensor(w->value.shape(), ++seed, 0.5, 1.5);
      const Tensor xw = random_tensor({1, 2, 2, 16}, 51);
      const Tensor gw = wide.predict(xw);
      EXPECT_EQ(wide.layers()[2]->output().size(), 0u);
      const Tensor* hw = &xw;
      for (auto& l : wide.layers()) hw = &l->call(*hw, false);
      fctest::expect_close(gw, fctest::to_double(*hw), 2e-5, algorithm + " wide");
      const Tensor got = m.predict(x);
      for (std::size_t k : {1, 2, 4, 5, 7}) EXPECT_EQ(m.layers()[k]->output().size(), 0u) << m.layers()[k]->name() << " ran on its own";
      const Tensor* h = &x;
      for (auto& l : m.layers()) h = &l->call(*h, false);
      EXPECT_EQ(got.shape(), h->shape());
      fctest::expect_close(got, fctest::to_double(*h), 2e-5, algorithm + (bias ? " with bias" : " without bias"));
    }
}
